"""The Celery application, built from settings by `create_celery` (never at import time).

The configuration follows the measured baseline in docs/reliability.md: late acks with
reject-on-worker-lost, prefetch 1, no result backend (job state lives in our database), socket
timeouts so a hung broker raises instead of blocking forever, and time limits below the visibility
timeout. The database is the truth; the broker may lose or repeat messages and nothing breaks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import Celery

if TYPE_CHECKING:
    from service.settings import Settings

RUN_JOB = "hookwise.run_job"
FAN_OUT = "hookwise.fan_out"
RECONCILE = "hookwise.reconcile"
DISPATCH_DELIVERY = "hookwise.dispatch_delivery"
REDELIVER = "hookwise.redeliver"
QUEUE = "celery"


def celery_config(settings: Settings) -> dict[str, Any]:
    hard_limit = settings.task_time_limit_seconds
    timeout = settings.broker_timeout_seconds
    transport_options: dict[str, Any] = {}
    if not settings.embedded:
        transport_options.update(
            # Longer than any task may run, so Redis never hands a running task to a second
            # worker; a lost worker is noticed sooner through the job lease in our database.
            visibility_timeout=hard_limit * 2 + 60,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=25,
            retry_on_timeout=True,
            unacked_restore_throttle=1,
        )
    return {
        "broker_url": settings.resolved_broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_connection_timeout": timeout,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_store_errors_even_if_ignored": False,
        "task_default_queue": QUEUE,
        "task_time_limit": hard_limit,
        "task_soft_time_limit": hard_limit - 30,
        # A publish that cannot reach the broker gives up fast: the reconciler publishes again.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 30.0,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "beat_schedule": beat_schedule(settings),
    }


def beat_schedule(settings: Settings) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "reconcile": {"task": RECONCILE, "schedule": settings.reconcile_interval_seconds},
    }
    if settings.github_app_id is not None:
        # Listing hook deliveries costs API calls; every few minutes is plenty for a 3-day log.
        schedule["redeliver"] = {"task": REDELIVER, "schedule": settings.redeliver_interval_seconds}
    return schedule


def create_celery(settings: Settings, *, with_tasks: bool = False) -> Celery:
    """A Celery app for `settings`. The web side only publishes by task name; workers register
    the tasks (`with_tasks=True`)."""
    if settings.embedded:
        from workers.embedded_broker import register

        register()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("hookwise", set_as_current=False)
    app.conf.update(celery_config(settings))
    if with_tasks:
        from workers.tasks import register_tasks

        register_tasks(app, settings=settings)
    return app


def __getattr__(name: str) -> Any:
    # `celery -A workers.celery_app:app inspect ping` (container health checks) needs a module-level
    # app; build it on first access from the environment instead of at import time.
    if name == "app":
        from service.settings import Settings

        return create_celery(Settings(), with_tasks=True)
    raise AttributeError(name)
