"""Recording deliveries and their jobs durably, with group commit.

Each webhook request hands its delivery to one writer thread and awaits the outcome. The writer
takes everything that queued up while it was busy and commits it in one transaction, so under load a
single fsync covers many deliveries, and the event loop never waits on the database driver. A
request is answered only after its delivery is committed: nothing is lost after a 202.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from service.batching import batches
from service.store.db import utcnow
from service.store.delivery_sql import insert_new_deliveries, new_job_constants
from service.store.models import DeliveryState, Job, JobState
from service.triggers import JobSpec

log = structlog.get_logger(__name__)

JOB_ID_NAMESPACE = uuid.UUID("6f1c6a3e-9b1d-5d2a-8c49-7d0c2e6b9a11")
_NAMESPACE_BYTES = JOB_ID_NAMESPACE.bytes


def job_id_for(*, delivery_id: str, automation: str) -> str:
    """Deterministic: the same delivery and automation always give the same job.

    The hex of the name-based UUID (version 5, RFC 4122 section 4.3) of `delivery/automation`,
    computed without building `uuid.UUID` objects, which cost the intake more than the hash.
    """
    name = f"{delivery_id}/{automation}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


@dataclass(frozen=True, slots=True)
class NewJob:
    id: str
    automation: str
    agent: str
    options: dict[str, Any] = field(default_factory=dict)
    command: dict[str, Any] | None = None
    pending: dict[str, Any] = field(default_factory=dict)
    concurrency_group: str | None = None
    cancel_in_progress: bool = False


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: str
    event: str
    action: str | None
    payload: bytes
    repository: str | None = None
    installation_id: int | None = None
    sender: str | None = None
    hook_id: str | None = None
    state: DeliveryState = DeliveryState.DISPATCHED
    error: str | None = None
    jobs: tuple[NewJob, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordedJob:
    id: str
    automation: str
    agent: str
    state: str


@dataclass(frozen=True, slots=True)
class Recorded:
    duplicate: bool
    jobs: tuple[RecordedJob, ...]

    @property
    def queued_job_ids(self) -> list[str]:
        if self.duplicate:
            return []
        return [job.id for job in self.jobs if job.state == JobState.QUEUED]


def new_job(*, delivery_id: str, spec: JobSpec) -> NewJob:
    command = spec.command
    return NewJob(
        id=job_id_for(delivery_id=delivery_id, automation=spec.automation),
        automation=spec.automation,
        agent=spec.agent,
        options=dict(spec.options),
        command=(
            {"name": command.name, "args": command.args, "line": command.line} if command else None
        ),
        pending=spec.pending.to_json(),
        concurrency_group=spec.concurrency_group,
        cancel_in_progress=spec.cancel_in_progress,
    )


def record_delivery(conn: Connection, delivery: NewDelivery, *, max_attempts: int) -> Recorded:
    """Insert one delivery and its jobs in the caller's transaction (see `record_deliveries`)."""
    return record_deliveries(conn, [delivery], max_attempts=max_attempts)[0]


def record_deliveries(
    conn: Connection, deliveries: Sequence[NewDelivery], *, max_attempts: int
) -> list[Recorded]:
    """Insert deliveries and their jobs in the caller's transaction, the whole batch in one round
    trip (see `service.store.delivery_sql`).

    A delivery id seen before (in the database, or earlier in `deliveries`) inserts nothing and
    reports the jobs it already has.
    """
    if not deliveries:
        return []
    now = utcnow()
    inserted = insert_new_deliveries(
        conn,
        [(_delivery_row(d, now), [_job_fields(job) for job in d.jobs]) for d in deliveries],
        max_attempts=max_attempts,
        now=now,
    )
    # The newest job of each group supersedes every other one, earlier ones of this batch too.
    newest = {
        job.concurrency_group: job
        for delivery, new in zip(deliveries, inserted, strict=True)
        if new
        for job in delivery.jobs
        if job.concurrency_group is not None
    }
    for job in newest.values():
        supersede(conn, job=job, now=now)
    superseded = {
        job.id
        for delivery, new in zip(deliveries, inserted, strict=True)
        if new
        for job in delivery.jobs
        if job.concurrency_group is not None and newest[job.concurrency_group] is not job
    }
    return [
        Recorded(
            duplicate=False,
            jobs=tuple(
                RecordedJob(
                    id=j.id,
                    automation=j.automation,
                    agent=j.agent,
                    state=JobState.CANCELLED if j.id in superseded else JobState.QUEUED,
                )
                for j in delivery.jobs
            ),
        )
        if new
        else Recorded(duplicate=True, jobs=tuple(_existing_jobs(conn, delivery.id)))
        for delivery, new in zip(deliveries, inserted, strict=True)
    ]


def _delivery_row(delivery: NewDelivery, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event": delivery.event,
        "action": delivery.action,
        "state": delivery.state.value,
        "repository": delivery.repository,
        "installation_id": delivery.installation_id,
        "sender": delivery.sender,
        "hook_id": delivery.hook_id,
        "received_at": now,
        "error": delivery.error,
        "payload": delivery.payload,
    }


def _job_fields(job: NewJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "automation": job.automation,
        "agent": job.agent,
        "options": job.options,
        "command": job.command,
        "pending": job.pending,
        "concurrency_group": job.concurrency_group,
        "cancel_in_progress": job.cancel_in_progress,
    }


def insert_jobs(
    conn: Connection, *, delivery_id: str, jobs: Sequence[NewJob], max_attempts: int
) -> list[NewJob]:
    """Insert the queued jobs that do not exist yet (ids are deterministic, so a job matched
    twice, by the web and again by the worker, is one job). Returns the jobs inserted."""
    if not jobs:
        return []
    existing = set(
        conn.execute(select(Job.id).where(Job.id.in_([job.id for job in jobs]))).scalars()
    )
    created = [job for job in jobs if job.id not in existing]
    _insert_job_rows(
        conn, [(delivery_id, job) for job in created], max_attempts=max_attempts, now=utcnow()
    )
    return created


def _insert_job_rows(
    conn: Connection,
    jobs: Sequence[tuple[str, NewJob]],
    *,
    max_attempts: int,
    now: dt.datetime,
) -> None:
    """Insert new queued jobs, in order; in each concurrency group the newest supersedes the
    group's older ones."""
    if not jobs:
        return
    constants = new_job_constants(max_attempts=max_attempts, now=now)
    conn.execute(
        insert(Job),
        [
            {**_job_fields(job), "delivery_id": delivery_id, **constants}
            for delivery_id, job in jobs
        ],
    )
    # The newest job of each group supersedes every other one, earlier ones of this batch too.
    newest = {job.concurrency_group: job for _, job in jobs if job.concurrency_group is not None}
    for job in newest.values():
        supersede(conn, job=job, now=now)


def supersede(conn: Connection, *, job: NewJob, now: dt.datetime) -> None:
    """GitHub Actions' concurrency rule: a newer job replaces the group's pending ones, and with
    `cancel_in_progress` also asks the running one to stop."""
    conn.execute(
        update(Job)
        .where(
            Job.concurrency_group == job.concurrency_group,
            Job.state == JobState.QUEUED,
            Job.id != job.id,
        )
        .values(
            state=JobState.CANCELLED,
            reason=f"superseded by job {job.id} in concurrency group",
            finished_at=now,
            updated_at=now,
        )
    )
    if job.cancel_in_progress:
        conn.execute(
            update(Job)
            .where(Job.concurrency_group == job.concurrency_group, Job.state == JobState.RUNNING)
            .values(cancel_requested=True, updated_at=now)
        )


def _existing_jobs(conn: Connection, delivery_id: str) -> Iterable[RecordedJob]:
    rows = conn.execute(
        select(Job.id, Job.automation, Job.agent, Job.state)
        .where(Job.delivery_id == delivery_id)
        .order_by(Job.automation)
    )
    for row in rows:
        yield RecordedJob(id=row.id, automation=row.automation, agent=row.agent, state=row.state)


_Item = tuple[NewDelivery, "asyncio.Future[Recorded]"]
_Outcome = Recorded | SQLAlchemyError


class DeliveryRecorder:
    """Writer threads that commit concurrent deliveries together (group commit).

    While one writer waits for the database (PostgreSQL compressing and writing the payloads),
    another can fill its next batch: a second writer nearly doubles throughput there. SQLite
    takes one writer at a time anyway, so it gets one. A committed batch wakes the event loop once,
    and the loop resolves every waiting request of the batch.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_attempts: int,
        after_commit: Callable[[list[str], list[str]], None] | None = None,
        max_batch: int = 256,
        writers: int | None = None,
        checkpoint_interval: float = 0.5,
    ) -> None:
        self._engine = engine
        # Told the jobs to publish and the deliveries to dispatch, once per committed batch:
        # messages go out only after the commit, and in bulk.
        self._after_commit = after_commit
        self._max_attempts = max_attempts
        self._max_batch = max_batch
        self._writers = writers or (1 if engine.dialect.name == "sqlite" else 2)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._checkpoint_interval = checkpoint_interval
        self._checkpointer: SqliteCheckpointer | None = None

    def start(self) -> None:
        if self._engine.dialect.name == "sqlite":
            self._checkpointer = SqliteCheckpointer(
                self._engine, interval=self._checkpoint_interval
            )
            self._checkpointer.start()
        self._threads = [
            threading.Thread(target=self._run, name=f"delivery-recorder-{n}", daemon=True)
            for n in range(self._writers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        if self._checkpointer is not None:
            self._checkpointer.stop(timeout)
            self._checkpointer = None

    @property
    def checkpointer(self) -> SqliteCheckpointer | None:
        """The write-ahead-log checkpointer, on SQLite while running."""
        return self._checkpointer

    async def record(self, delivery: NewDelivery) -> Recorded:
        if not self._threads:
            raise RuntimeError("the delivery recorder is not running")
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._queue.put((delivery, future))
        return await future

    def _run(self) -> None:
        # Each writer keeps one connection for its life: checking one out of the pool (and
        # pinging it) per batch cost as much as the write itself.
        conn: Connection | None = None
        try:
            for batch in batches(self._queue, limit=self._max_batch):
                conn, outcomes = self._write(conn, batch)
                _settle_from_thread(
                    [
                        (future, outcome)
                        for (_, future), outcome in zip(batch, outcomes, strict=True)
                    ]
                )
        finally:
            if conn is not None:
                conn.close()

    def _write(
        self, conn: Connection | None, batch: list[_Item]
    ) -> tuple[Connection | None, list[_Outcome]]:
        """Commit the batch; returns the connection to keep (None when it broke, and the next
        batch opens a new one) and each delivery's outcome."""
        fresh = conn is None
        try:
            if conn is None:
                conn = self._engine.connect()
                if self._checkpointer is not None:
                    self._checkpointer.take_over_from(conn)
            with conn.begin():
                outcomes = record_deliveries(
                    conn, [delivery for delivery, _ in batch], max_attempts=self._max_attempts
                )
        except SQLAlchemyError as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, DBAPIError) and exc.connection_invalidated and not fresh:
                # The kept connection died while idle (a database restart, an idle timeout):
                # nothing was written, so the batch goes again on a new one.
                log.info("database connection lost; reconnecting", error=str(exc.orig))
                return self._write(None, batch)
            return None, self._fail(batch, exc)
        if self._checkpointer is not None:
            self._checkpointer.written()
        if self._after_commit is not None:
            job_ids = [job_id for outcome in outcomes for job_id in outcome.queued_job_ids]
            dispatch = [
                delivery.id
                for (delivery, _), outcome in zip(batch, outcomes, strict=True)
                if not outcome.duplicate and delivery.state == DeliveryState.RECEIVED
            ]
            self._after_commit(job_ids, dispatch)
        return conn, list(outcomes)

    def _fail(self, batch: list[_Item], exc: SQLAlchemyError) -> list[_Outcome]:
        if len(batch) == 1:
            log.error("delivery not recorded", delivery_id=batch[0][0].id, error=str(exc))
            return [exc]
        # One bad row must not fail its neighbours: retry each on its own.
        kept: Connection | None = None
        outcomes: list[_Outcome] = []
        for item in batch:
            kept, [outcome] = self._write(kept, [item])
            outcomes.append(outcome)
        if kept is not None:
            kept.close()
        return outcomes


class SqliteCheckpointer:
    """Checkpoints SQLite's write-ahead log from a thread of its own.

    By default the connection whose commit finds the log over 1,000 pages copies it into the
    database and syncs the file, inside that commit. For the intake's writer that meant a stall of
    tens of milliseconds every ~140 webhook payloads, and every delivery waiting on that commit
    waited with it (p99 over 60 ms at 500 requests a second). The writer's connection leaves
    checkpoints to this thread, whose passive checkpoints never block a writer.
    """

    def __init__(self, engine: Engine, *, interval: float = 0.5) -> None:
        self._engine = engine
        self._interval = interval
        self._stopping = threading.Event()
        self._pending = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def take_over_from(self, conn: Connection) -> None:
        driver = conn.connection.driver_connection
        if driver is not None:
            driver.execute("PRAGMA wal_autocheckpoint=0")

    def written(self) -> None:
        self._pending.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.checkpoint()  # leave the database file up to date

    def checkpoint(self) -> None:
        self._pending.clear()
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            self.checkpoints += 1
        except SQLAlchemyError as exc:
            log.warning("write-ahead log checkpoint failed; retried later", error=str(exc))

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            if self._pending.is_set():
                self.checkpoint()


def _settle_from_thread(results: list[tuple[asyncio.Future[Recorded], _Outcome]]) -> None:
    """Resolve the futures with one call into each event loop they belong to."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Recorded], _Outcome]]] = {}
    for future, outcome in results:
        by_loop.setdefault(future.get_loop(), []).append((future, outcome))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.warning("event loop closed before deliveries were answered", count=len(items))


def _settle(items: list[tuple[asyncio.Future[Recorded], _Outcome]]) -> None:
    for future, outcome in items:
        if future.done():  # the request was cancelled: its client went away
            continue
        if isinstance(outcome, Recorded):
            future.set_result(outcome)
        else:
            future.set_exception(outcome)
