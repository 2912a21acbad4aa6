"""Tables: deliveries as GitHub sent them, one job per matched automation, each job's attempts.

The database holds the truth about work; the broker only carries job ids (see docs/reliability.md).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones and returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DeliveryState(StrEnum):
    RECEIVED = "received"  # recorded; automations not matched yet (the worker will)
    DISPATCHED = "dispatched"  # jobs created (possibly none)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # X-GitHub-Delivery
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.RECEIVED)
    repository: Mapped[str | None] = mapped_column(String(256))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    sender: Mapped[str | None] = mapped_column(String(256))
    hook_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    # Deferred: listing deliveries never drags megabytes of payload along.
    payload: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    __table_args__ = (
        Index("ix_deliveries_received_at", "received_at"),
        Index("ix_deliveries_state_received_at", "state", "received_at"),
    )


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    automation: Mapped[str] = mapped_column(String(128))
    agent: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    command: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    pending: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    concurrency_group: Mapped[str | None] = mapped_column(String(512))
    cancel_in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # How often the job's message was published: the reconciler backs off exponentially on it, so a
    # long backlog is not flooded with duplicate messages.
    enqueue_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_jobs_state_updated_at", "state", "updated_at"),
        Index("ix_jobs_concurrency_group_state", "concurrency_group", "state"),
        Index("ix_jobs_created_at", "created_at"),
    )


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    lease_token: Mapped[str] = mapped_column(String(32))
    worker: Mapped[str | None] = mapped_column(String(256))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class GroupLock(Base):
    """At most one running job per concurrency group: the holder renews `expires_at`."""

    __tablename__ = "group_locks"

    name: Mapped[str] = mapped_column(String(512), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class JobDurationBucket(Base):
    """Cumulative job-duration histogram kept in the database, so that the web's `/metrics` shows
    what every worker process observed, across restarts, without a metrics side channel."""

    __tablename__ = "job_duration_buckets"

    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    le: Mapped[str] = mapped_column(String(16), primary_key=True)  # bucket bound, "+Inf" or "sum"
    value: Mapped[float] = mapped_column(Float, default=0.0)


class PublishedOutput(Base):
    """One object Hookwise keeps on GitHub (a sticky comment, a review, a check run, a draft PR).

    The row is claimed before the object is created, so two jobs never both create it; `github_id`
    is stored right after. A row claimed but without an id means an attempt died in between: the
    next one looks for the object on GitHub (by its hidden marker) before creating another.
    """

    __tablename__ = "published_outputs"

    repository: Mapped[str] = mapped_column(String(256), primary_key=True)
    target: Mapped[str] = mapped_column(String(256), primary_key=True)  # "#12", a sha, a branch
    automation: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot: Mapped[str] = mapped_column(String(512), primary_key=True)  # "comment", "review:<sha>"
    github_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
