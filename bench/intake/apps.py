"""The two applications under test, as uvicorn factories configured from the environment."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response


def bare_app() -> FastAPI:
    """The baseline: read the body and answer 202, nothing else."""
    app = FastAPI()

    @app.post("/webhooks/github")
    async def receive(request: Request) -> Response:
        await request.body()
        return Response(b'{"ok":true}', status_code=202, media_type="application/json")

    return app


def hookwise_app() -> FastAPI:
    """Hookwise as `hookwise serve` runs it (JSON logs at the configured level)."""
    from service.app import create_app, freeze_startup_objects
    from service.logs import configure_logging
    from service.settings import Settings

    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    app = create_app(settings)
    freeze_startup_objects()
    return app
