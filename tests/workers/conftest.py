from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from service.intake import NewDelivery, NewJob, job_id_for, record_delivery
from service.settings import Settings
from tests.conftest import WEBHOOK_EXAMPLES

ISSUE_OPENED = (WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes()


@dataclass
class Receiver:
    """A real HTTP endpoint on loopback that records what it is sent."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    delays: list[float] = field(default_factory=list)  # seconds to wait before each answer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            status = state.statuses.pop(0) if state.statuses else 200
            delay = state.delays.pop(0) if state.delays else 0.0
            if delay:
                time.sleep(delay)  # the client may have given up by now
            if status == 200:
                state.received.append(body)
                state.headers.append(dict(self.headers))
            try:
                self.send_response(status)
                self.end_headers()
            except OSError:
                pass  # the client hung up (timed out)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def add_job(
    engine: Engine,
    *,
    delivery_id: str = "d-1",
    automation: str = "announce",
    agent: str = "notify",
    options: dict[str, Any] | None = None,
    pending: dict[str, Any] | None = None,
    group: str | None = None,
    cancel_in_progress: bool = False,
    max_attempts: int = 3,
    payload: bytes = ISSUE_OPENED,
    event: str = "issues",
    action: str = "opened",
) -> str:
    job = NewJob(
        id=job_id_for(delivery_id=delivery_id, automation=automation),
        automation=automation,
        agent=agent,
        options=options or {"url": "http://127.0.0.1:9/"},
        pending=pending or {},
        concurrency_group=group,
        cancel_in_progress=cancel_in_progress,
    )
    delivery = NewDelivery(id=delivery_id, event=event, action=action, payload=payload, jobs=(job,))
    with engine.begin() as conn:
        record_delivery(conn, delivery, max_attempts=max_attempts)
    return job.id


@pytest.fixture
def worker_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        webhook_secret="s",
        database_url=database_url,
        data_dir=tmp_path / "var",
        job_lease_seconds=2.0,
        job_requeue_after_seconds=1.0,
    )
