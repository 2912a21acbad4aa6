"""Real processes: the service under uvicorn and Celery workers, talking over loopback."""

from __future__ import annotations

import http.server
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from service.store.db import create_db_engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill_tree(self) -> None:
        """SIGKILL the process and its children (a prefork worker's pool), as an OOM kill would."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Stack:
    env: dict[str, str]
    tmp: Path
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        log = self.tmp / f"{name}-{len(self.processes)}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", "service", *args],
            env={**self.env, **(env or {})},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def serve(self, *, port: int, env: dict[str, str] | None = None, embedded: bool = False) -> str:
        flag = "--embedded-worker" if embedded else "--no-embedded-worker"
        process = self.start("web", "serve", "--port", str(port), flag, env=env)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if process.popen.poll() is not None:
                pytest.fail(f"web exited:\n{process.output()}")
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=30, what="the web service")
        return url

    def worker(self, *args: str) -> Process:
        process = self.start("worker", "worker", *args)
        wait_until(
            lambda: "ready" in process.output() or process.popen.poll() is not None,
            timeout=30,
            what="the worker",
        )
        if process.popen.poll() is not None:
            pytest.fail(f"worker exited:\n{process.output()}")
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Stack]]:
    stacks: list[Stack] = []

    def factory(env: dict[str, str]) -> Stack:
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOOKWISE_")}
        stack = Stack(env={**base, **env}, tmp=tmp_path)
        stacks.append(stack)
        return stack

    yield factory
    for stack in stacks:
        stack.close()


@dataclass
class SlowReceiver:
    """A notify endpoint on loopback; it can hold a request open to catch a job mid-flight."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    hold_first: float = 0.0
    arrived: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def slow_receiver() -> Iterator[SlowReceiver]:
    state = SlowReceiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"body": body, "key": self.headers.get("Idempotency-Key")})
            state.arrived.set()
            if len(state.requests) == 1 and state.hold_first:
                # Hold the request while the test kills the worker; stop early if it hangs up.
                select.select([self.connection], [], [], state.hold_first)
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def pg_engine(pg_database_url: str) -> Iterator[Engine]:
    """The session's PostgreSQL database, emptied for this test."""
    engine = create_db_engine(pg_database_url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE attempts, jobs, deliveries, group_locks CASCADE"))
    yield engine
    engine.dispose()
