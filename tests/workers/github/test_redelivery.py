"""Deliveries GitHub failed to send while Hookwise was down are asked for again, once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, select

from service.app import create_app
from service.github_sim.testing import SimHandle, free_port
from service.store.models import Delivery
from tests.service.conftest import SECRET, make_config, make_settings
from tests.workers.github.conftest import app_settings
from workers.celery_app import create_celery
from workers.github.redelivery import missed_deliveries
from workers.tasks import RuntimeHolder, redeliver_now

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
def start_service(tmp_path: Path, database_url: str, service_port: int) -> Iterator[Any]:
    """`start_service()` runs the real intake on `service_port`; it returns a `stop()`."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def stop(server: uvicorn.Server, thread: threading.Thread) -> None:
        server.should_exit = True
        thread.join(10)

    def start() -> Callable[[], None]:
        app = create_app(make_settings(tmp_path, database_url), config=make_config())
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=service_port, log_config=None)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        servers.append((server, thread))
        return lambda: stop(server, thread)

    yield start
    for server, thread in servers:
        stop(server, thread)


def app_deliveries(sim: SimHandle, event: str) -> list[dict[str, Any]]:
    return [d for d in sim.admin.deliveries(target="app") if d["event"] == event]


def test_events_missed_while_the_service_was_down_are_redelivered(
    sim: SimHandle,
    tmp_path: Path,
    engine: Engine,
    database_url: str,
    service_port: int,
    start_service: Any,
) -> None:
    sim.admin.set_app_webhook(f"http://127.0.0.1:{service_port}/webhooks/github", secret=SECRET)
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "widgets")
    sim.admin.create_installation("acme")
    stop = start_service()
    sim.admin.open_issue("acme", "widgets", title="Before the outage", author="acme")
    assert sim.admin.wait_for_deliveries(timeout=20)
    [delivered] = app_deliveries(sim, "issues")
    assert 200 <= delivered["status_code"] < 300

    stop()  # the service goes down while things happen on GitHub
    issue = sim.admin.open_issue("acme", "widgets", title="During the outage", author="acme")
    sim.admin.comment("acme", "widgets", issue["number"], body="Same here", author="bob")
    assert sim.admin.wait_for_deliveries(timeout=20)
    missed = [
        d
        for d in app_deliveries(sim, "issues") + app_deliveries(sim, "issue_comment")
        if d["guid"] != delivered["guid"]
    ]
    assert len(missed) == 2
    assert all(not 200 <= d["status_code"] < 300 for d in missed)

    start_service()
    # The reconciler's periodic task, as beat runs it.
    settings = app_settings(sim, tmp_path, database_url=database_url)
    holder = RuntimeHolder(settings, create_celery(settings))
    assert redeliver_now(holder) == 2
    assert sim.admin.wait_for_deliveries(timeout=20)
    redelivered = [d for d in sim.admin.deliveries(target="app") if d["redelivery"]]
    assert sorted(d["guid"] for d in redelivered) == sorted(d["guid"] for d in missed)
    assert all(200 <= d["status_code"] < 300 for d in redelivered)
    with engine.connect() as conn:
        stored = set(conn.execute(select(Delivery.id)).scalars())
    # The same X-GitHub-Delivery as the original attempt, and nothing else.
    assert stored == {delivered["guid"], *(d["guid"] for d in missed)}
    assert redeliver_now(holder) == 0  # asked once; nothing left to ask for
