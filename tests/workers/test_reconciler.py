from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import Engine, select, update

from service.intake import NewDelivery, record_delivery
from service.store.db import utcnow
from service.store.models import Delivery, DeliveryState, Job, JobState
from service.triggers import Identity, load_config
from tests.workers.conftest import ISSUE_OPENED, add_job
from workers import leases, reconciler
from workers.agents.registry import agent_options

CONFIG = load_config(
    "version: 1\nautomations:\n  - name: n\n    on: {issues: {types: [opened]}}\n"
    "    agent: notify\n    with: {url: 'http://127.0.0.1:9/'}\n",
    source="t.yml",
    agents=agent_options(),
)


def run(engine: Engine, published: list[str]) -> reconciler.ReconcileReport:
    return reconciler.reconcile(
        engine,
        requeue_after=1.0,
        publish=published.append,
        dispatch=lambda delivery_id: reconciler.dispatch_delivery(
            engine, delivery_id=delivery_id, config=CONFIG, identity=Identity(), max_attempts=3
        ),
    )


def age_everything(engine: Engine, seconds: float) -> None:
    past = utcnow() - dt.timedelta(seconds=seconds)
    with engine.begin() as conn:
        conn.execute(update(Job).values(enqueued_at=past, created_at=past))
        conn.execute(update(Delivery).values(received_at=past))


def test_fresh_queued_job_is_left_to_its_message(engine: Engine) -> None:
    add_job(engine)
    published: list[str] = []
    assert run(engine, published).published == 0


def test_job_whose_message_was_lost_is_published_again_with_backoff(engine: Engine) -> None:
    job_id = add_job(engine)
    age_everything(engine, 5)
    published: list[str] = []
    assert run(engine, published).published == 1
    assert published == [job_id]
    # Just republished: not again until the (doubled) wait has passed.
    assert run(engine, published).published == 0
    age_everything(engine, 1.5)
    assert run(engine, published).published == 0
    age_everything(engine, 2.5)
    assert run(engine, published).published == 1


def test_not_due_job_is_not_published(engine: Engine) -> None:
    job_id = add_job(engine)
    claim = leases.claim(engine, job_id=job_id, worker="w", lease_seconds=30)
    leases.reschedule(engine, claim=claim, delay=3600, reason="rate limit", published=False)
    published: list[str] = []
    assert run(engine, published).published == 0


def test_dead_worker_job_is_requeued_then_dead_lettered(engine: Engine) -> None:
    job_id = add_job(engine, max_attempts=2)
    leases.claim(engine, job_id=job_id, worker="w", lease_seconds=0.01)
    time.sleep(0.05)
    published: list[str] = []
    report = run(engine, published)
    assert (report.expired, report.published) == (1, 1)
    assert published == [job_id]
    leases.claim(engine, job_id=job_id, worker="w", lease_seconds=0.01)
    time.sleep(0.05)
    report = run(engine, published)
    assert report.dead_lettered == 1
    with engine.connect() as conn:
        state, reason = conn.execute(select(Job.state, Job.reason)).one()
    assert state == JobState.FAILED
    assert "dead-lettered" in reason


def test_received_delivery_is_dispatched_by_the_worker(engine: Engine) -> None:
    delivery = NewDelivery(
        id="late",
        event="issues",
        action="opened",
        payload=ISSUE_OPENED,
        state=DeliveryState.RECEIVED,
        error="matching failed",
    )
    with engine.begin() as conn:
        record_delivery(conn, delivery, max_attempts=3)
    age_everything(engine, 5)
    published: list[str] = []
    report = run(engine, published)
    assert report.dispatched == 1
    assert len(published) == 1
    with engine.connect() as conn:
        assert conn.execute(select(Delivery.state)).scalar_one() == DeliveryState.DISPATCHED
        assert conn.execute(select(Job.automation)).scalar_one() == "n"
    # Dispatching twice creates nothing more.
    assert (
        reconciler.dispatch_delivery(
            engine, delivery_id="late", config=CONFIG, identity=Identity(), max_attempts=3
        )
        == []
    )
