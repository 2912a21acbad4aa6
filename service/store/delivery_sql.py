"""The intake's write: a batch of deliveries and their jobs, on the driver connection.

This is the one hot statement of the web process, run for every webhook. Through SQLAlchemy Core it
cost about three times the driver's own work (statement caching, parameter processing, result
wrapping), so the batch goes to the DBAPI connection directly, inside the caller's SQLAlchemy
transaction. Column types still come from the models: SQLite's values pass through SQLAlchemy's own
bind processors (datetimes as its text format, JSON as text), so rows written here read back
exactly like rows written through the ORM.

- PostgreSQL: one statement per delivery, all sent in one pipeline (one round trip per batch). A
  data-modifying CTE inserts the delivery and, only if it was new, its jobs from a JSON array.
- SQLite: an insert per delivery (the row count tells whether it was new), then all new jobs in
  one `executemany`. SQLite is in-process, so there are no round trips to save.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, FromClause
from sqlalchemy.engine import Dialect

from service.store.models import Delivery, Job, JobState

DELIVERY_COLUMNS = (
    "id",
    "event",
    "action",
    "state",
    "repository",
    "installation_id",
    "sender",
    "hook_id",
    "received_at",
    "error",
    "payload",
)
# What a new job's row says beyond what the job itself carries; `now` fills the timestamps.
JOB_COLUMNS = (
    "id",
    "delivery_id",
    "automation",
    "agent",
    "state",
    "attempts",
    "max_attempts",
    "options",
    "command",
    "pending",
    "concurrency_group",
    "cancel_in_progress",
    "cancel_requested",
    "enqueued_at",
    "enqueue_count",
    "created_at",
    "updated_at",
)
# The job fields that travel in the PostgreSQL statement's JSON array, with their SQL types.
JOB_RECORD = (
    ("id", "text"),
    ("automation", "text"),
    ("agent", "text"),
    ("options", "jsonb"),
    ("command", "jsonb"),
    ("pending", "jsonb"),
    ("concurrency_group", "text"),
    ("cancel_in_progress", "boolean"),
)

DeliveryRow = Mapping[str, Any]
JobRow = Mapping[str, Any]


def insert_new_deliveries(
    conn: Connection,
    deliveries: Sequence[tuple[DeliveryRow, Sequence[JobRow]]],
    *,
    max_attempts: int,
    now: dt.datetime,
) -> list[bool]:
    """Insert each delivery that is not in the database yet, with its jobs; for each, whether it
    was inserted. A delivery id repeated inside `deliveries` is inserted once, the first time."""
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        return _insert_postgresql(driver, deliveries, max_attempts=max_attempts, now=now)
    return _insert_sqlite(
        driver, deliveries, max_attempts=max_attempts, now=now, dialect=conn.dialect
    )


@functools.cache
def _postgresql_statement() -> str:
    delivery_columns = ", ".join(DELIVERY_COLUMNS)
    # Binary parameters: a payload goes as its bytes, not escaped into twice as much text.
    delivery_values = ", ".join(f"%({name})b" for name in DELIVERY_COLUMNS)
    record = ", ".join(f"{name} {sql_type}" for name, sql_type in JOB_RECORD)
    job_columns = ", ".join(JOB_COLUMNS)
    # Each job column comes from the job's JSON record, from the delivery just inserted, or from
    # the values every new job starts with (`new_job_constants`, passed as `new_<column>`).
    from_record = {name for name, _ in JOB_RECORD}
    job_values = ", ".join(
        f"j.{name}"
        if name in from_record
        else "delivery.id"
        if name == "delivery_id"
        else f"%(new_{name})s"
        for name in JOB_COLUMNS
    )
    return f"""
WITH delivery AS (
    INSERT INTO {Delivery.__tablename__} ({delivery_columns}) VALUES ({delivery_values})
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), job AS (
    INSERT INTO {Job.__tablename__} ({job_columns})
    SELECT {job_values}
    FROM delivery, jsonb_to_recordset(%(jobs)s::jsonb) AS j({record})
)
SELECT id FROM delivery
"""


def _insert_postgresql(
    driver: Any,
    deliveries: Sequence[tuple[DeliveryRow, Sequence[JobRow]]],
    *,
    max_attempts: int,
    now: dt.datetime,
) -> list[bool]:
    constants = {
        f"new_{name}": value
        for name, value in new_job_constants(max_attempts=max_attempts, now=now).items()
    }
    params = [
        {
            **delivery,
            **constants,
            "jobs": orjson.dumps(
                [{name: job[name] for name, _ in JOB_RECORD} for job in jobs]
            ).decode(),
        }
        for delivery, jobs in deliveries
    ]
    inserted: list[bool] = []
    with driver.cursor() as cursor:
        # psycopg sends every statement of `executemany` in one pipeline, and with
        # `returning=True` keeps each statement's result.
        cursor.executemany(_postgresql_statement(), params, returning=True)
        while True:
            inserted.append(cursor.fetchone() is not None)
            if not cursor.nextset():
                break
    return inserted


@functools.cache
def _sqlite_plan(dialect: Dialect) -> tuple[str, str, Processors, Processors]:
    delivery_sql = (
        f"INSERT INTO {Delivery.__tablename__} ({', '.join(DELIVERY_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in DELIVERY_COLUMNS)}) ON CONFLICT (id) DO NOTHING"
    )
    job_sql = (
        f"INSERT INTO {Job.__tablename__} ({', '.join(JOB_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in JOB_COLUMNS)})"
    )
    return (
        delivery_sql,
        job_sql,
        bind_processors(Delivery.__table__, DELIVERY_COLUMNS, dialect),
        bind_processors(Job.__table__, JOB_COLUMNS, dialect),
    )


def _insert_sqlite(
    driver: Any,
    deliveries: Sequence[tuple[DeliveryRow, Sequence[JobRow]]],
    *,
    max_attempts: int,
    now: dt.datetime,
    dialect: Dialect,
) -> list[bool]:
    delivery_sql, job_sql, delivery_processors, job_processors = _sqlite_plan(dialect)
    # What is the same for every row of the batch (the timestamps, a new job's counters) is
    # converted once: per row, only the jobs' JSON and flags are.
    delivery_constants = _converted(delivery_processors, DELIVERY_COLUMNS, {"received_at": now})
    job_constants = _converted(
        job_processors, JOB_COLUMNS, new_job_constants(max_attempts=max_attempts, now=now)
    )
    inserted: list[bool] = []
    job_rows: list[tuple[Any, ...]] = []
    cursor = driver.cursor()
    try:
        for delivery, jobs in deliveries:
            row = apply(delivery_processors, DELIVERY_COLUMNS, delivery, delivery_constants)
            cursor.execute(delivery_sql, row)
            new = cursor.rowcount == 1
            inserted.append(new)
            if new:
                job_rows += (
                    apply(
                        job_processors,
                        JOB_COLUMNS,
                        {**job, "delivery_id": delivery["id"]},
                        job_constants,
                    )
                    for job in jobs
                )
        if job_rows:
            cursor.executemany(job_sql, job_rows)
    finally:
        cursor.close()
    return inserted


def new_job_constants(*, max_attempts: int, now: dt.datetime) -> dict[str, Any]:
    """The columns every new job starts with."""
    return {
        "state": JobState.QUEUED.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "cancel_requested": False,
        "enqueued_at": now,
        "enqueue_count": 1,
        "created_at": now,
        "updated_at": now,
    }


Processors = tuple[Callable[[Any], Any] | None, ...]


def bind_processors(table: FromClause, columns: Sequence[str], dialect: Dialect) -> Processors:
    """SQLAlchemy's own conversion of each column's Python value into the driver's value."""
    return tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


def _converted(
    processors: Processors, columns: Sequence[str], values: Mapping[str, Any]
) -> dict[int, Any]:
    """`values` converted for the driver, by column position."""
    return {
        position: values[name] if processor is None else processor(values[name])
        for position, (processor, name) in enumerate(zip(processors, columns, strict=True))
        if name in values
    }


def apply(
    processors: Processors,
    columns: Sequence[str],
    row: Mapping[str, Any],
    constants: Mapping[int, Any],
) -> tuple[Any, ...]:
    """The row's values for the driver: `constants` (already converted) where given."""
    return tuple(
        constants[position]
        if position in constants
        else (row[name] if processor is None else processor(row[name]))
        for position, (processor, name) in enumerate(zip(processors, columns, strict=True))
    )
