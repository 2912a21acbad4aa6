"""Job state transitions in the database: claim with a lease, heartbeat, finish, reschedule.

Every transition is a conditional UPDATE, so a message delivered twice, a worker that was presumed
dead, or a reconciler running beside a worker can never run a job twice or overwrite a newer
outcome: whoever holds the current `lease_token` owns the job.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from service.metrics import bucket_labels_for
from service.store.db import insert_for, utcnow
from service.store.models import Attempt, GroupLock, Job, JobDurationBucket, JobState

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: str
    token: str
    attempt: int
    max_attempts: int
    agent: str
    automation: str
    delivery_id: str
    options: dict[str, Any]
    command: dict[str, Any] | None
    pending: dict[str, Any]
    concurrency_group: str | None
    started_at: dt.datetime


class ClaimRefused(Exception):
    """The job is not ours to run now; `reason` says why (for the log only)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def claim(engine: Engine, *, job_id: str, worker: str, lease_seconds: float) -> Claim:
    """Take the job if it is queued and due, or running with an expired lease (its worker died).

    Raises `ClaimRefused` otherwise. A job whose attempts are used up is dead-lettered here, so a
    message that kills its worker every time (a poison message) stops being retried.
    """
    now = utcnow()
    token = uuid.uuid4().hex
    claimable = or_(
        and_(
            Job.state == JobState.QUEUED,
            or_(Job.not_before.is_(None), Job.not_before <= now),
        ),
        and_(Job.state == JobState.RUNNING, Job.lease_expires_at < now),
    )
    with engine.connect() as conn:
        row = conn.execute(
            update(Job)
            .where(Job.id == job_id, claimable)
            .values(
                state=JobState.RUNNING,
                attempts=Job.attempts + 1,
                lease_token=token,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                started_at=now,
                updated_at=now,
            )
            .returning(
                Job.attempts,
                Job.max_attempts,
                Job.agent,
                Job.automation,
                Job.delivery_id,
                Job.options,
                Job.command,
                Job.pending,
                Job.concurrency_group,
                Job.cancel_requested,
            )
        ).first()
        if row is None:
            raise ClaimRefused("not claimable (finished, running elsewhere, or not due)")
        refusal = _refusal(conn, row=row, job_id=job_id, token=token, now=now, lease=lease_seconds)
        if refusal is None:
            conn.execute(
                insert(Attempt).values(
                    job_id=job_id,
                    number=row.attempts,
                    lease_token=token,
                    worker=worker,
                    started_at=now,
                )
            )
            conn.commit()
    if refusal is not None:
        raise ClaimRefused(refusal)
    return Claim(
        job_id=job_id,
        token=token,
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        agent=row.agent,
        automation=row.automation,
        delivery_id=row.delivery_id,
        options=row.options or {},
        command=row.command,
        pending=row.pending or {},
        concurrency_group=row.concurrency_group,
        started_at=now,
    )


def _refusal(
    conn: Connection, *, row: Any, job_id: str, token: str, now: dt.datetime, lease: float
) -> str | None:
    """Why the freshly updated row may not run now (committing what that decides), or None."""
    if row.cancel_requested:
        _close(conn, job_id=job_id, token=token, state=JobState.CANCELLED, reason="cancelled")
        conn.commit()
        return "cancelled before it could run"
    if row.attempts > row.max_attempts:
        reason = f"gave up after {row.max_attempts} attempts (worker lost or kept failing)"
        _close(conn, job_id=job_id, token=token, state=JobState.FAILED, reason=reason)
        conn.commit()
        log.error("job dead-lettered", job_id=job_id, attempts=row.max_attempts)
        return reason
    group = row.concurrency_group
    if group is not None and not _take_group(
        conn, group=group, job_id=job_id, now=now, lease_seconds=lease
    ):
        # Leave the job queued, as it was: the group's running job publishes it when done.
        conn.rollback()
        return f"concurrency group {group!r} is busy"
    return None


def _take_group(
    conn: Connection, *, group: str, job_id: str, now: dt.datetime, lease_seconds: float
) -> bool:
    expires = now + dt.timedelta(seconds=lease_seconds)
    stmt = insert_for(conn.dialect.name, GroupLock).values(
        name=group, job_id=job_id, expires_at=expires
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"job_id": stmt.excluded.job_id, "expires_at": stmt.excluded.expires_at},
        where=or_(GroupLock.expires_at < now, GroupLock.job_id == job_id),
    ).returning(GroupLock.job_id)
    return conn.execute(stmt).first() is not None


def _close(conn: Connection, *, job_id: str, token: str, state: JobState, reason: str) -> bool:
    now = utcnow()
    result = conn.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_token == token)
        .values(
            state=state,
            reason=reason,
            finished_at=now,
            updated_at=now,
            lease_token=None,
            lease_expires_at=None,
        )
    )
    return bool(result.rowcount)


def renew(engine: Engine, *, claim: Claim, lease_seconds: float) -> bool | None:
    """Extend the lease. Returns whether a cancel was requested, or None if the lease was lost."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        row = conn.execute(
            update(Job)
            .where(Job.id == claim.job_id, Job.lease_token == claim.token)
            .values(lease_expires_at=expires, updated_at=now)
            .returning(Job.cancel_requested)
        ).first()
        if row is None:
            return None
        if claim.concurrency_group is not None:
            conn.execute(
                update(GroupLock)
                .where(GroupLock.name == claim.concurrency_group, GroupLock.job_id == claim.job_id)
                .values(expires_at=expires)
            )
        return bool(row.cancel_requested)


def finish(
    engine: Engine,
    *,
    claim: Claim,
    state: JobState,
    reason: str | None = None,
    result: dict[str, Any] | None = None,
) -> bool:
    """Record the outcome if we still hold the lease; False means another worker took over."""
    now = utcnow()
    duration = (now - claim.started_at).total_seconds()
    with engine.begin() as conn:
        done = conn.execute(
            update(Job)
            .where(Job.id == claim.job_id, Job.lease_token == claim.token)
            .values(
                state=state,
                reason=reason,
                result=result,
                finished_at=now,
                updated_at=now,
                lease_token=None,
                lease_expires_at=None,
            )
        ).rowcount
        error = None if state == JobState.SUCCEEDED else reason
        _end_attempt(conn, claim=claim, outcome=state, error=error, now=now)
        _release_group(conn, claim=claim)
        if done:
            _observe_duration(conn, agent=claim.agent, duration=duration)
    return bool(done)


def reschedule(engine: Engine, *, claim: Claim, delay: float, reason: str, published: bool) -> bool:
    """Back to `queued`, due after `delay` seconds. With `published`, a delayed message is already
    on its way; otherwise the reconciler publishes the job once it is due."""
    now = utcnow()
    due = now + dt.timedelta(seconds=delay)
    with engine.begin() as conn:
        done = conn.execute(
            update(Job)
            .where(Job.id == claim.job_id, Job.lease_token == claim.token)
            .values(
                state=JobState.QUEUED,
                reason=reason,
                not_before=due,
                enqueued_at=due if published else None,
                enqueue_count=1 if published else 0,
                updated_at=now,
                lease_token=None,
                lease_expires_at=None,
            )
        ).rowcount
        _end_attempt(conn, claim=claim, outcome="retry", error=reason, now=now)
        _release_group(conn, claim=claim)
    return bool(done)


def _end_attempt(
    conn: Connection, *, claim: Claim, outcome: str, error: str | None, now: Any
) -> None:
    conn.execute(
        update(Attempt)
        .where(Attempt.job_id == claim.job_id, Attempt.lease_token == claim.token)
        .values(finished_at=now, outcome=outcome, error=error)
    )


def _release_group(conn: Connection, *, claim: Claim) -> None:
    if claim.concurrency_group is not None:
        conn.execute(
            delete(GroupLock).where(
                GroupLock.name == claim.concurrency_group, GroupLock.job_id == claim.job_id
            )
        )


def _observe_duration(conn: Connection, *, agent: str, duration: float) -> None:
    increments = [(label, 1.0) for label in bucket_labels_for(duration)] + [("sum", duration)]
    for label, amount in increments:
        stmt = insert_for(conn.dialect.name, JobDurationBucket).values(
            agent=agent, le=label, value=amount
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["agent", "le"],
                set_={"value": JobDurationBucket.value + stmt.excluded.value},
            )
        )


def next_in_group(engine: Engine, *, group: str) -> str | None:
    """The oldest queued job of a concurrency group, to publish when the group frees up."""
    with engine.connect() as conn:
        return conn.execute(
            select(Job.id)
            .where(Job.concurrency_group == group, Job.state == JobState.QUEUED)
            .order_by(Job.created_at)
            .limit(1)
        ).scalar()


class Heartbeat:
    """Renews the lease while the agent runs and turns a cancel request into an Event the agent can
    check. If the lease is lost (the database was unreachable for longer than a lease), the agent
    is asked to stop too: someone else may be running the job by now."""

    def __init__(self, engine: Engine, *, claim: Claim, lease_seconds: float) -> None:
        self._engine = engine
        self._claim = claim
        self._lease_seconds = lease_seconds
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{claim.job_id[:8]}")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = max(self._lease_seconds / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                outcome = renew(self._engine, claim=self._claim, lease_seconds=self._lease_seconds)
            except SQLAlchemyError as exc:
                # Keep the agent going; if the database stays away past the lease, the next
                # successful renew reports the lease lost.
                log.warning("lease renewal failed", job_id=self._claim.job_id, error=str(exc))
                continue
            if outcome is None:
                self.lost.set()
                self.cancelled.set()
                return
            if outcome:
                self.cancelled.set()
