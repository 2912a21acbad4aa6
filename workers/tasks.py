"""Celery tasks: thin shells over plain functions. Messages carry ids only.

One base class carries what every task needs: late acks with reject-on-worker-lost (a killed
worker's message is redelivered), no result backend, and log context. Each worker process builds
its runtime (engine, HTTP client, config) on first use, after the prefork pool has forked.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from typing import Any

import httpx
import orjson
import structlog
from celery import Celery, Task
from celery.signals import worker_process_init
from sqlalchemy import select

from service.automations import identity_for, load_central_config
from service.settings import Settings
from service.store.db import create_db_engine
from service.store.models import Delivery
from workers import reconciler
from workers.agents.registry import agent_options
from workers.celery_app import DISPATCH_DELIVERY, FAN_OUT, RECONCILE, REDELIVER, RUN_JOB
from workers.github.auth import MemoryTokenCache, RedisTokenCache, TokenCache
from workers.github.client import GitHubFactory
from workers.github.publisher import GitHubPublisher
from workers.github.publishing.ledger import Ledger
from workers.github.redelivery import redeliver_missed
from workers.github.repo_config import RepoConfig, RepoConfigs
from workers.github.resolver import GitHubResolver, PermissionCache
from workers.jobs import WorkerRuntime, run_job
from workers.publish import ResultPublisher
from workers.repo_automations import default_branch_head, effective_config, report_broken_config

log = structlog.get_logger(__name__)


class HookwiseTask(Task):  # type: ignore[misc]
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    typing = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        structlog.contextvars.bind_contextvars(task=self.name, task_id=self.request.id)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            structlog.contextvars.unbind_contextvars("task", "task_id")


class RuntimeHolder:
    """The per-process WorkerRuntime, built lazily; reset in each forked pool process so that no
    database connection is shared across a fork."""

    def __init__(self, settings: Settings, celery: Celery) -> None:
        self._settings = settings
        self._celery = celery
        self._runtime: WorkerRuntime | None = None
        self._lock = threading.Lock()
        # Fail at worker start, not at the first job, when the central config is broken.
        self.config = load_central_config(settings.config)

    def get(self) -> WorkerRuntime:
        with self._lock:
            if self._runtime is None:
                self._runtime = build_worker_runtime(self._settings, celery=self._celery)
            return self._runtime

    def reset(self) -> None:
        with self._lock:
            self._runtime = None


def token_cache_for(settings: Settings) -> TokenCache:
    """Installation tokens shared by every worker on the same Redis; per process otherwise."""
    broker = settings.broker_url or ""
    if broker.startswith(("redis://", "rediss://")):
        import redis

        return RedisTokenCache(redis.Redis.from_url(broker, socket_timeout=5))
    return MemoryTokenCache()


def build_worker_runtime(settings: Settings, *, celery: Celery) -> WorkerRuntime:
    engine = create_db_engine(settings.resolved_database_url, pool_size=2)
    runtime = WorkerRuntime(
        settings=settings,
        engine=engine,
        celery=celery,
        publisher=ResultPublisher(http=httpx.Client(), github=None),
        central=load_central_config(settings.config),
        match_identity=identity_for(settings),
    )
    if settings.github_configured:
        factory = GitHubFactory(settings, token_cache=token_cache_for(settings))
        permissions = PermissionCache()

        def resolvers(*, event: str, payload: Mapping[str, Any]) -> GitHubResolver:
            installation = payload.get("installation") or {}
            gh = factory.for_installation(installation.get("id"))
            return GitHubResolver(gh, event=event, payload=payload, permissions=permissions)

        runtime.resolvers = resolvers
        runtime.identity = lambda: factory.identity.login
        runtime.github = factory
        runtime.repo_configs = RepoConfigs(factory, agents=agent_options())
        runtime.publisher = ResultPublisher(
            http=httpx.Client(), github=GitHubPublisher(factory=factory, engine=engine)
        )
    return runtime


def register_tasks(app: Celery, *, settings: Settings) -> RuntimeHolder:
    holder = RuntimeHolder(settings, app)
    app.hookwise_runtime = holder

    def _after_fork(**_: Any) -> None:
        holder.reset()

    worker_process_init.connect(_after_fork, weak=False)

    @app.task(name=RUN_JOB, base=HookwiseTask)  # type: ignore[untyped-decorator]
    def run_job_task(*, job_id: str) -> str:
        return run_job(job_id=job_id, runtime=holder.get()).value

    @app.task(name=FAN_OUT, base=HookwiseTask)  # type: ignore[untyped-decorator]
    def fan_out_task(*, job_ids: list[str]) -> int:
        """One message per job, from one message for many (the web publishes in batches)."""
        with app.producer_or_acquire() as producer:
            for job_id in job_ids:
                app.send_task(RUN_JOB, kwargs={"job_id": job_id}, producer=producer)
        return len(job_ids)

    @app.task(name=DISPATCH_DELIVERY, base=HookwiseTask)  # type: ignore[untyped-decorator]
    def dispatch_delivery_task(*, delivery_id: str) -> int:
        job_ids = _dispatch(holder, delivery_id)
        for job_id in job_ids:
            app.send_task(RUN_JOB, kwargs={"job_id": job_id})
        return len(job_ids)

    @app.task(name=RECONCILE, base=HookwiseTask)  # type: ignore[untyped-decorator]
    def reconcile_task() -> dict[str, int]:
        return reconcile_now(holder)

    @app.task(name=REDELIVER, base=HookwiseTask)  # type: ignore[untyped-decorator]
    def redeliver_task() -> int:
        return redeliver_now(holder)

    del run_job_task, fan_out_task, dispatch_delivery_task, reconcile_task, redeliver_task
    return holder


def _dispatch(holder: RuntimeHolder, delivery_id: str) -> list[str]:
    runtime = holder.get()
    central = runtime.central or holder.config
    config = central
    with runtime.engine.connect() as conn:
        row = conn.execute(
            select(Delivery.event, Delivery.payload).where(Delivery.id == delivery_id)
        ).first()
    if row is None:
        return []
    if runtime.repo_configs is not None:
        payload = orjson.loads(row.payload)
        effective = effective_config(
            central=central, repo_configs=runtime.repo_configs, payload=payload
        )
        config = effective.merged.config
        if effective.repo is not None and effective.repo.error is not None:
            _report_broken(runtime, repo=effective.repo, payload=payload, event=row.event)
    return reconciler.dispatch_delivery(
        runtime.engine,
        delivery_id=delivery_id,
        config=config,
        identity=runtime.match_identity,
        max_attempts=runtime.settings.job_max_attempts,
    )


def _report_broken(
    runtime: WorkerRuntime, *, repo: RepoConfig, payload: dict[str, Any], event: str
) -> None:
    if runtime.github is None:
        return
    repository = payload["repository"]
    installation = payload.get("installation") or {}
    head = None
    if runtime.github.is_app:
        head = default_branch_head(
            runtime.github.for_installation(installation.get("id")),
            repository=str(repository["full_name"]),
            branch=str(repository.get("default_branch") or "main"),
        )
    report_broken_config(
        repo=repo,
        payload=payload,
        head_sha=head,
        publisher=runtime.publisher,
        event=event,
        ledger=Ledger(runtime.engine),
    )


def redeliver_now(holder: RuntimeHolder) -> int:
    """Ask GitHub for the App's failed deliveries that we never recorded; returns how many."""
    runtime = holder.get()
    if runtime.github is None or not runtime.github.is_app:
        return 0
    engine = runtime.engine

    def recorded(guids: Collection[str]) -> set[str]:
        if not guids:
            return set()
        with engine.connect() as conn:
            rows = conn.execute(select(Delivery.id).where(Delivery.id.in_(list(guids))))
            return set(rows.scalars())

    return len(redeliver_missed(runtime.github, recorded=recorded).requested)


def reconcile_now(holder: RuntimeHolder) -> dict[str, int]:
    runtime = holder.get()

    def publish(job_id: str) -> None:
        runtime.celery.send_task(RUN_JOB, kwargs={"job_id": job_id})

    report = reconciler.reconcile(
        runtime.engine,
        requeue_after=runtime.settings.job_requeue_after_seconds,
        publish=publish,
        dispatch=lambda delivery_id: _dispatch(holder, delivery_id),
    )
    return {
        "expired": report.expired,
        "dead_lettered": report.dead_lettered,
        "published": report.published,
        "dispatched": report.dispatched,
    }
