"""Running one job: claim → resolve pending filters → run the agent → publish → record.

A plain function over a `WorkerRuntime`; the Celery task is a thin shell around it.
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import orjson
import structlog
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError
from sqlalchemy import Engine, select

from service.intake import new_job
from service.settings import Settings
from service.store.models import Delivery, JobState
from service.triggers import (
    Config,
    Identity,
    JobSpec,
    PendingChecks,
    PendingResolver,
    resolve_pending,
)
from workers import leases
from workers.agents.base import (
    AgentCancelled,
    AgentContext,
    Comment,
    NoOptions,
    PermanentError,
    Result,
    TransientError,
)
from workers.agents.registry import AGENTS
from workers.celery_app import RUN_JOB
from workers.github.client import GitHubFactory
from workers.github.repo_config import RepoConfigs
from workers.publish import ResultPublisher
from workers.repo_automations import effective_config, review_job

log = structlog.get_logger(__name__)

# Retries sooner than this ride on a delayed Celery message; later ones wait in the database for
# the reconciler, because long countdowns on Redis outlive the visibility timeout and run twice.
MAX_COUNTDOWN_SECONDS = 60.0


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    RETRY = "retry"
    NOT_CLAIMED = "not_claimed"
    LEASE_LOST = "lease_lost"


class ResolverFactory(Protocol):
    """Builds what answers the filters that need GitHub (changed files, permissions)."""

    def __call__(self, *, event: str, payload: Mapping[str, Any]) -> PendingResolver | None: ...


@dataclass(slots=True)
class WorkerRuntime:
    settings: Settings
    engine: Engine
    celery: Celery
    publisher: ResultPublisher
    resolvers: ResolverFactory | None = None
    identity: Callable[[], str] | None = None  # Hookwise's own GitHub login (loop guard)
    github: GitHubFactory | None = None
    central: Config | None = None  # the central automations (to re-check repository overrides)
    repo_configs: RepoConfigs | None = None
    match_identity: Identity = field(default_factory=Identity)
    worker_name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    agents: Mapping[str, Any] = field(default_factory=lambda: AGENTS)


def run_job(*, job_id: str, runtime: WorkerRuntime) -> Outcome:
    settings = runtime.settings
    try:
        claim = leases.claim(
            runtime.engine,
            job_id=job_id,
            worker=runtime.worker_name,
            lease_seconds=settings.job_lease_seconds,
        )
    except leases.ClaimRefused as refused:
        log.info("job not claimed", job_id=job_id, reason=refused.reason)
        return Outcome.NOT_CLAIMED
    structlog.contextvars.bind_contextvars(
        job_id=job_id, delivery_id=claim.delivery_id, automation=claim.automation
    )
    try:
        outcome = _run_claimed(claim, runtime=runtime)
    finally:
        structlog.contextvars.unbind_contextvars("job_id", "delivery_id", "automation")
    if claim.concurrency_group is not None and outcome is not Outcome.LEASE_LOST:
        _publish_next_in_group(claim.concurrency_group, runtime=runtime)
    return outcome


def _load_delivery(engine: Engine, delivery_id: str) -> tuple[str, str | None, dict[str, Any]]:
    with engine.connect() as conn:
        row = conn.execute(
            select(Delivery.event, Delivery.action, Delivery.payload).where(
                Delivery.id == delivery_id
            )
        ).one()
    payload = orjson.loads(row.payload)
    return row.event, row.action, payload


def _run_claimed(claim: leases.Claim, *, runtime: WorkerRuntime) -> Outcome:
    try:
        return _attempt(claim, runtime=runtime)
    except TransientError as exc:
        return _retry(
            claim, runtime, reason=str(exc), retry_after=exc.retry_after, escalate=exc.escalate
        )
    except PermanentError as exc:
        return _finish(claim, runtime, JobState.FAILED, str(exc))
    except SoftTimeLimitExceeded:
        return _finish(claim, runtime, JobState.FAILED, "timed out")


def _attempt(claim: leases.Claim, *, runtime: WorkerRuntime) -> Outcome:
    event, action, payload = _load_delivery(runtime.engine, claim.delivery_id)
    skip_reason, claim = _preflight(claim, event=event, payload=payload, runtime=runtime)
    if skip_reason is not None:
        return _finish(claim, runtime, JobState.SKIPPED, skip_reason)
    spec = runtime.agents.get(claim.agent)
    if spec is None:
        return _finish(claim, runtime, JobState.FAILED, f"unknown agent {claim.agent!r}")
    try:
        options = spec.options.model_validate(claim.options)
    except ValidationError as exc:
        return _finish(claim, runtime, JobState.FAILED, f"invalid options: {exc}")
    changed_files = _changed_files(options, event=event, payload=payload, runtime=runtime)
    lease = runtime.settings.job_lease_seconds
    with leases.Heartbeat(runtime.engine, claim=claim, lease_seconds=lease) as heartbeat:
        context = AgentContext(
            job_id=claim.job_id,
            delivery_id=claim.delivery_id,
            automation=claim.automation,
            event=event,
            action=action,
            payload=payload,
            options=options,
            command=claim.command,
            changed_files=changed_files,
            cancelled=heartbeat.cancelled.is_set,
        )
        try:
            _acknowledge_command(context, runtime=runtime)
            result = _execute(spec.load(), context)
            if heartbeat.cancelled.is_set():
                raise AgentCancelled()
            runtime.publisher.publish(result, context=context)
        except AgentCancelled:
            if heartbeat.lost.is_set():
                return Outcome.LEASE_LOST
            return _finish(claim, runtime, JobState.CANCELLED, "cancelled while running")
    return _finish(
        claim,
        runtime,
        JobState.SUCCEEDED,
        result.summary,
        result=result.model_dump(mode="json"),
    )


def _acknowledge_command(context: AgentContext, *, runtime: WorkerRuntime) -> None:
    """👀 on the command's comment as its job starts, so the commenter sees at once that it was
    picked up (agents may take minutes). A re-run's reaction changes nothing: GitHub answers 200
    for a reaction that exists."""
    if context.command is None or runtime.github is None:
        return
    picked_up = Result(summary="command picked up", reactions=("eyes",))
    runtime.publisher.publish(picked_up, context=context)


def _changed_files(
    options: Any, *, event: str, payload: Mapping[str, Any], runtime: WorkerRuntime
) -> tuple[str, ...] | None:
    """The files a pull request or push changes, read for agents whose options ask for them
    (agents hold no GitHub client of their own)."""
    if not getattr(options, "needs_changed_files", False) or runtime.resolvers is None:
        return None
    if "pull_request" not in payload and "after" not in payload:
        return None
    resolver = runtime.resolvers(event=event, payload=payload)
    return None if resolver is None else tuple(resolver.changed_files())


def _preflight(
    claim: leases.Claim, *, event: str, payload: Mapping[str, Any], runtime: WorkerRuntime
) -> tuple[str | None, leases.Claim]:
    """Why the job must not run (skip reason), and the job as the repository's config defines
    it; checked in the worker because both need GitHub."""
    if runtime.identity is not None:
        sender = payload.get("sender")
        login = sender.get("login") if isinstance(sender, Mapping) else None
        if isinstance(login, str) and login.lower() == runtime.identity().lower():
            return f"event caused by Hookwise itself ({login})", claim
    if runtime.central is not None and runtime.repo_configs is not None:
        review = review_job(
            automation=claim.automation,
            central=runtime.central,
            effective=effective_config(
                central=runtime.central, repo_configs=runtime.repo_configs, payload=payload
            ),
            event=event,
            payload=payload,
            identity=runtime.match_identity,
        )
        if review.skip_reason is not None:
            return review.skip_reason, claim
        if review.spec is not None:
            claim = _as_specified(claim, review.spec)
    return _check_pending(claim, event=event, payload=payload, runtime=runtime), claim


def _as_specified(claim: leases.Claim, spec: JobSpec) -> leases.Claim:
    """The job as the repository's replacement of its automation defines it."""
    job = new_job(delivery_id=claim.delivery_id, spec=spec)
    return dataclasses.replace(
        claim, agent=job.agent, options=job.options, command=job.command, pending=job.pending
    )


def _execute(agent: Callable[[AgentContext], Result], context: AgentContext) -> Result:
    try:
        return agent(context)
    except (AgentCancelled, TransientError, PermanentError, SoftTimeLimitExceeded):
        raise
    except Exception as exc:
        # A bug in an agent fails its job with the error recorded; retrying a bug only repeats it.
        log.exception("agent raised", agent=context.automation)
        raise PermanentError(f"agent error: {type(exc).__name__}: {exc}") from exc


def _check_pending(
    claim: leases.Claim, *, event: str, payload: Mapping[str, Any], runtime: WorkerRuntime
) -> str | None:
    pending = PendingChecks.from_json(claim.pending)
    if pending.empty:
        return None
    resolver = runtime.resolvers(event=event, payload=payload) if runtime.resolvers else None
    if resolver is None:
        return "filters need GitHub (changed files, permissions) but no GitHub access is configured"
    if pending.permission is not None:
        permission_only = dataclasses.replace(pending, paths=None)
        denied = resolve_pending(permission_only, resolver=resolver)
        if denied is not None:
            if claim.command is not None:
                _reply_denied(claim, event=event, payload=payload, runtime=runtime, level=pending)
            return denied
    return resolve_pending(
        dataclasses.replace(pending, permission=None, login=None), resolver=resolver
    )


def _reply_denied(
    claim: leases.Claim,
    *,
    event: str,
    payload: Mapping[str, Any],
    runtime: WorkerRuntime,
    level: PendingChecks,
) -> None:
    """A short, polite answer to a command from someone without the required permission."""
    command = (claim.command or {}).get("name", "this command")
    body = (
        f"@{level.login} `{command}` can only be used by people with {level.permission} "
        "access to this repository."
    )
    context = AgentContext(
        job_id=claim.job_id,
        delivery_id=claim.delivery_id,
        automation=claim.automation,
        event=event,
        action=payload.get("action") if isinstance(payload.get("action"), str) else None,
        payload=payload,
        options=NoOptions(),
        command=claim.command,
    )
    runtime.publisher.publish(
        Result(summary="permission denied", comments=(Comment(body=body, sticky=False),)),
        context=context,
    )


def _finish(
    claim: leases.Claim,
    runtime: WorkerRuntime,
    state: JobState,
    reason: str | None,
    *,
    result: dict[str, Any] | None = None,
) -> Outcome:
    if not leases.finish(runtime.engine, claim=claim, state=state, reason=reason, result=result):
        log.warning("lease lost before finishing; another worker owns the job")
        return Outcome.LEASE_LOST
    log.info("job finished", state=state.value, reason=reason)
    return Outcome(state.value)


def backoff_seconds(attempt: int, *, base: float = 5.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(base / 2, min(cap, base * 2 ** (attempt - 1)))


ESCALATION_CAP_SECONDS = 3600.0


def retry_delay(*, attempt: int, retry_after: float | None, escalate: bool) -> float:
    """Seconds until the next attempt of a job whose attempt number `attempt` failed.

    No wait asked for (5xx, timeouts): jittered exponential backoff, capped. A wait asked for
    (a rate limit's reset, `retry-after`) is a minimum; with `escalate` (secondary limits) it
    doubles per attempt up to an hour, plus up to 10 % jitter so that the jobs one limit stopped
    do not all come back in the same second.
    """
    backoff = backoff_seconds(attempt)
    if retry_after is None:
        return backoff
    if not escalate:
        return max(retry_after, backoff)
    wait = max(retry_after, min(retry_after * 2.0 ** (attempt - 1), ESCALATION_CAP_SECONDS))
    return wait + random.uniform(0, wait / 10)


def _retry(
    claim: leases.Claim,
    runtime: WorkerRuntime,
    *,
    reason: str,
    retry_after: float | None,
    escalate: bool = False,
) -> Outcome:
    if claim.attempt >= claim.max_attempts:
        return _finish(
            claim, runtime, JobState.FAILED, f"{reason} (gave up after {claim.attempt} attempts)"
        )
    delay = retry_delay(attempt=claim.attempt, retry_after=retry_after, escalate=escalate)
    short = delay <= MAX_COUNTDOWN_SECONDS
    if not leases.reschedule(
        runtime.engine, claim=claim, delay=delay, reason=reason, published=short
    ):
        return Outcome.LEASE_LOST
    if short:
        runtime.celery.send_task(RUN_JOB, kwargs={"job_id": claim.job_id}, countdown=delay)
    log.info("job rescheduled", delay=round(delay, 2), reason=reason)
    return Outcome.RETRY


def _publish_next_in_group(group: str, *, runtime: WorkerRuntime) -> None:
    next_job = leases.next_in_group(runtime.engine, group=group)
    if next_job is not None:
        runtime.celery.send_task(RUN_JOB, kwargs={"job_id": next_job})
