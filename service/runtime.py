"""Everything the web process holds for its lifetime, built once by `create_app`'s lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from celery import Celery
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.intake import DeliveryRecorder
from service.lazy_json import PayloadParser
from service.metrics import Metrics
from service.publisher import JobPublisher
from service.settings import Settings
from service.triggers import Config, Identity


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    celery: Celery
    recorder: DeliveryRecorder
    publisher: JobPublisher
    config: Config
    identity: Identity
    metrics: Metrics
    payload_parser: PayloadParser = field(default_factory=PayloadParser)
