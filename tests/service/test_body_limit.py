"""The 25 MiB cap, over a real socket: the answer comes while the client is still sending.

A TestClient hands the app the whole body at once, so it cannot show that the intake stops
reading; here the request is written by hand to a uvicorn server and left unfinished. If the
intake buffered the body before checking its size, it would wait for the rest and never answer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from service.app import create_app
from service.store.db import create_db_engine, upgrade
from tests.service.conftest import make_config, make_settings

LIMIT = 10_000
ANSWER_WITHIN_S = 10.0


@dataclass(frozen=True)
class Server:
    port: int


def _serve(tmp_path: Path, **overrides: object) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'hookwise.sqlite'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(make_settings(tmp_path, url, **overrides), config=make_config())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    yield Server(port=server.servers[0].sockets[0].getsockname()[1])
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[Server]:
    yield from _serve(tmp_path, max_body_bytes=LIMIT)


@pytest.fixture
def default_limit(tmp_path: Path) -> Iterator[Server]:
    yield from _serve(tmp_path)


def _head(port: int, extra: str) -> bytes:
    return (
        "POST /webhooks/github HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        "X-GitHub-Event: issues\r\n"
        "X-GitHub-Delivery: too-large\r\n"
        "X-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n"
        f"{extra}\r\n"
    ).encode()


def _status_line(sock: socket.socket) -> str:
    """The response's status line, read without sending anything more."""
    sock.settimeout(ANSWER_WITHIN_S)
    received = b""
    while b"\r\n" not in received:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            pytest.fail(f"no answer within {ANSWER_WITHIN_S}s: the intake waits for the whole body")
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n", 1)[0].decode()


def test_a_chunked_body_is_refused_once_it_passes_the_limit(small_limit: Server) -> None:
    with socket.create_connection(("127.0.0.1", small_limit.port)) as sock:
        sock.sendall(_head(small_limit.port, "Transfer-Encoding: chunked\r\n"))
        chunk = b" " * 1000
        for _ in range(LIMIT // len(chunk) + 2):  # just past the limit; the body never ends
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        assert _status_line(sock).startswith("HTTP/1.1 413 ")


def test_a_declared_length_over_25_mib_is_refused_before_any_body(
    default_limit: Server,
) -> None:
    with socket.create_connection(("127.0.0.1", default_limit.port)) as sock:
        sock.sendall(_head(default_limit.port, f"Content-Length: {25 * 1024 * 1024 + 1}\r\n"))
        assert _status_line(sock).startswith("HTTP/1.1 413 ")


def test_a_body_at_the_limit_is_read_in_full(small_limit: Server) -> None:
    # The same server answers a body of exactly LIMIT bytes (here: 401, the signature is wrong),
    # so the refusals above are about size, not about the hand-written request.
    body = b"{" + b" " * (LIMIT - 2) + b"}"
    with socket.create_connection(("127.0.0.1", small_limit.port)) as sock:
        sock.sendall(_head(small_limit.port, f"Content-Length: {len(body)}\r\n") + body)
        assert _status_line(sock).startswith("HTTP/1.1 401 ")
