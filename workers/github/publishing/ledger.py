"""The database side of publishing exactly once.

`Ledger` remembers what Hookwise created on GitHub (`published_outputs`) and serialises creation:
a job first claims the row (one `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, atomic on
SQLite and PostgreSQL), then looks for the object on GitHub (an earlier attempt may have created it
and died before storing the id), creates it only if it is not there, and stores its id. Two
concurrent "list, none found, create" sequences would double-post; the claim makes them take turns.

`InstallationWriteLock` serialises every write to one installation across worker processes, as
GitHub asks integrators to do against secondary rate limits. It lives in the database
(`group_locks`), so it also works in the embedded SQLite mode without Redis.

Claims and locks are held by a job id: the job's own lease already guarantees that only one attempt
of a job runs at a time, so a retry of a job that died mid-publish takes them over at once, while
other jobs wait for them to expire.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import structlog
from sqlalchemy import ColumnElement, Engine, and_, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from service.store.db import insert_for, utcnow
from service.store.models import GroupLock, PublishedOutput
from workers.agents.base import TransientError

log = structlog.get_logger(__name__)

CLAIM_SECONDS = 60.0
LOCK_SECONDS = 30.0
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class OutputKey:
    repository: str
    target: str
    """`#12` for an issue or pull request, a commit sha, or `branch:NAME`."""
    automation: str
    slot: str
    """What kind of object: `comment`, `comment:<job>:<n>`, `review:<sha>`, `check-run:<name>`."""

    def where(self) -> ColumnElement[bool]:
        return and_(
            PublishedOutput.repository == self.repository,
            PublishedOutput.target == self.target,
            PublishedOutput.automation == self.automation,
            PublishedOutput.slot == self.slot,
        )


@dataclass(frozen=True, slots=True)
class Ensured:
    github_id: int
    created: bool
    """True when this call created the object; False when it already existed."""


class Ledger:
    def __init__(
        self,
        engine: Engine,
        *,
        claim_seconds: float = CLAIM_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._claim_seconds = claim_seconds
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds

    def stored_id(self, key: OutputKey) -> int | None:
        with self._engine.connect() as conn:
            return conn.execute(select(PublishedOutput.github_id).where(key.where())).scalar()

    def forget(self, key: OutputKey, *, github_id: int) -> None:
        """The stored object is gone (deleted on GitHub, or a PR was closed): create anew."""
        with self._engine.begin() as conn:
            conn.execute(
                update(PublishedOutput)
                .where(key.where(), PublishedOutput.github_id == github_id)
                .values(github_id=None, claimed_by=None, claimed_until=None, updated_at=utcnow())
            )

    def try_claim(self, key: OutputKey, *, holder: str) -> bool:
        """Become the one allowed to create `key`: no id stored yet, and no live claim but ours."""
        now = utcnow()
        until = now + dt.timedelta(seconds=self._claim_seconds)
        with self._engine.begin() as conn:
            stmt = insert_for(conn.dialect.name, PublishedOutput).values(
                repository=key.repository,
                target=key.target,
                automation=key.automation,
                slot=key.slot,
                claimed_by=holder,
                claimed_until=until,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["repository", "target", "automation", "slot"],
                set_={"claimed_by": holder, "claimed_until": until, "updated_at": now},
                where=and_(
                    PublishedOutput.github_id.is_(None),
                    or_(
                        PublishedOutput.claimed_until.is_(None),
                        PublishedOutput.claimed_until < now,
                        PublishedOutput.claimed_by == holder,
                    ),
                ),
            ).returning(PublishedOutput.claimed_by)
            return conn.execute(stmt).first() is not None

    def record(self, key: OutputKey, *, holder: str, github_id: int) -> None:
        with self._engine.begin() as conn:
            stored = conn.execute(
                update(PublishedOutput)
                .where(key.where(), PublishedOutput.claimed_by == holder)
                .values(
                    github_id=github_id, claimed_by=None, claimed_until=None, updated_at=utcnow()
                )
            ).rowcount
        if not stored:
            # Our claim expired and another job took it over; it searches GitHub before creating,
            # so it finds what we made unless it searched before our create landed.
            log.warning("output claim lost before its id was stored", key=key, github_id=github_id)

    def release(self, key: OutputKey, *, holder: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(PublishedOutput)
                .where(
                    key.where(),
                    PublishedOutput.claimed_by == holder,
                    PublishedOutput.github_id.is_(None),
                )
                .values(claimed_by=None, claimed_until=None, updated_at=utcnow())
            )

    def ensure(
        self,
        key: OutputKey,
        *,
        holder: str,
        find: Callable[[], int | None],
        create: Callable[[], int],
    ) -> Ensured:
        """The id of the object for `key`: the stored one, else one found on GitHub, else created.

        Raises `TransientError` when another job keeps the claim for longer than the wait.
        """
        deadline = time.monotonic() + self._wait_seconds
        while True:
            existing = self.stored_id(key)
            if existing is not None:
                return Ensured(github_id=existing, created=False)
            if self.try_claim(key, holder=holder):
                break
            if time.monotonic() > deadline:
                raise TransientError(
                    f"another job is still creating {key.slot} on {key.repository}{key.target}",
                    retry_after=self._claim_seconds,
                )
            time.sleep(self._poll_seconds)
        try:
            found = find()
            github_id = found if found is not None else create()
        except BaseException:
            self.release(key, holder=holder)
            raise
        self.record(key, holder=holder, github_id=github_id)
        return Ensured(github_id=github_id, created=found is None)


class InstallationWriteLock:
    """Held while a job writes to one installation; renewed in the background while held."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str,
        holder: str,
        lease_seconds: float = LOCK_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._name = name
        self._holder = holder
        self._lease_seconds = lease_seconds
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _try_take(self) -> bool:
        now = utcnow()
        expires = now + dt.timedelta(seconds=self._lease_seconds)
        with self._engine.begin() as conn:
            stmt = insert_for(conn.dialect.name, GroupLock).values(
                name=self._name, job_id=self._holder, expires_at=expires
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={"job_id": self._holder, "expires_at": expires},
                where=or_(GroupLock.expires_at < now, GroupLock.job_id == self._holder),
            ).returning(GroupLock.job_id)
            return conn.execute(stmt).first() is not None

    def _renew(self) -> None:
        interval = max(self._lease_seconds / 3, 0.05)
        while not self._stop.wait(interval):
            expires = utcnow() + dt.timedelta(seconds=self._lease_seconds)
            try:
                with self._engine.begin() as conn:
                    conn.execute(
                        update(GroupLock)
                        .where(GroupLock.name == self._name, GroupLock.job_id == self._holder)
                        .values(expires_at=expires)
                    )
            except SQLAlchemyError as exc:
                # The claims still prevent double posts if the lease lapses meanwhile.
                log.warning("write lock renewal failed", lock=self._name, error=str(exc))

    def __enter__(self) -> InstallationWriteLock:
        deadline = time.monotonic() + self._wait_seconds
        while not self._try_take():
            if time.monotonic() > deadline:
                raise TransientError(
                    f"another job is writing to GitHub ({self._name})",
                    retry_after=self._lease_seconds,
                )
            time.sleep(self._poll_seconds)
        self._renewer = threading.Thread(target=self._renew, name=f"lock-{self._name}", daemon=True)
        self._renewer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        with self._engine.begin() as conn:
            conn.execute(
                delete(GroupLock).where(
                    GroupLock.name == self._name, GroupLock.job_id == self._holder
                )
            )
