"""Operator actions on jobs (retry, cancel) as plain functions over a session."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.store.db import utcnow
from service.store.models import Job, JobState


class JobNotFound(LookupError):
    pass


class InvalidTransition(ValueError):
    pass


def retry_job(session: Session, *, job_id: str, extra_attempts: int) -> Job:
    """Queue a finished job to run again; its attempt counter goes on from where it was."""
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    if not JobState(job.state).finished:
        raise InvalidTransition(f"job is {job.state}; only finished jobs can be retried")
    now = utcnow()
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            state=JobState.QUEUED,
            reason="retried by an operator",
            max_attempts=job.attempts + extra_attempts,
            cancel_requested=False,
            not_before=None,
            lease_token=None,
            lease_expires_at=None,
            finished_at=None,
            enqueued_at=now,
            enqueue_count=1,
            updated_at=now,
        )
    )
    session.commit()
    session.refresh(job)
    return job


def cancel_job(session: Session, *, job_id: str) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop (its agent sees it)."""
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    now = utcnow()
    if job.state == JobState.QUEUED:
        values: dict[str, object] = {
            "state": JobState.CANCELLED,
            "reason": "cancelled by an operator",
            "finished_at": now,
        }
    elif job.state == JobState.RUNNING:
        values = {"cancel_requested": True}
    else:
        raise InvalidTransition(f"job is already {job.state}")
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.state == job.state).values(updated_at=now, **values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.rollback()
        raise InvalidTransition("job changed state meanwhile; try again")
    session.commit()
    session.refresh(job)
    return job
