"""The reconciler: whatever the broker lost, the database still knows about.

Runs every `reconcile_interval_seconds` from beat and once when a worker starts. It
- requeues jobs whose worker died (running, lease expired), dead-lettering those out of attempts;
- publishes queued jobs that are due and whose message may be lost (never published, or published
  long enough ago), backing off exponentially per job so a long backlog is not flooded;
- dispatches deliveries still `received` (matching failed or was deferred to the worker).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import structlog
from sqlalchemy import Engine, and_, or_, select, update

from service.intake import insert_jobs, new_job
from service.store.db import utcnow
from service.store.models import Delivery, DeliveryState, Job, JobState
from service.triggers import Config, Identity, match_event

log = structlog.get_logger(__name__)

MAX_BACKOFF_DOUBLINGS = 5


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    expired: int
    dead_lettered: int
    published: int
    dispatched: int


def requeue_expired(engine: Engine, *, now: dt.datetime) -> tuple[int, int]:
    """Running jobs whose lease expired go back to the queue, or fail if out of attempts."""
    with engine.begin() as conn:
        dead = conn.execute(
            update(Job)
            .where(
                Job.state == JobState.RUNNING,
                Job.lease_expires_at < now,
                Job.attempts >= Job.max_attempts,
            )
            .values(
                state=JobState.FAILED,
                reason="worker lost on the last attempt; dead-lettered",
                finished_at=now,
                updated_at=now,
                lease_token=None,
                lease_expires_at=None,
            )
        ).rowcount
        expired = conn.execute(
            update(Job)
            .where(Job.state == JobState.RUNNING, Job.lease_expires_at < now)
            .values(
                state=JobState.QUEUED,
                reason="worker lost; requeued",
                updated_at=now,
                lease_token=None,
                lease_expires_at=None,
                enqueued_at=None,
                enqueue_count=0,
            )
        ).rowcount
    return int(expired), int(dead)


def due_for_publish(
    engine: Engine, *, now: dt.datetime, requeue_after: float, limit: int = 1000
) -> list[str]:
    """Queued, due jobs whose message is missing or presumed lost; marks them as published now."""
    with engine.begin() as conn:
        candidates = conn.execute(
            select(Job.id, Job.enqueued_at, Job.enqueue_count)
            .where(
                Job.state == JobState.QUEUED,
                or_(Job.not_before.is_(None), Job.not_before <= now),
                or_(
                    Job.enqueued_at.is_(None),
                    Job.enqueued_at < now - dt.timedelta(seconds=requeue_after),
                ),
            )
            .order_by(Job.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        chosen = [
            row.id
            for row in candidates
            if row.enqueued_at is None
            or row.enqueued_at < now - _presumed_lost_after(requeue_after, row.enqueue_count)
        ]
        if chosen:
            conn.execute(
                update(Job)
                .where(Job.id.in_(chosen))
                .values(enqueued_at=now, enqueue_count=Job.enqueue_count + 1)
            )
    return chosen


def _presumed_lost_after(requeue_after: float, publishes: int) -> dt.timedelta:
    """The wait before presuming a message lost doubles with each publish."""
    doublings = min(max(publishes - 1, 0), MAX_BACKOFF_DOUBLINGS)
    return dt.timedelta(seconds=requeue_after * 2**doublings)


def dispatch_delivery(
    engine: Engine,
    *,
    delivery_id: str,
    config: Config,
    identity: Identity,
    max_attempts: int,
) -> list[str]:
    """Match a `received` delivery and create its jobs; returns the new job ids to publish."""
    with engine.begin() as conn:
        claimed = conn.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.RECEIVED)
            .values(state=DeliveryState.DISPATCHED, error=None)
            .returning(Delivery.event, Delivery.payload)
        ).first()
        if claimed is None:
            return []
        payload = orjson.loads(claimed.payload)
        matched = match_event(config, event=claimed.event, payload=payload, identity=identity)
        jobs = tuple(new_job(delivery_id=delivery_id, spec=spec) for spec in matched.jobs)
        created = insert_jobs(conn, delivery_id=delivery_id, jobs=jobs, max_attempts=max_attempts)
    return [job.id for job in created]


def stale_received(engine: Engine, *, now: dt.datetime, older_than: float) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Delivery.id)
                .where(
                    and_(
                        Delivery.state == DeliveryState.RECEIVED,
                        Delivery.received_at < now - dt.timedelta(seconds=older_than),
                    )
                )
                .order_by(Delivery.received_at)
                .limit(500)
            ).scalars()
        )


def reconcile(
    engine: Engine,
    *,
    requeue_after: float,
    publish: Callable[[str], None],
    dispatch: Callable[[str], list[str]],
) -> ReconcileReport:
    now = utcnow()
    expired, dead = requeue_expired(engine, now=now)
    dispatched = 0
    for delivery_id in stale_received(engine, now=now, older_than=requeue_after / 2):
        dispatched += 1
        for job_id in dispatch(delivery_id):
            publish(job_id)
    job_ids = due_for_publish(engine, now=now, requeue_after=requeue_after)
    for job_id in job_ids:
        publish(job_id)
    report = ReconcileReport(
        expired=expired, dead_lettered=dead, published=len(job_ids), dispatched=dispatched
    )
    if expired or dead or job_ids or dispatched:
        log.info(
            "reconciled",
            expired=expired,
            dead_lettered=dead,
            published=len(job_ids),
            dispatched=dispatched,
        )
    return report
