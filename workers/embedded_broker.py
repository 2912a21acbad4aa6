"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, tuned for two processes.

kombu hands every transport option to `create_engine`, so options the virtual transport itself
reads (`polling_interval`) cannot be passed the usual way; this subclass sets them on the class and
gives the SQLite file WAL mode and a busy timeout, so the web process can publish while the worker
polls.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy import create_engine, event

ALIAS = "hookwise-sqlite"


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Channel(kombu_sqla.Channel):
    def _engine_from_config(self) -> Any:
        engine = create_engine(
            self.connection.client.hostname,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        event.listen(engine, "connect", _pragmas)
        return engine


class Transport(kombu_sqla.Transport):
    Channel = Channel
    polling_interval = 0.1


def register() -> None:
    """Make `hookwise-sqlite+sqlite:///FILE` broker URLs resolve to this transport."""
    TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")
