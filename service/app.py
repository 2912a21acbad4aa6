"""`create_app(settings)`: the FastAPI application. Nothing happens at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import Receive, Scope, Send

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


class HookwiseApp(FastAPI):
    """FastAPI, with `POST /webhooks/github` answered before FastAPI's middleware stack.

    The intake is the one route GitHub calls for every event, and the stack (error and exception
    middleware, body limits, telemetry checks) cost it more CPU per request than verifying the
    signature. The route needs none of it: it reads its own body with a limit and turns every
    expected failure into its own answer. Other methods on the path, and every other route, go
    through FastAPI as usual.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == webhooks.WEBHOOK_PATH
        ):
            scope["app"] = self
            await webhooks.serve_intake(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def freeze_startup_objects() -> None:
    """Exempt everything built so far from the cyclic garbage collector, for a process that serves
    one application until it exits.

    Modules, settings, the config and the application live as long as the process. Left to the
    collector, each full collection walks all of them again: under load that paused the event loop
    for a quarter of a second at a time. `gc.freeze` moves them out of its sight; objects made
    later are collected as usual.
    """
    gc.collect()
    gc.freeze()


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

    app = HookwiseApp(title="Hookwise", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.router.routes.extend(webhooks.routes)
    app.include_router(api.api)
    app.include_router(api.probes)
    return app
