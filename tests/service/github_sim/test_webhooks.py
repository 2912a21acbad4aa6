"""Webhooks: which events fire, how they are signed, recorded and redelivered."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any

from service.github_sim.testing import SimHandle, free_port

ALICE, BOB = "alice-token", "bob-token"
SECRET = "s3cret"


def _verify_signature(headers: dict[str, str], body: bytes, secret: str) -> None:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-hub-signature-256"], expected)


def _app_setup(sim: SimHandle, receiver: Any) -> tuple[int, str]:
    sim.admin.set_app_webhook(receiver.url, secret=SECRET)
    installation_id = sim.admin.create_installation("alice")
    return installation_id, sim.installation_token(installation_id)


def test_every_emitted_event_is_signed_and_matches_its_schema(
    sim: SimHandle, github: Any, receiver: Any, webhook_schemas: Any
) -> None:
    installation_id, bot_token = _app_setup(sim, receiver)
    alice, bot = github(ALICE), github(bot_token)
    assert alice.post("/user/repos", json={"name": "demo", "auto_init": True}).status_code == 201
    issue = github(BOB).post("/repos/alice/demo/issues", json={"title": "Bug", "body": "b"}).json()
    github(BOB).patch("/repos/alice/demo/issues/1", json={"body": "more detail"})
    bot.post("/repos/alice/demo/issues/1/labels", json={"labels": ["bug"]})
    comment = bot.post("/repos/alice/demo/issues/1/comments", json={"body": "Thanks!"}).json()
    bot.patch(f"/repos/alice/demo/issues/comments/{comment['id']}", json={"body": "Thanks."})
    bot.delete("/repos/alice/demo/issues/1/labels/bug")
    alice.patch("/repos/alice/demo/issues/1", json={"state": "closed"})
    alice.patch("/repos/alice/demo/issues/1", json={"state": "open"})
    github(BOB).patch(
        f"/repos/alice/demo/issues/comments/{issue['id']}", json={"body": "unused"}
    )  # not a comment id: a 404 that must emit nothing
    pull = sim.admin.open_pull_request(
        "alice", "demo", title="Fix", head="fix", author="bob", files={"a.py": "x = 1\n"}
    )
    sim.admin.push("alice", "demo", branch="fix", files={"a.py": "x = 2\n"}, author="bob")
    bot.post(f"/repos/alice/demo/issues/{pull['number']}/labels", json={"labels": ["fix"]})
    alice.patch(f"/repos/alice/demo/pulls/{pull['number']}", json={"title": "Fix it"})
    bot.delete(f"/repos/alice/demo/issues/{pull['number']}/labels/fix")
    alice.patch(f"/repos/alice/demo/issues/{pull['number']}", json={"state": "closed"})
    alice.patch(f"/repos/alice/demo/pulls/{pull['number']}", json={"state": "open"})
    check = bot.post(
        "/repos/alice/demo/check-runs",
        json={"name": "lint", "head_sha": pull["head"]["sha"], "status": "in_progress"},
    ).json()
    bot.patch(f"/repos/alice/demo/check-runs/{check['id']}", json={"conclusion": "failure"})
    run = sim.admin.create_workflow_run("alice", "demo", jobs=[{"name": "test", "log": "boom"}])
    sim.admin.complete_workflow_run("alice", "demo", run["id"], conclusion="failure")
    assert sim.admin.wait_for_deliveries()

    seen = [(hook.event, hook.json().get("action")) for hook in receiver.received]
    assert seen == [
        ("repository", "created"),
        ("issues", "opened"),
        ("issues", "edited"),
        ("issues", "labeled"),
        ("issue_comment", "created"),
        ("issue_comment", "edited"),
        ("issues", "unlabeled"),
        ("issues", "closed"),
        ("issues", "reopened"),
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "labeled"),
        ("pull_request", "edited"),
        ("pull_request", "unlabeled"),
        ("pull_request", "closed"),
        ("pull_request", "reopened"),
        ("check_run", "created"),
        ("check_run", "completed"),
        ("workflow_run", "requested"),
        ("workflow_run", "completed"),
    ]
    for hook in receiver.received:
        payload = hook.json()
        webhook_schemas.check(hook.event, payload)
        _verify_signature(hook.headers, hook.body, SECRET)
        assert hook.headers["content-type"] == "application/json"
        assert hook.headers["user-agent"].startswith("GitHub-Hookshot/")
        assert uuid.UUID(hook.headers["x-github-delivery"])
        assert hook.headers["x-github-hook-id"]
        assert payload["installation"]["id"] == installation_id
        assert payload["installation"]["node_id"]
    by_event = {
        hook.event: hook.json()
        for hook in receiver.received
        if hook.json()["action"] in ("created", "completed")
    }
    assert by_event["workflow_run"]["workflow_run"]["conclusion"] == "failure"
    assert by_event["check_run"]["check_run"]["conclusion"] == "failure"
    assert by_event["issue_comment"]["sender"]["login"] == f"{sim.app_slug}[bot]"
    assert by_event["issue_comment"]["comment"]["performed_via_github_app"]["id"] == sim.app_id


def test_repository_hook_gets_only_subscribed_events(
    sim: SimHandle, github: Any, receiver: Any, webhook_schemas: Any
) -> None:
    sim.admin.create_repo("alice", "demo")
    alice = github(ALICE)
    created = alice.post(
        "/repos/alice/demo/hooks",
        json={"config": {"url": receiver.url, "secret": SECRET}, "events": ["issue_comment"]},
    )
    assert created.status_code == 201
    assert created.json()["config"].get("secret") != SECRET
    assert github(BOB).post("/repos/alice/demo/hooks", json={"config": {}}).status_code == 403
    assert alice.post("/repos/alice/demo/hooks", json={"config": {}}).status_code == 422
    assert [hook["id"] for hook in alice.get("/repos/alice/demo/hooks").json()] == [
        created.json()["id"]
    ]

    sim.admin.open_issue("alice", "demo", title="Question", author="bob")
    sim.admin.comment("alice", "demo", 1, body="Any news?", author="bob")
    assert sim.admin.wait_for_deliveries()
    assert [hook.event for hook in receiver.received] == ["issue_comment"]
    only = receiver.received[0]
    assert "installation" not in only.json()
    assert only.headers["x-github-hook-id"] == str(created.json()["id"])
    webhook_schemas.check("issue_comment", only.json())
    _verify_signature(only.headers, only.body, SECRET)


def test_deliveries_are_recorded_and_redelivered_with_the_same_id(
    sim: SimHandle, github: Any, receiver: Any
) -> None:
    sim.admin.create_repo("alice", "demo")
    alice = github(ALICE)
    hook_id = alice.post(
        "/repos/alice/demo/hooks", json={"config": {"url": receiver.url}, "events": ["*"]}
    ).json()["id"]
    receiver.status_codes.append(500)
    sim.admin.open_issue("alice", "demo", title="Flaky receiver", author="bob")
    assert sim.admin.wait_for_deliveries()

    listed = alice.get(f"/repos/alice/demo/hooks/{hook_id}/deliveries").json()
    assert len(listed) == 1
    assert listed[0]["status_code"] == 500
    assert listed[0]["event"] == "issues"
    assert listed[0]["action"] == "opened"
    detail = alice.get(f"/repos/alice/demo/hooks/{hook_id}/deliveries/{listed[0]['id']}").json()
    assert detail["request"]["payload"]["issue"]["title"] == "Flaky receiver"

    attempt = alice.post(f"/repos/alice/demo/hooks/{hook_id}/deliveries/{listed[0]['id']}/attempts")
    assert attempt.status_code == 202
    assert sim.admin.wait_for_deliveries()
    guids = [hook.headers["x-github-delivery"] for hook in receiver.received]
    assert guids == [listed[0]["guid"], listed[0]["guid"]]
    assert receiver.received[0].body == receiver.received[1].body
    again = alice.get(f"/repos/alice/demo/hooks/{hook_id}/deliveries").json()
    assert [(item["redelivery"], item["status_code"]) for item in again] == [
        (True, 200),
        (False, 500),
    ]
    assert alice.get(f"/repos/alice/demo/hooks/{hook_id}/deliveries/999999").status_code == 404


def test_app_hook_deliveries_need_a_jwt_and_can_be_redelivered(
    sim: SimHandle, github: Any, receiver: Any
) -> None:
    _app_setup(sim, receiver)
    sim.admin.create_repo("alice", "demo")
    # repository.created goes out on the simulator's delivery thread; let it land first so
    # only issues.opened meets the failing answer.
    assert sim.admin.wait_for_deliveries()
    receiver.status_codes.append(502)
    sim.admin.open_issue("alice", "demo", title="Hello", author="bob")
    assert sim.admin.wait_for_deliveries()

    app = github(sim.app_jwt(), scheme="Bearer")
    failed = app.get("/app/hook/deliveries", params={"status": "failure"}).json()
    assert [(item["event"], item["status_code"]) for item in failed] == [("issues", 502)]
    everything = app.get("/app/hook/deliveries").json()
    assert {item["event"] for item in everything} == {"repository", "issues"}
    assert app.get(f"/app/hook/deliveries/{failed[0]['id']}").json()["guid"] == failed[0]["guid"]
    assert github(ALICE).get("/app/hook/deliveries").status_code == 401
    # GitHub pages deliveries with a cursor carried in the `Link` header.
    first = app.get("/app/hook/deliveries", params={"per_page": 1})
    assert [item["id"] for item in first.json()] == [everything[0]["id"]]
    next_url = first.headers["link"].split(";")[0].strip("<>")
    assert "cursor=" in next_url
    second = app.get(next_url)
    assert [item["id"] for item in second.json()] == [everything[1]["id"]]
    assert "link" not in second.headers

    assert app.post(f"/app/hook/deliveries/{failed[0]['id']}/attempts").status_code == 202
    assert sim.admin.wait_for_deliveries()
    assert receiver.received[-1].headers["x-github-delivery"] == failed[0]["guid"]
    assert (
        app.get("/app/hook/deliveries", params={"status": "failure"}).json()[0]["id"]
        == (failed[0]["id"])
    )
    latest = app.get("/app/hook/deliveries").json()[0]
    assert (latest["guid"], latest["redelivery"], latest["status_code"]) == (
        failed[0]["guid"],
        True,
        200,
    )


def test_a_slow_receiver_never_slows_the_api(sim: SimHandle, github: Any, receiver: Any) -> None:
    sim.admin.create_repo("alice", "demo")
    alice = github(ALICE)
    alice.post("/repos/alice/demo/hooks", json={"config": {"url": receiver.url}, "events": ["*"]})
    receiver.delay_s = 2.0
    started = time.perf_counter()
    response = alice.post("/repos/alice/demo/issues", json={"title": "Behind a slow receiver"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 201
    # Had the request waited for the delivery it would have taken at least the receiver's 2 s.
    assert elapsed < 1.5, f"the create took {elapsed:.2f} s behind a slow receiver"
    assert sim.admin.wait_for_deliveries(timeout=15)
    assert len(receiver.received) == 1
    recorded = sim.admin.deliveries(event="issues")
    assert [item["duration"] >= 1.9 for item in recorded] == [True]


def test_an_unreachable_receiver_is_recorded_as_failed(sim: SimHandle, github: Any) -> None:
    sim.admin.set_app_webhook(f"http://127.0.0.1:{free_port()}/down", secret=SECRET)
    sim.admin.create_installation("alice")
    sim.admin.create_repo("alice", "demo")
    assert sim.admin.wait_for_deliveries()
    deliveries = github(sim.app_jwt(), scheme="Bearer").get("/app/hook/deliveries").json()
    assert [(item["event"], item["status_code"]) for item in deliveries] == [("repository", 0)]
    assert deliveries[0]["status"] == "failed to connect to host"
