from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select

from service.intake import NewDelivery, NewJob, job_id_for, record_deliveries
from service.store.models import Delivery, Job


def delivery(delivery_id: str, *, group: str | None = None) -> NewDelivery:
    job = NewJob(
        id=job_id_for(delivery_id=delivery_id, automation="a"),
        automation="a",
        agent="notify",
        concurrency_group=group,
    )
    return NewDelivery(id=delivery_id, event="issues", action="opened", payload=b"{}", jobs=(job,))


def test_a_batch_is_recorded_in_order_with_duplicates_inside_and_outside_it(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        record_deliveries(conn, [delivery("old")], max_attempts=3)
    batch = [delivery("a"), delivery("old"), delivery("b"), delivery("a")]
    with engine.begin() as conn:
        recorded = record_deliveries(conn, batch, max_attempts=3)
    assert [r.duplicate for r in recorded] == [False, True, False, True]
    assert recorded[3].jobs == recorded[0].jobs  # the repeat reports the jobs of the first
    assert recorded[1].jobs[0].id == job_id_for(delivery_id="old", automation="a")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Delivery)).scalar_one() == 3
        assert conn.execute(select(func.count()).select_from(Job)).scalar_one() == 3


def test_within_a_batch_the_newest_delivery_of_a_group_wins(engine: Engine) -> None:
    with engine.begin() as conn:
        recorded = record_deliveries(
            conn, [delivery("first", group="g"), delivery("second", group="g")], max_attempts=3
        )
    with engine.connect() as conn:
        states = dict(conn.execute(select(Job.delivery_id, Job.state)).all())
    assert states == {"first": "cancelled", "second": "queued"}
    # Each delivery's answer says what became of its job.
    assert [r.jobs[0].state for r in recorded] == ["cancelled", "queued"]
    assert recorded[0].queued_job_ids == []


def test_the_recorder_hands_each_committed_batch_to_the_publisher_once(engine: Engine) -> None:
    import asyncio

    from service.intake import DeliveryRecorder
    from service.store.models import DeliveryState

    handed: list[tuple[list[str], list[str]]] = []
    recorder = DeliveryRecorder(
        engine, max_attempts=3, after_commit=lambda jobs, dispatch: handed.append((jobs, dispatch))
    )
    received = NewDelivery(
        id="r", event="issues", action="opened", payload=b"{}", state=DeliveryState.RECEIVED
    )

    async def record_all() -> list[object]:
        batch = [delivery("a"), delivery("b"), received, delivery("a")]
        return await asyncio.gather(*(recorder.record(d) for d in batch))

    recorder.start()
    try:
        outcomes = asyncio.run(record_all())
    finally:
        recorder.stop()
    assert [o.duplicate for o in outcomes] == [False, False, False, True]  # type: ignore[attr-defined]
    jobs = [job_id for job_ids, _ in handed for job_id in job_ids]
    assert sorted(jobs) == sorted(job_id_for(delivery_id=d, automation="a") for d in "ab")
    assert [d for _, dispatch in handed for d in dispatch] == ["r"]


def test_job_ids_are_the_name_based_uuids_of_delivery_and_automation() -> None:
    import uuid

    from service.intake import JOB_ID_NAMESPACE

    for delivery_id, automation in [("d", "a"), ("72d3162e-cc78-11e3", "review-prs"), ("é", "ü")]:
        expected = uuid.uuid5(JOB_ID_NAMESPACE, f"{delivery_id}/{automation}").hex
        assert job_id_for(delivery_id=delivery_id, automation=automation) == expected


def test_rows_written_on_the_driver_read_back_through_the_models(engine: Engine) -> None:
    import datetime as dt

    from sqlalchemy.orm import Session

    job = NewJob(
        id=job_id_for(delivery_id="typed", automation="a"),
        automation="a",
        agent="notify",
        options={"url": "http://x", "retries": 2, "nested": {"ok": True}},
        command={"name": "/fix", "args": "now", "line": "/fix now"},
        pending={"paths": ["src/**"]},
        concurrency_group="g-1",
        cancel_in_progress=True,
    )
    delivery = NewDelivery(
        id="typed",
        event="issue_comment",
        action="created",
        payload=b'{"x": 1}',
        repository="o/r",
        installation_id=2**40,
        sender="alice",
        hook_id="7",
        jobs=(job,),
    )
    before = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        record_deliveries(conn, [delivery], max_attempts=4)
    with Session(engine) as session:
        stored = session.get(Delivery, "typed")
        row = session.get(Job, job.id)
        assert stored is not None
        assert row is not None
        assert (stored.repository, stored.installation_id, stored.sender, stored.hook_id) == (
            "o/r",
            2**40,
            "alice",
            "7",
        )
        assert stored.payload == b'{"x": 1}'
        assert stored.received_at.tzinfo is not None
        assert before - dt.timedelta(seconds=1) <= stored.received_at <= dt.datetime.now(dt.UTC)
        assert (row.options, row.command, row.pending) == (job.options, job.command, job.pending)
        assert (row.state, row.attempts, row.max_attempts, row.enqueue_count) == ("queued", 0, 4, 1)
        assert (row.cancel_in_progress, row.cancel_requested) == (True, False)
        assert row.created_at == row.updated_at == row.enqueued_at == stored.received_at


def test_on_sqlite_the_log_is_checkpointed_beside_the_writer_not_inside_its_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import time

    from service.intake import DeliveryRecorder, SqliteCheckpointer
    from service.store.db import create_db_engine, upgrade

    engine = create_db_engine(f"sqlite:///{tmp_path / 'hookwise.sqlite'}")
    upgrade(engine)
    writer_autocheckpoint: list[int] = []
    take_over = SqliteCheckpointer.take_over_from

    def watched(self: SqliteCheckpointer, conn: Connection) -> None:
        take_over(self, conn)
        driver = conn.connection.driver_connection
        assert driver is not None
        writer_autocheckpoint.append(driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

    monkeypatch.setattr(SqliteCheckpointer, "take_over_from", watched)
    recorder = DeliveryRecorder(engine, max_attempts=3, checkpoint_interval=0.05)

    async def record_all() -> None:
        for n in range(20):
            await recorder.record(delivery(f"d-{n}"))

    recorder.start()
    checkpointer = recorder.checkpointer
    assert checkpointer is not None
    try:
        asyncio.run(record_all())
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpointer.checkpoints >= 1
        assert writer_autocheckpoint == [0]  # the writer's own commits never checkpoint
    finally:
        recorder.stop()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Delivery)).scalar_one() == 20
    engine.dispose()
