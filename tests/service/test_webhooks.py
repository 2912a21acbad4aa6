from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.app import create_app
from service.signatures import sign
from service.store.models import Delivery, Job
from tests.conftest import WEBHOOK_EXAMPLES
from tests.service.conftest import (
    SECRET,
    make_config,
    make_settings,
    post_signed,
    signed_headers,
)

ISSUE_OPENED = (WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes()


def count(engine: Engine, model: type[Delivery] | type[Job]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_accepted_delivery_is_committed_with_its_jobs(client: TestClient, engine: Engine) -> None:
    response = post_signed(client, ISSUE_OPENED, event="issues", delivery="d-1")
    assert response.status_code == 202
    body = response.json()
    assert body["delivery_id"] == "d-1"
    assert body["event"] == "issues"
    assert body["action"] == "opened"
    assert body["duplicate"] is False
    assert [(j["automation"], j["agent"], j["state"]) for j in body["jobs"]] == [
        ("announce-issues", "notify", "queued")
    ]
    assert len(body["jobs"][0]["id"]) == 32
    with engine.connect() as conn:
        table = Delivery.__table__
        delivery = conn.execute(select(table).where(table.c.id == "d-1")).one()
        job = conn.execute(select(Job)).one()
    assert delivery.repository == "Codertocat/Hello-World"
    assert delivery.sender == "Codertocat"
    assert delivery.state == "dispatched"
    assert json.loads(delivery.payload)["action"] == "opened"
    assert job.id == body["jobs"][0]["id"]
    assert job.options == {"url": "http://127.0.0.1:9/hook", "timeout": 10.0, "retries": 3}


def test_repeated_delivery_id_creates_nothing(client: TestClient, engine: Engine) -> None:
    first = post_signed(client, ISSUE_OPENED, event="issues", delivery="same")
    second = post_signed(client, ISSUE_OPENED, event="issues", delivery="same")
    assert first.status_code == second.status_code == 202
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert second.json()["jobs"] == first.json()["jobs"]
    assert count(engine, Delivery) == 1
    assert count(engine, Job) == 1


def test_job_ids_are_deterministic_per_delivery_and_automation(client: TestClient) -> None:
    a = post_signed(client, ISSUE_OPENED, event="issues", delivery="a").json()["jobs"][0]["id"]
    b = post_signed(client, ISSUE_OPENED, event="issues", delivery="b").json()["jobs"][0]["id"]
    assert a != b
    from service.intake import job_id_for

    assert a == job_id_for(delivery_id="a", automation="announce-issues")


def test_unmatched_event_is_recorded_and_ignored(client: TestClient, engine: Engine) -> None:
    body = (WEBHOOK_EXAMPLES / "star" / "created.payload.json").read_bytes()
    response = post_signed(client, body, event="star")
    assert response.status_code == 202
    assert response.json()["jobs"] == []
    assert count(engine, Delivery) == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_signature"),
        ({"X-Hub-Signature-256": sign(ISSUE_OPENED, "wrong")}, "bad_signature"),
        ({"X-Hub-Signature-256": "sha256=nothex"}, "bad_signature"),
    ],
)
def test_missing_or_wrong_signature_is_401(
    client: TestClient, engine: Engine, headers: dict[str, str], reason: str
) -> None:
    base = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "x",
    }
    response = client.post("/webhooks/github", content=ISSUE_OPENED, headers={**base, **headers})
    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert count(engine, Delivery) == 0


def test_a_rejection_is_logged_with_the_claimed_delivery_id_and_no_signature(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    import structlog

    from service.logs import configure_logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(level="INFO", json=True)
    try:
        response = client.post(
            "/webhooks/github",
            content=ISSUE_OPENED,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": "claimed-1",
                "X-Hub-Signature-256": "sha256=" + "0" * 64,
            },
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
    assert response.status_code == 401
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"event"' in line]
    [rejected] = [line for line in lines if line["event"] == "webhook rejected"]
    assert rejected["claimed_delivery_id"] == "claimed-1"
    assert rejected["reason"] == "bad_signature"
    assert "0" * 64 not in json.dumps(lines)


def test_every_rotated_secret_is_accepted(client_factory: Callable[..., TestClient]) -> None:
    client = client_factory(webhook_secret="new-secret, " + SECRET)
    old = client.post(
        "/webhooks/github",
        content=ISSUE_OPENED,
        headers=signed_headers(ISSUE_OPENED, event="issues"),
    )
    new = client.post(
        "/webhooks/github",
        content=ISSUE_OPENED,
        headers=signed_headers(ISSUE_OPENED, event="issues", secret="new-secret"),
    )
    assert old.status_code == new.status_code == 202


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_github_headers_are_400(client: TestClient, missing: str) -> None:
    headers = signed_headers(ISSUE_OPENED, event="issues")
    del headers[missing]
    response = client.post("/webhooks/github", content=ISSUE_OPENED, headers=headers)
    assert response.status_code == 400
    assert missing in response.json()["message"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_malformed_json_is_400(client: TestClient, engine: Engine, body: bytes) -> None:
    response = post_signed(client, body, event="issues")
    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert count(engine, Delivery) == 0


def test_declared_oversized_body_is_413_before_reading(
    client_factory: Callable[..., TestClient], engine: Engine
) -> None:
    client = client_factory(max_body_bytes=1000)
    body = b"{" + b" " * 2000 + b"}"
    response = client.post(
        "/webhooks/github", content=body, headers=signed_headers(body, event="issues")
    )
    assert response.status_code == 413
    assert count(engine, Delivery) == 0


def test_streamed_oversized_body_is_413_without_buffering_it(
    client_factory: Callable[..., TestClient],
) -> None:
    client = client_factory(max_body_bytes=10_000)
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 1 MB offered, no Content-Length (chunked)
            sent += 1
            yield b" " * 1000

    headers = signed_headers(b"", event="issues")
    response = client.post("/webhooks/github", content=chunks(), headers=headers)
    assert response.status_code == 413


def test_default_limit_is_25_mib(client: TestClient) -> None:
    headers = signed_headers(b"{}", event="issues")
    headers["Content-Length"] = str(25 * 1024 * 1024 + 1)
    response = client.post("/webhooks/github", content=b"{}", headers=headers)
    assert response.status_code == 413


def test_other_content_types_are_415_with_a_fix(client: TestClient) -> None:
    headers = signed_headers(ISSUE_OPENED, event="issues")
    headers["Content-Type"] = "text/plain"
    response = client.post("/webhooks/github", content=ISSUE_OPENED, headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["message"]


def test_form_encoded_delivery_is_accepted(client: TestClient, engine: Engine) -> None:
    form = urllib.parse.urlencode({"payload": ISSUE_OPENED.decode()}).encode()
    headers = signed_headers(form, event="issues")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.post("/webhooks/github", content=form, headers=headers)
    assert response.status_code == 202
    assert len(response.json()["jobs"]) == 1
    with engine.connect() as conn:
        stored = conn.execute(select(Delivery.payload)).scalar_one()
    assert json.loads(stored)["issue"]["number"] == 1


def test_form_with_too_many_fields_is_400_with_a_fix(client: TestClient, engine: Engine) -> None:
    fields = {f"field{n}": "x" for n in range(20)} | {"payload": ISSUE_OPENED.decode()}
    form = urllib.parse.urlencode(fields).encode()
    headers = signed_headers(form, event="issues")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.post("/webhooks/github", content=form, headers=headers)
    assert response.status_code == 400
    assert "application/json" in response.json()["message"]
    with engine.connect() as conn:
        assert conn.execute(select(Delivery.id)).first() is None


def test_ping_is_200(client: TestClient) -> None:
    body = (WEBHOOK_EXAMPLES / "ping" / "payload.json").read_bytes()
    response = post_signed(client, body, event="ping")
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_other_methods_on_the_intake_path_are_405(client: TestClient) -> None:
    # POST is answered before FastAPI's middleware; anything else still goes through FastAPI.
    assert client.get("/webhooks/github").status_code == 405
    assert client.put("/webhooks/github", content=b"{}").status_code == 405


def test_an_unexpected_error_in_the_intake_is_a_500_that_github_retries(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("service.webhooks.new_delivery", broken)
    body = (WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes()
    response = post_signed(client, body, event="issues")
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "message": "delivery not recorded; retry"}


def all_examples() -> list[Path]:
    return sorted(WEBHOOK_EXAMPLES.glob("*/*.json"))


def test_every_real_payload_is_answered_2xx(
    client_factory: Callable[..., TestClient], engine: Engine
) -> None:
    events = sorted({path.parent.name for path in all_examples()})
    config = make_config(
        "version: 1\nautomations:\n"
        "  - name: everything\n"
        f"    on: [{', '.join(events)}]\n"
        "    agent: notify\n"
        '    with: {url: "http://127.0.0.1:9/"}\n'
    )
    client = client_factory(config=config)
    statuses: dict[str, int] = {}
    for path in all_examples():
        body = path.read_bytes()
        response = post_signed(client, body, event=path.parent.name)
        statuses[f"{path.parent.name}/{path.name}"] = response.status_code
    assert len(statuses) == 273
    bad = {name: status for name, status in statuses.items() if not 200 <= status < 300}
    assert bad == {}
    assert count(engine, Delivery) == 273 - sum(
        1 for p in all_examples() if p.parent.name == "ping"
    )
    assert count(engine, Job) > 100


class HungBroker:
    """Accepts TCP connections and never answers: the worst kind of broker outage."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(100)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("outage", ["down", "hung"])
def test_broker_outage_never_delays_the_answer(
    client_factory: Callable[..., TestClient], engine: Engine, outage: str
) -> None:
    hung = HungBroker() if outage == "hung" else None
    port = hung.port if hung else _closed_port()
    try:
        client = client_factory(broker_url=f"redis://127.0.0.1:{port}/0")
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            response = post_signed(client, ISSUE_OPENED, event="issues")
            timings.append(time.perf_counter() - started)
            assert response.status_code == 202
            assert response.json()["jobs"][0]["state"] == "queued"
        assert max(timings) < 0.5, timings
        with engine.connect() as conn:
            states = conn.execute(select(Job.state)).scalars().all()
        assert states == ["queued"] * 5
    finally:
        if hung:
            hung.close()


def test_concurrent_deliveries_share_one_payload_parser(tmp_path: Path, database_url: str) -> None:
    """A lazily read payload pins its parser; the intake lets go of it before awaiting the
    database, so requests in flight together never force a fresh parser."""
    import asyncio

    app = create_app(make_settings(tmp_path, database_url), config=make_config())
    body = (WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes()

    async def deliver_all() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://hookwise") as client,
        ):
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/webhooks/github",
                        content=body,
                        headers=signed_headers(body, event="issues"),
                    )
                    for _ in range(20)
                )
            )
        return [response.status_code for response in responses]

    assert asyncio.run(deliver_all()) == [202] * 20
    assert app.state.runtime.payload_parser.replaced == 0


def test_a_database_connection_lost_while_idle_is_replaced_without_failing_a_delivery(
    tmp_path: Path, pg_database_url: str
) -> None:
    """The writers keep their connection between batches; when the database drops it (a
    restart, an idle timeout), the next delivery is written on a new one, not refused."""
    import psycopg

    from tests.conftest import PG_ADMIN_DSN

    body = (WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes()
    settings = make_settings(tmp_path, pg_database_url)
    with TestClient(create_app(settings, config=make_config())) as client:
        assert post_signed(client, body, event="issues").status_code == 202
        database = pg_database_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchone()
        assert ended is not None
        assert ended[0] >= 1
        for _ in range(4):  # both writers meet their dead connection
            assert post_signed(client, body, event="issues").status_code == 202
