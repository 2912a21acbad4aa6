"""Fixtures shared by the whole suite.

Shared reference material (real webhook payloads, GitHub's schemas, datasets) lives in `../shared`
next to the repository; tests read it but the project never depends on it at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
WEBHOOK_EXAMPLES = (
    SHARED_DIR / "fixtures" / "github-webhooks" / "payload-examples" / "api.github.com"
)
WEBHOOK_SCHEMAS = SHARED_DIR / "fixtures" / "github-webhooks" / "payload-schemas" / "api.github.com"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"shared reference material not found at {SHARED_DIR}")
    return SHARED_DIR


# --- real services -------------------------------------------------------------------------------
# PostgreSQL and Redis on this machine are required; a missing one fails the run loudly rather than
# skipping, so CI can never pass by silently testing less.

import contextlib  # noqa: E402
import os  # noqa: E402
import secrets as _secrets  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import psycopg  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

PG_ADMIN_DSN = os.environ.get("HOOKWISE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST_URL = os.environ.get("HOOKWISE_TEST_REDIS", "redis://127.0.0.1:6379")


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_DSN}: {exc}")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head, dropped at the end."""
    from service.store.db import create_db_engine, upgrade

    name = f"hookwise_test_{_secrets.token_hex(4)}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(engine: Engine) -> None:
    from service.store.models import Base

    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or the session's PostgreSQL database."""
    from service.store.db import create_db_engine, upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hookwise.sqlite'}"
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("pg_database_url")
    engine = create_db_engine(url)
    _truncate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    from service.store.db import create_db_engine

    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


# Redis has 16 numbered databases and no namespaces: each test session (and a module that needs
# a second one) claims a free database number with a key in database 0, so concurrent runs on one
# machine never flush each other's queues.
REDIS_CLAIM_TTL_S = 3 * 3600


@contextlib.contextmanager
def claimed_redis_db() -> Iterator[str]:
    """The URL of a Redis database no other test run holds, flushed before and after."""
    admin = redis.Redis.from_url(f"{REDIS_HOST_URL}/0", socket_timeout=5)
    try:
        admin.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required at {REDIS_HOST_URL}: {exc}")
    token = _secrets.token_hex(8)
    for db in _secrets.SystemRandom().sample(range(1, 16), 15):
        key = f"hookwise-tests:db:{db}"
        if admin.set(key, token, nx=True, ex=REDIS_CLAIM_TTL_S):
            break
    else:
        pytest.fail("every Redis database 1-15 is claimed by another test run")
    url = f"{REDIS_HOST_URL}/{db}"
    scoped = redis.Redis.from_url(url, socket_timeout=5)
    scoped.flushdb()
    try:
        yield url
    finally:
        scoped.flushdb()
        scoped.close()
        if admin.get(key) == token.encode():
            admin.delete(key)
        admin.close()


@pytest.fixture(scope="session")
def redis_broker_url() -> Iterator[str]:
    """A Redis database of its own for this session."""
    with claimed_redis_db() as url:
        yield url
