from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, select

from service.store.models import Attempt, GroupLock, Job, JobState
from tests.workers.conftest import add_job
from workers import leases


def job_row(engine: Engine, job_id: str) -> Any:
    table = Job.__table__
    with engine.connect() as conn:
        return conn.execute(select(table).where(table.c.id == job_id)).one()


def test_claim_takes_a_queued_job_once(engine: Engine) -> None:
    job_id = add_job(engine)
    claim = leases.claim(engine, job_id=job_id, worker="w1", lease_seconds=30)
    assert claim.attempt == 1
    assert claim.options == {"url": "http://127.0.0.1:9/"}
    with pytest.raises(leases.ClaimRefused):
        leases.claim(engine, job_id=job_id, worker="w2", lease_seconds=30)
    row = job_row(engine, job_id)
    assert row.state == JobState.RUNNING
    assert row.attempts == 1


def test_expired_lease_can_be_taken_over_and_fences_the_old_holder(engine: Engine) -> None:
    job_id = add_job(engine)
    first = leases.claim(engine, job_id=job_id, worker="w1", lease_seconds=0.05)
    time.sleep(0.1)
    second = leases.claim(engine, job_id=job_id, worker="w2", lease_seconds=30)
    assert second.attempt == 2
    # The presumed-dead first worker comes back: it can no longer record anything.
    assert not leases.finish(engine, claim=first, state=JobState.SUCCEEDED)
    assert leases.renew(engine, claim=first, lease_seconds=30) is None
    assert leases.finish(engine, claim=second, state=JobState.SUCCEEDED, reason="ok")
    assert job_row(engine, job_id).state == JobState.SUCCEEDED


def test_finished_job_is_not_claimable(engine: Engine) -> None:
    job_id = add_job(engine)
    claim = leases.claim(engine, job_id=job_id, worker="w1", lease_seconds=30)
    leases.finish(engine, claim=claim, state=JobState.SUCCEEDED)
    with pytest.raises(leases.ClaimRefused):
        leases.claim(engine, job_id=job_id, worker="w1", lease_seconds=30)


def test_poison_job_is_dead_lettered_after_max_attempts(engine: Engine) -> None:
    job_id = add_job(engine, max_attempts=2)
    for _ in range(2):  # each worker "dies" holding the job
        leases.claim(engine, job_id=job_id, worker="w", lease_seconds=0.01)
        time.sleep(0.03)
    with pytest.raises(leases.ClaimRefused, match="gave up after 2 attempts"):
        leases.claim(engine, job_id=job_id, worker="w", lease_seconds=30)
    row = job_row(engine, job_id)
    assert row.state == JobState.FAILED
    assert "gave up" in row.reason


def test_not_due_job_waits(engine: Engine) -> None:
    job_id = add_job(engine)
    claim = leases.claim(engine, job_id=job_id, worker="w", lease_seconds=30)
    leases.reschedule(engine, claim=claim, delay=60, reason="rate limited", published=False)
    with pytest.raises(leases.ClaimRefused):
        leases.claim(engine, job_id=job_id, worker="w", lease_seconds=30)
    row = job_row(engine, job_id)
    assert row.state == JobState.QUEUED
    assert row.enqueued_at is None


def test_one_running_job_per_concurrency_group(engine: Engine) -> None:
    first = add_job(engine, delivery_id="d-1", group="g")
    first_claim = leases.claim(engine, job_id=first, worker="w", lease_seconds=30)
    second = add_job(engine, delivery_id="d-2", group="g")
    with pytest.raises(leases.ClaimRefused, match="busy"):
        leases.claim(engine, job_id=second, worker="w", lease_seconds=30)
    assert job_row(engine, second).state == JobState.QUEUED
    assert job_row(engine, second).attempts == 0
    assert leases.next_in_group(engine, group="g") == second
    leases.finish(engine, claim=first_claim, state=JobState.SUCCEEDED)
    with engine.connect() as conn:
        assert conn.execute(select(GroupLock)).first() is None
    assert leases.claim(engine, job_id=second, worker="w", lease_seconds=30).attempt == 1


def test_newer_job_supersedes_queued_ones_and_cancels_running_on_request(engine: Engine) -> None:
    running = add_job(engine, delivery_id="d-1", group="g", cancel_in_progress=True)
    claim = leases.claim(engine, job_id=running, worker="w", lease_seconds=30)
    waiting = add_job(engine, delivery_id="d-2", group="g", cancel_in_progress=True)
    assert job_row(engine, running).cancel_requested is True
    newest = add_job(engine, delivery_id="d-3", group="g", cancel_in_progress=True)
    assert job_row(engine, waiting).state == JobState.CANCELLED
    assert "superseded" in job_row(engine, waiting).reason
    assert job_row(engine, newest).state == JobState.QUEUED
    assert leases.renew(engine, claim=claim, lease_seconds=30) is True


def test_without_cancel_in_progress_running_job_is_left_alone(engine: Engine) -> None:
    running = add_job(engine, delivery_id="d-1", group="g")
    leases.claim(engine, job_id=running, worker="w", lease_seconds=30)
    add_job(engine, delivery_id="d-2", group="g")
    assert job_row(engine, running).cancel_requested is False


def test_attempts_are_recorded(engine: Engine) -> None:
    job_id = add_job(engine)
    claim = leases.claim(engine, job_id=job_id, worker="w1", lease_seconds=30)
    leases.reschedule(engine, claim=claim, delay=0, reason="HTTP 502", published=True)
    claim = leases.claim(engine, job_id=job_id, worker="w2", lease_seconds=30)
    leases.finish(engine, claim=claim, state=JobState.FAILED, reason="HTTP 404")
    with engine.connect() as conn:
        rows = conn.execute(
            select(Attempt.number, Attempt.worker, Attempt.outcome, Attempt.error).order_by(
                Attempt.number
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "w1", "retry", "HTTP 502"),
        (2, "w2", "failed", "HTTP 404"),
    ]


def test_heartbeat_keeps_the_lease_and_sees_cancel(engine: Engine) -> None:
    job_id = add_job(engine)
    # Renewed every third of the lease: a heartbeat thread starved for a whole second on a
    # loaded machine still keeps it.
    claim = leases.claim(engine, job_id=job_id, worker="w", lease_seconds=1.5)
    with leases.Heartbeat(engine, claim=claim, lease_seconds=1.5) as heartbeat:
        time.sleep(3.0)  # twice the lease: only renewals keep it
        with pytest.raises(leases.ClaimRefused):
            leases.claim(engine, job_id=job_id, worker="other", lease_seconds=30)
        from service.control import cancel_job
        from service.store.db import session_factory

        with session_factory(engine)() as session:
            cancel_job(session, job_id=job_id)
        assert heartbeat.cancelled.wait(2)
        assert not heartbeat.lost.is_set()
