"""End to end over real processes: uvicorn web, Celery workers, Redis, PostgreSQL and SQLite."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, update

from service.settings import Settings
from service.signatures import sign
from service.store.models import Job
from tests.conftest import WEBHOOK_EXAMPLES
from tests.e2e.conftest import SlowReceiver, Stack, free_port, wait_until
from tests.workers.conftest import add_job
from workers.celery_app import RUN_JOB, create_celery

pytestmark = pytest.mark.slow

SECRET = "e2e-secret"
TOKEN = "e2e-token"
ISSUE_OPENED = (WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes()


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "hookwise.yml"
    path.write_text(
        "version: 1\nautomations:\n"
        "  - name: announce\n"
        "    on: {issues: {types: [opened]}}\n"
        "    agent: notify\n"
        f'    with: {{url: "{url}", retries: 0}}\n'
    )
    return path


def env_for(
    tmp_path: Path, *, database_url: str, broker_url: str | None, config: Path
) -> dict[str, str]:
    env = {
        "HOOKWISE_DATABASE_URL": database_url,
        "HOOKWISE_WEBHOOK_SECRET": SECRET,
        "HOOKWISE_API_TOKEN": TOKEN,
        "HOOKWISE_CONFIG": str(config),
        "HOOKWISE_DATA_DIR": str(tmp_path / "var"),
        "HOOKWISE_JOB_LEASE_SECONDS": "2",
        "HOOKWISE_JOB_REQUEUE_AFTER_SECONDS": "2",
        "HOOKWISE_RECONCILE_INTERVAL_SECONDS": "1",
        "HOOKWISE_BROKER_TIMEOUT_SECONDS": "1",
    }
    if broker_url:
        env["HOOKWISE_BROKER_URL"] = broker_url
    return env


def start_web(
    stack_factory: Callable[[dict[str, str]], Stack],
    tmp_path: Path,
    receiver: SlowReceiver,
    *,
    database_url: str,
    broker: str,
) -> tuple[Stack, str]:
    """A web process on PostgreSQL and the given broker, notifying `receiver`."""
    config = write_config(tmp_path, receiver.url)
    stack = stack_factory(
        env_for(tmp_path, database_url=database_url, broker_url=broker, config=config)
    )
    return stack, stack.serve(port=free_port())


def deliver(url: str, *, delivery: str | None = None) -> dict[str, Any]:
    delivery = delivery or str(uuid.uuid4())
    response = httpx.post(
        f"{url}/webhooks/github",
        content=ISSUE_OPENED,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(ISSUE_OPENED, SECRET),
        },
        timeout=5,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def job_of(url: str, job_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{url}/api/jobs/{job_id}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def wait_for_state(url: str, job_id: str, state: str, *, timeout: float = 30) -> dict[str, Any]:
    wait_until(lambda: job_of(url, job_id)["state"] == state, timeout=timeout, what=f"job {state}")
    return job_of(url, job_id)


@pytest.fixture
def web(
    stack_factory: Callable[[dict[str, str]], Stack],
    tmp_path: Path,
    pg_database_url: str,
    pg_engine: Engine,
    redis_broker_url: str,
    slow_receiver: SlowReceiver,
) -> tuple[Stack, str]:
    """The web service on an emptied PostgreSQL and Redis, notifying `slow_receiver`; no worker."""
    return start_web(
        stack_factory,
        tmp_path,
        slow_receiver,
        database_url=pg_database_url,
        broker=redis_broker_url,
    )


def json_lines(output: str) -> list[dict[str, Any]]:
    """The JSON log lines of a process (Celery's start banner is plain text)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_signed_delivery_runs_notify_once(
    web: tuple[Stack, str], slow_receiver: SlowReceiver
) -> None:
    stack, url = web
    worker = stack.worker("--concurrency", "2", "--beat")
    accepted = deliver(url)
    job_id = accepted["jobs"][0]["id"]
    job = wait_for_state(url, job_id, "succeeded")
    assert job["attempts"] == 1
    assert [r["key"] for r in slow_receiver.requests] == [job_id]
    assert slow_receiver.requests[0]["body"]["repository"] == "Codertocat/Hello-World"

    # A forged delivery is refused and logged; its signature must not show up in any log.
    forged = "sha256=" + "5e" * 32
    refused = httpx.post(
        f"{url}/webhooks/github",
        content=ISSUE_OPENED,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": forged,
        },
        timeout=5,
    )
    assert refused.status_code == 401
    finished = [line for line in json_lines(worker.output()) if line["event"] == "job finished"]
    assert [(line["job_id"], line["delivery_id"]) for line in finished] == [
        (job_id, accepted["delivery_id"])
    ]
    web_lines = json_lines(stack.processes[0].output())
    assert {"webhook rejected", "bad_signature"} <= {
        str(v) for line in web_lines for v in line.values()
    }
    for process in stack.processes:
        output = process.output()
        assert json_lines(output), f"{process.name} wrote no JSON log lines"
        for secret in (SECRET, TOKEN, forged, sign(ISSUE_OPENED, SECRET), slow_receiver.url):
            assert secret not in output, f"{process.name} logged {secret!r}"


def test_worker_killed_mid_job_finishes_exactly_once_after_restart(
    web: tuple[Stack, str], slow_receiver: SlowReceiver
) -> None:
    slow_receiver.hold_first = 30
    stack, url = web
    worker = stack.worker("--concurrency", "1", "--beat")
    job_id = deliver(url)["jobs"][0]["id"]
    assert slow_receiver.arrived.wait(20), worker.output()
    assert job_of(url, job_id)["state"] == "running"
    worker.kill_tree()

    stack.worker("--concurrency", "1", "--beat")
    job = wait_for_state(url, job_id, "succeeded", timeout=40)
    assert job["attempts"] == 2
    outcomes = [a["outcome"] for a in job["attempt_history"]]
    assert outcomes == [None, "succeeded"]  # the killed attempt never finished
    # Every POST carried the job id as idempotency key, so the receiver can drop the repeat.
    assert {r["key"] for r in slow_receiver.requests} == {job_id}
    time.sleep(3)  # a late duplicate message, if any, must not run it again
    assert job_of(url, job_id)["attempts"] == 2


def test_same_message_delivered_twice_runs_the_agent_once(
    web: tuple[Stack, str],
    slow_receiver: SlowReceiver,
    pg_database_url: str,
    redis_broker_url: str,
) -> None:
    stack, url = web
    job_id = deliver(url)["jobs"][0]["id"]  # no worker yet: the message waits in Redis
    celery = create_celery(Settings(broker_url=redis_broker_url, database_url=pg_database_url))
    for _ in range(2):
        celery.send_task(RUN_JOB, kwargs={"job_id": job_id})
    stack.worker("--concurrency", "3")
    job = wait_for_state(url, job_id, "succeeded")
    time.sleep(2)
    assert job["attempts"] == 1
    assert len(slow_receiver.requests) == 1


def test_worker_start_reconciles_a_job_whose_message_was_lost(
    web: tuple[Stack, str], slow_receiver: SlowReceiver, pg_engine: Engine
) -> None:
    stack, url = web
    # A job committed with no message on the broker (as if the publish after the commit was lost
    # with the web process), and no beat: only the worker's reconcile at start can find it.
    job_id = add_job(pg_engine, delivery_id="lost-message", options={"url": slow_receiver.url})
    with pg_engine.begin() as conn:
        conn.execute(update(Job).values(enqueued_at=None, enqueue_count=0))
    stack.worker("--concurrency", "1")
    assert wait_for_state(url, job_id, "succeeded")["attempts"] == 1
    assert [r["key"] for r in slow_receiver.requests] == [job_id]


class TcpProxy:
    """A broker address we can take down and bring back: forwards to Redis while up."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def up(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        if self._server:
            self._server.close()
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()


def test_broker_outage_loses_nothing(
    stack_factory: Callable[[dict[str, str]], Stack],
    tmp_path: Path,
    pg_database_url: str,
    pg_engine: Engine,
    redis_broker_url: str,
    slow_receiver: SlowReceiver,
) -> None:
    parts = urlsplit(redis_broker_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    proxied = f"redis://127.0.0.1:{proxy.port}{parts.path}"
    stack, url = start_web(
        stack_factory, tmp_path, slow_receiver, database_url=pg_database_url, broker=proxied
    )
    try:
        started = time.perf_counter()
        during = [deliver(url)["jobs"][0]["id"] for _ in range(3)]
        assert time.perf_counter() - started < 3
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 503
        proxy.up()
        stack.worker("--concurrency", "2", "--beat")
        after = deliver(url)["jobs"][0]["id"]
        for job_id in [*during, after]:
            assert wait_for_state(url, job_id, "succeeded", timeout=40)["attempts"] == 1
        assert sorted(r["key"] for r in slow_receiver.requests) == sorted([*during, after])
    finally:
        proxy.down()


def test_serve_on_embedded_defaults_runs_jobs_without_redis(
    stack_factory: Callable[[dict[str, str]], Stack],
    tmp_path: Path,
    slow_receiver: SlowReceiver,
) -> None:
    """The README's first command: SQLite, no broker configured, an embedded worker."""
    config = write_config(tmp_path, slow_receiver.url)
    stack = stack_factory(
        {
            "HOOKWISE_CONFIG": str(config),
            "HOOKWISE_WEBHOOK_SECRET": SECRET,
            "HOOKWISE_API_TOKEN": TOKEN,
        }
    )
    url = stack.serve(port=free_port(), embedded=True)
    job_id = deliver(url)["jobs"][0]["id"]
    assert wait_for_state(url, job_id, "succeeded", timeout=40)["attempts"] == 1
    assert (tmp_path / "var" / "hookwise.sqlite").exists()
    assert (tmp_path / "var" / "broker.sqlite").exists()


def test_a_burst_fans_out_and_every_job_runs_once(
    web: tuple[Stack, str], slow_receiver: SlowReceiver
) -> None:
    stack, url = web
    stack.worker("--concurrency", "2")
    with ThreadPoolExecutor(max_workers=12) as pool:
        accepted = list(pool.map(lambda _: deliver(url), range(24)))
    job_ids = [body["jobs"][0]["id"] for body in accepted]
    for job_id in job_ids:
        assert wait_for_state(url, job_id, "succeeded", timeout=60)["attempts"] == 1
    assert sorted(r["key"] for r in slow_receiver.requests) == sorted(job_ids)
