"""`create_app(settings)`: the FastAPI application. Nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from service import api, webhooks
from service.automations import identity_for, load_central_config
from service.intake import DeliveryRecorder
from service.metrics import JobsCollector, Metrics
from service.publisher import JobPublisher
from service.runtime import Runtime
from service.settings import Settings
from service.store.db import create_db_engine, session_factory
from service.triggers import Config
from workers.celery_app import create_celery


def build_runtime(settings: Settings, *, config: Config | None = None) -> Runtime:
    engine = create_db_engine(settings.resolved_database_url)
    celery = create_celery(settings)
    registry = CollectorRegistry()
    registry.register(JobsCollector(engine))
    publisher = JobPublisher(celery)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        celery=celery,
        recorder=DeliveryRecorder(
            engine,
            max_attempts=settings.job_max_attempts,
            after_commit=lambda job_ids, dispatch: publisher.submit(job_ids, dispatch=dispatch),
        ),
        publisher=publisher,
        config=config if config is not None else load_central_config(settings.config),
        identity=identity_for(settings),
        metrics=Metrics(registry),
    )


def create_app(settings: Settings, *, config: Config | None = None) -> FastAPI:
    """The web application. The central config is loaded (and validated) before it serves."""
    runtime = build_runtime(settings, config=config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.recorder.start()
        runtime.publisher.start()
        try:
            yield
        finally:
            runtime.recorder.stop()
            runtime.publisher.stop()
            runtime.engine.dispose()

    app = FastAPI(title="Hookwise", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.router.routes.extend(webhooks.routes)
    app.include_router(api.api)
    app.include_router(api.probes)
    return app
