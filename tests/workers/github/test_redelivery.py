"""Deliveries GitHub failed to send while Hookwise was down are asked for again, once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, select

from service.app import create_app
from service.github_sim.testing import SimHandle, free_port
from service.store.models import Delivery
from tests.service.conftest import SECRET, make_config, make_settings
from tests.workers.github.conftest import app_settings
from workers.github.auth import MemoryTokenCache
from workers.github.client import GitHubFactory
from workers.github.redelivery import missed_deliveries, redeliver_missed

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def item(
    guid: str, status: int, *, hours_ago: float, redelivery: bool = False
) -> dict[str, object]:
    at = NOW - dt.timedelta(hours=hours_ago)
    return {
        "id": hash((guid, hours_ago)) & 0xFFFFFF,
        "guid": guid,
        "status_code": status,
        "redelivery": redelivery,
        "delivered_at": at.isoformat().replace("+00:00", "Z"),
    }


def test_only_unrecorded_failures_inside_the_window_are_missed() -> None:
    items = [
        item("ok", 202, hours_ago=1),
        item("failed-then-ok", 502, hours_ago=3),
        item("failed-then-ok", 202, hours_ago=2, redelivery=True),
        item("failed", 0, hours_ago=5),  # connection refused: GitHub records status 0
        item("failed", 503, hours_ago=4),
        item("failed-known", 500, hours_ago=1),
        item("asked-already", 500, hours_ago=6),
        item("asked-already", 500, hours_ago=5, redelivery=True),
        item("too-old", 500, hours_ago=80),
    ]
    since = NOW - dt.timedelta(days=3)
    missed = missed_deliveries(
        items, recorded=lambda guids: {"failed-known"} & set(guids), since=since
    )
    assert [(m["guid"], m["status_code"]) for m in missed] == [("failed", 503)]


@pytest.fixture
def service_port() -> int:
    return free_port()


@pytest.fixture
def start_service(tmp_path: Path, database_url: str, service_port: int) -> Iterator[object]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start() -> None:
        app = create_app(make_settings(tmp_path, database_url), config=make_config())
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=service_port, log_config=None)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        servers.append((server, thread))

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def recorded_in(engine: Engine) -> object:
    def recorded(guids: Collection[str]) -> set[str]:
        with engine.connect() as conn:
            rows = conn.execute(select(Delivery.id).where(Delivery.id.in_(list(guids))))
            return set(rows.scalars())

    return recorded


def test_events_missed_while_the_service_was_down_are_redelivered(
    sim: SimHandle,
    tmp_path: Path,
    engine: Engine,
    service_port: int,
    start_service: object,
) -> None:
    sim.admin.set_app_webhook(f"http://127.0.0.1:{service_port}/webhooks/github", secret=SECRET)
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "widgets")
    sim.admin.create_installation("acme")
    sim.admin.open_issue("acme", "widgets", title="Crash on start", author="acme")
    assert sim.admin.wait_for_deliveries(timeout=20)
    failed = [d for d in sim.admin.deliveries(target="app") if d["event"] == "issues"]
    assert failed
    assert all(not 200 <= d["status_code"] < 300 for d in failed)

    start_service()  # type: ignore[operator]
    factory = GitHubFactory(app_settings(sim, tmp_path), token_cache=MemoryTokenCache())
    report = redeliver_missed(factory, recorded=recorded_in(engine))  # type: ignore[arg-type]
    guids = {d["guid"] for d in failed}
    assert guids <= set(report.requested)
    assert sim.admin.wait_for_deliveries(timeout=20)
    with engine.connect() as conn:
        stored = set(conn.execute(select(Delivery.id)).scalars())
    assert guids <= stored  # the same X-GitHub-Delivery as the original attempt

    again = redeliver_missed(factory, recorded=recorded_in(engine))  # type: ignore[arg-type]
    assert again.requested == ()
