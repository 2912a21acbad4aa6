"""App auth, installations, check runs with annotations, Actions runs/jobs/logs, permissions."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import jwt

from service.github_sim.testing import SimHandle, generate_app_key

ALICE, BOB = "alice-token", "bob-token"


def _annotation(line: int) -> dict[str, Any]:
    return {
        "path": "app.py",
        "start_line": line,
        "end_line": line,
        "annotation_level": "warning",
        "message": f"problem on line {line}",
    }


def test_app_jwt_rules(sim: SimHandle, github: Any) -> None:
    ok = github(sim.app_jwt(), scheme="Bearer").get("/app")
    assert ok.status_code == 200
    assert ok.json()["id"] == sim.app_id
    assert ok.json()["slug"] == sim.app_slug

    now = time.time()
    claims = {"iat": int(now) - 30, "exp": int(now) + 300, "iss": str(sim.app_id)}
    wrong_key = jwt.encode(claims, generate_app_key(), algorithm="RS256")
    expired = sim.app_jwt(issued_at=now - 1200, lifetime_s=300)
    too_long = sim.app_jwt(lifetime_s=3600)
    wrong_issuer = jwt.encode({**claims, "iss": "999"}, sim.app_private_key_pem, algorithm="RS256")
    future = sim.app_jwt(issued_at=now + 600)
    for token in (wrong_key, expired, too_long, wrong_issuer, future):
        refused = github(token, scheme="Bearer").get("/app")
        assert refused.status_code == 401, refused.text
    assert github().get("/app").status_code == 401
    # A little clock drift is tolerated: exp 40 s in the past but within the allowance.
    drifted = sim.app_jwt(issued_at=now - 600 + 20, lifetime_s=540)
    assert github(drifted, scheme="Bearer").get("/app").status_code == 200
    # What counts is exp against now, not against iat: an old iat with exp 590 s ahead is fine.
    long_lived = sim.app_jwt(issued_at=now - 440, lifetime_s=1030)
    assert github(long_lived, scheme="Bearer").get("/app").status_code == 200
    assert github(ALICE).get("/app").status_code == 401


def test_installations_and_their_tokens(sim: SimHandle, github: Any) -> None:
    sim.admin.create_repo("alice", "demo")
    sim.admin.create_repo("alice", "other")
    installation_id = sim.admin.create_installation("alice", repositories=["demo"])
    app = github(sim.app_jwt(), scheme="Bearer")
    assert [item["id"] for item in app.get("/app/installations").json()] == [installation_id]
    found = app.get("/repos/alice/demo/installation")
    assert found.json()["id"] == installation_id
    assert app.get("/repos/alice/other/installation").status_code == 404

    issued = app.post(f"/app/installations/{installation_id}/access_tokens")
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert token.startswith("ghs_")
    assert (
        github(ALICE).post(f"/app/installations/{installation_id}/access_tokens").status_code == 401
    )
    assert app.post("/app/installations/424242/access_tokens").status_code == 404
    outside = app.post(
        f"/app/installations/{installation_id}/access_tokens", json={"repositories": ["other"]}
    )
    assert outside.status_code == 422

    bot = github(token)
    listed = bot.get("/installation/repositories").json()
    assert [repo["name"] for repo in listed["repositories"]] == ["demo"]
    assert bot.post("/repos/alice/demo/issues", json={"title": "From the bot"}).status_code == 201
    # The installation does not cover `other`: writes there are refused.
    assert bot.post("/repos/alice/other/issues", json={"title": "x"}).status_code == 403
    # Apps cannot read /user.
    assert bot.get("/user").status_code == 403
    # A token narrowed to no repositories may write nowhere, though its installation could.
    narrowed = app.post(
        f"/app/installations/{installation_id}/access_tokens", json={"repositories": []}
    ).json()["token"]
    assert github(narrowed).post("/repos/alice/demo/issues", json={"title": "x"}).status_code == 403
    assert github(narrowed).get("/installation/repositories").json()["total_count"] == 0


def test_installation_tokens_expire(sim: SimHandle, github: Any) -> None:
    sim.admin.create_repo("alice", "demo")
    installation_id = sim.admin.create_installation("alice")
    sim.admin.set_installation_token_ttl(2)
    issued = github(sim.app_jwt(), scheme="Bearer").post(
        f"/app/installations/{installation_id}/access_tokens"
    )
    bot = github(issued.json()["token"])
    assert bot.get("/repos/alice/demo").status_code == 200
    expires_at = datetime.fromisoformat(issued.json()["expires_at"].replace("Z", "+00:00"))
    time.sleep(max(0.0, expires_at.timestamp() - time.time()) + 0.2)
    expired = bot.get("/repos/alice/demo")
    assert expired.status_code == 401
    assert expired.json()["message"] == "Bad credentials"


def test_check_runs_annotations_and_listing_by_commit(sim: SimHandle, github: Any) -> None:
    sim.admin.create_repo("alice", "demo", files={"app.py": "x\n"})
    installation_id = sim.admin.create_installation("alice")
    bot = github(sim.installation_token(installation_id))
    head = github(ALICE).get("/repos/alice/demo/commits/main/check-runs").json()
    assert head == {"total_count": 0, "check_runs": []}
    sha = sim.admin.push("alice", "demo", branch="main", files={"b.py": "y\n"}, author="alice")

    assert (
        github(ALICE).post("/repos/alice/demo/check-runs", json={"name": "x", "head_sha": sha})
    ).status_code == 403
    created = bot.post(
        "/repos/alice/demo/check-runs",
        json={
            "name": "hookwise",
            "head_sha": sha,
            "status": "in_progress",
            "output": {
                "title": "Review",
                "summary": "Found things",
                "annotations": [_annotation(line) for line in range(1, 51)],
            },
        },
    )
    assert created.status_code == 201
    run_id = created.json()["id"]
    assert created.json()["output"]["annotations_count"] == 50
    too_many = bot.patch(
        f"/repos/alice/demo/check-runs/{run_id}",
        json={"output": {"summary": "more", "annotations": [_annotation(1)] * 51}},
    )
    assert too_many.status_code == 422
    updated = bot.patch(
        f"/repos/alice/demo/check-runs/{run_id}",
        json={
            "conclusion": "failure",
            "output": {"title": "Review", "summary": "done", "annotations": [_annotation(60)]},
        },
    )
    assert updated.json()["status"] == "completed"
    assert updated.json()["output"]["annotations_count"] == 51
    invalid = bot.patch(f"/repos/alice/demo/check-runs/{run_id}", json={"conclusion": "meh"})
    assert invalid.status_code == 422

    first_page = bot.get(f"/repos/alice/demo/check-runs/{run_id}/annotations")
    assert len(first_page.json()) == 30
    last_page = bot.get(
        f"/repos/alice/demo/check-runs/{run_id}/annotations", params={"page": 2, "per_page": 50}
    )
    assert [item["start_line"] for item in last_page.json()] == [60]
    assert bot.get(f"/repos/alice/demo/check-runs/{run_id}").json()["conclusion"] == "failure"
    by_branch = bot.get("/repos/alice/demo/commits/main/check-runs").json()
    by_sha = bot.get(f"/repos/alice/demo/commits/{sha}/check-runs").json()
    assert by_branch == by_sha
    assert [run["id"] for run in by_sha["check_runs"]] == [run_id]
    assert bot.get("/repos/alice/demo/commits/nope/check-runs").status_code == 404


def test_workflow_runs_jobs_and_logs(sim: SimHandle, github: Any) -> None:
    sim.admin.create_repo("alice", "demo")
    run = sim.admin.create_workflow_run(
        "alice",
        "demo",
        name="CI",
        jobs=[{"name": "lint", "log": "ok\n"}, {"name": "test", "log": "running\n"}],
    )
    alice = github(ALICE)
    got = alice.get(f"/repos/alice/demo/actions/runs/{run['id']}").json()
    assert (got["status"], got["conclusion"]) == ("queued", None)
    sim.admin.complete_workflow_run(
        "alice",
        "demo",
        run["id"],
        conclusion="failure",
        jobs={"lint": "success"},
        logs={"test": "FAILED tests/test_x.py::test_y - AssertionError\n"},
    )
    done = alice.get(f"/repos/alice/demo/actions/runs/{run['id']}").json()
    assert (done["status"], done["conclusion"]) == ("completed", "failure")
    jobs = alice.get(f"/repos/alice/demo/actions/runs/{run['id']}/jobs").json()
    assert jobs["total_count"] == 2
    assert [(job["name"], job["conclusion"]) for job in jobs["jobs"]] == [
        ("lint", "success"),
        ("test", "failure"),
    ]
    test_job = jobs["jobs"][1]["id"]
    redirect = alice.get(f"/repos/alice/demo/actions/jobs/{test_job}/logs")
    assert redirect.status_code == 302
    log = httpx.get(redirect.headers["location"], timeout=10)
    assert log.headers["content-type"].startswith("text/plain")
    assert "AssertionError" in log.text
    assert alice.get("/repos/alice/demo/actions/jobs/1/logs").status_code == 404
    assert alice.get("/repos/alice/demo/actions/runs/1").status_code == 404


def test_collaborator_permission(sim: SimHandle, github: Any) -> None:
    sim.admin.create_repo("alice", "demo")
    sim.admin.set_permission("alice", "demo", "bob", "maintain")
    alice = github(ALICE)
    owner = alice.get("/repos/alice/demo/collaborators/alice/permission").json()
    assert (owner["permission"], owner["role_name"]) == ("admin", "admin")
    maintainer = alice.get("/repos/alice/demo/collaborators/bob/permission").json()
    assert (maintainer["permission"], maintainer["role_name"]) == ("write", "maintain")
    outsider = alice.get("/repos/alice/demo/collaborators/carol/permission").json()
    assert outsider["permission"] == "read"
    assert alice.get("/repos/alice/demo/collaborators/nobody/permission").status_code == 404
    # Bob can now label issues.
    sim.admin.open_issue("alice", "demo", title="x", author="carol")
    labelled = github(BOB).post("/repos/alice/demo/issues/1/labels", json={"labels": ["bug"]})
    assert labelled.status_code == 200
