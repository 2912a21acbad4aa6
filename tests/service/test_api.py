from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from service.app import create_app
from service.metrics import DURATION_BUCKETS
from service.settings import Settings
from service.store.models import Job, JobState
from tests.conftest import WEBHOOK_EXAMPLES
from tests.service.conftest import API_TOKEN, make_config, post_signed

ISSUE_OPENED = (WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes()
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.mark.parametrize(
    "path", ["/api/deliveries", "/api/deliveries/x", "/api/jobs", "/api/jobs/x"]
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_api_needs_the_bearer_token(client: TestClient, path: str, headers: dict[str, str]) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/jobs/x/retry", "/api/jobs/x/cancel"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_job_actions_need_the_bearer_token(
    client: TestClient, engine: Engine, path: str, headers: dict[str, str]
) -> None:
    job_id = post_signed(client, ISSUE_OPENED, event="issues").json()["jobs"][0]["id"]
    response = client.post(path.replace("/x/", f"/{job_id}/"), headers=headers)
    assert response.status_code == 401
    assert client.get(f"/api/jobs/{job_id}", headers=AUTH).json()["state"] == "queued"


def test_api_is_closed_when_no_token_is_configured(client_factory: object) -> None:
    client = client_factory(api_token=None)  # type: ignore[operator]
    response = client.get("/api/jobs", headers=AUTH)
    assert response.status_code == 401
    assert "HOOKWISE_API_TOKEN" in response.json()["detail"]


def test_deliveries_and_jobs_are_listed_and_shown(client: TestClient) -> None:
    accepted = post_signed(client, ISSUE_OPENED, event="issues", delivery="d-1").json()
    job_id = accepted["jobs"][0]["id"]

    deliveries = client.get("/api/deliveries", headers=AUTH).json()
    assert [(d["id"], d["event"], d["action"]) for d in deliveries] == [("d-1", "issues", "opened")]
    detail = client.get("/api/deliveries/d-1", headers=AUTH).json()
    assert detail["repository"] == "Codertocat/Hello-World"
    assert [(j["id"], j["state"]) for j in detail["jobs"]] == [(job_id, "queued")]

    jobs = client.get("/api/jobs", params={"state": "queued"}, headers=AUTH).json()
    assert [j["id"] for j in jobs] == [job_id]
    assert client.get("/api/jobs", params={"state": "failed"}, headers=AUTH).json() == []
    job = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
    assert job["automation"] == "announce-issues"
    assert job["options"]["url"] == "http://127.0.0.1:9/hook"
    assert client.get("/api/jobs/nope", headers=AUTH).status_code == 404
    assert client.get("/api/deliveries/nope", headers=AUTH).status_code == 404


def test_cancel_then_retry(client: TestClient, engine: Engine) -> None:
    job_id = post_signed(client, ISSUE_OPENED, event="issues").json()["jobs"][0]["id"]
    assert client.post(f"/api/jobs/{job_id}/retry", headers=AUTH).status_code == 409

    cancelled = client.post(f"/api/jobs/{job_id}/cancel", headers=AUTH)
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=AUTH).status_code == 409

    with engine.begin() as conn:
        conn.execute(update(Job).values(attempts=5, max_attempts=5))
    retried = client.post(f"/api/jobs/{job_id}/retry", headers=AUTH)
    assert retried.status_code == 202
    body = retried.json()
    assert body["state"] == "queued"
    assert body["attempts"] == 5
    assert body["max_attempts"] > 5  # the retry gets a fresh budget
    assert client.post("/api/jobs/nope/retry", headers=AUTH).status_code == 404


def test_cancel_of_a_running_job_asks_it_to_stop(client: TestClient, engine: Engine) -> None:
    job_id = post_signed(client, ISSUE_OPENED, event="issues").json()["jobs"][0]["id"]
    with engine.begin() as conn:
        conn.execute(update(Job).values(state=JobState.RUNNING))
    body = client.post(f"/api/jobs/{job_id}/cancel", headers=AUTH).json()
    assert body["state"] == "running"
    assert body["cancel_requested"] is True


def test_probes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_reports_a_broker_that_is_down(client_factory: object) -> None:
    client = client_factory(broker_url="redis://127.0.0.1:1/0")  # type: ignore[operator]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["broker"].startswith("unavailable")


def test_metrics(client: TestClient) -> None:
    post_signed(client, ISSUE_OPENED, event="issues")
    client.post("/webhooks/github", content=b"{}", headers={"X-GitHub-Event": "issues"})
    text = client.get("/metrics").text
    assert 'hookwise_deliveries_total{event="issues",outcome="matched"} 1.0' in text
    assert 'hookwise_webhook_rejections_total{reason="missing_signature"} 1.0' in text
    assert 'hookwise_jobs{state="queued"} 1.0' in text
    assert "# TYPE hookwise_job_duration_seconds histogram" in text


def test_metrics_count_jobs_by_state_and_their_durations(
    client: TestClient, engine: Engine
) -> None:
    from workers import leases

    job_id = post_signed(client, ISSUE_OPENED, event="issues").json()["jobs"][0]["id"]
    claim = leases.claim(engine, job_id=job_id, worker="w", lease_seconds=30)
    assert leases.finish(engine, claim=claim, state=JobState.SUCCEEDED, reason="done")
    lines = set(client.get("/metrics").text.splitlines())
    assert 'hookwise_jobs{state="succeeded"} 1.0' in lines
    assert 'hookwise_jobs{state="queued"} 0.0' in lines
    # One observation of a short run (how short depends on the machine's load): cumulative
    # buckets that step from 0 to 1 once, at or above the observed duration, and one count.
    (total,) = [line for line in lines if line.startswith("hookwise_job_duration_seconds_sum")]
    duration = float(total.split()[-1])
    assert 0 <= duration < 60
    buckets = sorted(
        (float(line.split('le="')[1].split('"')[0]), float(line.split()[-1]))
        for line in lines
        if line.startswith('hookwise_job_duration_seconds_bucket{agent="notify"')
    )
    assert [bound for bound, _ in buckets] == [*DURATION_BUCKETS, float("inf")]
    assert [count for bound, count in buckets] == [float(bound >= duration) for bound, _ in buckets]
    assert 'hookwise_job_duration_seconds_count{agent="notify"} 1.0' in lines


def test_readyz_and_metrics_with_the_database_down(tmp_path: Path) -> None:
    settings = Settings(
        webhook_secret="s",
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        data_dir=tmp_path,
        broker_timeout_seconds=1.0,
    )
    with TestClient(create_app(settings, config=make_config())) as down:
        ready = down.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unavailable")
        assert ready.json()["checks"]["broker"] == "ok"
        # The web process's own counters are still scraped; the job figures wait for the database.
        down.post("/webhooks/github", content=b"{}", headers={"X-GitHub-Event": "issues"})
        metrics = down.get("/metrics")
        assert metrics.status_code == 200
        assert 'hookwise_webhook_rejections_total{reason="missing_signature"} 1.0' in metrics.text
        assert "hookwise_jobs{" not in metrics.text
