"""`hookwise serve`, `hookwise worker`, `hookwise beat`, `hookwise db upgrade`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from service.logs import configure_logging
from service.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

    from service.triggers import ConfigError

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def _refuse(error: ConfigError) -> typer.Exit:
    """Say why a process will not start on a broken config, every problem with its place."""
    typer.echo(f"refusing to start: the automation config is broken\n{error}", err=True)
    return typer.Exit(2)


def _celery_with_tasks(settings: Settings) -> Celery:
    """The worker-side Celery app; loading it checks the central config."""
    from service.triggers import ConfigError
    from workers.celery_app import create_celery

    try:
        return create_celery(settings, with_tasks=True)
    except ConfigError as exc:
        raise _refuse(exc) from exc


def _settings() -> Settings:
    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    return settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (idempotent; safe to run on every deploy)."""
    from service.store.db import create_db_engine, upgrade

    settings = _settings()
    engine = create_db_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    typer.echo("database is at the latest schema")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    migrate: Annotated[bool, typer.Option(help="Apply database migrations first.")] = True,
    embedded_worker: Annotated[
        bool | None,
        typer.Option(help="Run a worker beside the web process (default: when no broker is set)."),
    ] = None,
) -> None:
    """Run the web service; with no broker configured, also an embedded worker and beat."""
    import uvicorn

    from service.app import create_app, freeze_startup_objects
    from service.store.db import create_db_engine, upgrade
    from service.triggers import ConfigError

    settings = _settings()
    if migrate:
        engine = create_db_engine(settings.resolved_database_url)
        upgrade(engine)
        engine.dispose()
    try:
        app = create_app(settings)
    except ConfigError as exc:
        raise _refuse(exc) from exc
    freeze_startup_objects()
    run_worker = settings.embedded if embedded_worker is None else embedded_worker
    child = _spawn_embedded_worker() if run_worker else None
    secret_note = (
        "" if settings.webhook_secret else f" (secret in {settings.data_dir}/webhook-secret)"
    )
    typer.echo(f"Hookwise listening on http://{host}:{port}/webhooks/github{secret_note}", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    finally:
        if child is not None:
            _stop(child)


def _spawn_embedded_worker() -> subprocess.Popen[bytes]:
    # The same Celery worker as production, in its own process: one solo-pool worker with beat.
    command = [sys.executable, "-m", "service", "worker", "--pool", "solo", "--beat"]
    return subprocess.Popen(command, env=os.environ.copy())


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=40)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def worker(
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo.")] = "prefork",
    concurrency: Annotated[int | None, typer.Option(help="Worker processes/threads.")] = None,
    beat: Annotated[bool, typer.Option(help="Also run beat inside this worker.")] = False,
) -> None:
    """Run a Celery worker for Hookwise jobs (reconciles once at start)."""
    from celery.signals import worker_ready

    from workers.celery_app import QUEUE, RECONCILE

    settings = _settings()
    app = _celery_with_tasks(settings)

    def _reconcile_at_start(**_: object) -> None:
        app.send_task(RECONCILE)

    worker_ready.connect(_reconcile_at_start, weak=False)
    argv = ["worker", f"--pool={pool}", f"--queues={QUEUE}", f"--loglevel={settings.log_level}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if beat:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    app.worker_main(argv)


def beat() -> None:
    """Run Celery beat: the reconciler on its interval. Run exactly one."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = _celery_with_tasks(settings)
    app.start(
        [
            "beat",
            f"--schedule={settings.data_dir / 'celerybeat-schedule'}",
            f"--loglevel={settings.log_level}",
        ]
    )
