"""Every REST route the simulator must answer (issue item 2), called once with the schema-checking
client: each answer validates against GitHub's OpenAPI description, and the test fails if a
required operation was not answered and checked, so a route cannot quietly drop out."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from service.github_sim.testing import SimHandle

ALICE, BOB = "alice-token", "bob-token"
R = "/repos/{owner}/{repo}"

REQUIRED = {
    ("get", "/user"),
    ("post", "/user/repos"),
    ("post", "/orgs/{org}/repos"),
    ("get", R),
    ("get", R + "/contents/{path}"),
    ("put", R + "/contents/{path}"),
    ("get", R + "/issues"),
    ("post", R + "/issues"),
    ("get", R + "/issues/{issue_number}"),
    ("patch", R + "/issues/{issue_number}"),
    ("get", R + "/issues/{issue_number}/comments"),
    ("post", R + "/issues/{issue_number}/comments"),
    ("patch", R + "/issues/comments/{comment_id}"),
    ("delete", R + "/issues/comments/{comment_id}"),
    ("get", R + "/labels"),
    ("post", R + "/labels"),
    ("get", R + "/issues/{issue_number}/labels"),
    ("post", R + "/issues/{issue_number}/labels"),
    ("put", R + "/issues/{issue_number}/labels"),
    ("delete", R + "/issues/{issue_number}/labels/{name}"),
    ("get", R + "/issues/{issue_number}/reactions"),
    ("post", R + "/issues/{issue_number}/reactions"),
    ("get", R + "/issues/comments/{comment_id}/reactions"),
    ("post", R + "/issues/comments/{comment_id}/reactions"),
    ("get", R + "/pulls"),
    ("post", R + "/pulls"),
    ("get", R + "/pulls/{pull_number}"),
    ("get", R + "/pulls/{pull_number}/files"),
    ("get", R + "/pulls/{pull_number}/commits"),
    ("get", R + "/pulls/{pull_number}/reviews"),
    ("post", R + "/pulls/{pull_number}/reviews"),
    ("delete", R + "/pulls/{pull_number}/reviews/{review_id}"),
    ("get", R + "/pulls/{pull_number}/comments"),
    ("post", R + "/pulls/{pull_number}/comments"),
    ("post", R + "/check-runs"),
    ("patch", R + "/check-runs/{check_run_id}"),
    ("get", R + "/check-runs/{check_run_id}/annotations"),
    ("get", R + "/commits/{ref}/check-runs"),
    ("get", R + "/commits/{commit_sha}/pulls"),
    ("get", R + "/actions/runs/{run_id}"),
    ("get", R + "/actions/runs/{run_id}/jobs"),
    ("get", R + "/actions/jobs/{job_id}/logs"),
    ("get", R + "/collaborators/{username}/permission"),
    ("get", "/rate_limit"),
    ("get", R + "/hooks"),
    ("post", R + "/hooks"),
    ("get", R + "/hooks/{hook_id}/deliveries"),
    ("post", R + "/hooks/{hook_id}/deliveries/{delivery_id}/attempts"),
    ("get", "/app"),
    ("get", R + "/installation"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/app/hook/deliveries"),
    ("post", "/app/hook/deliveries/{delivery_id}/attempts"),
}


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 400, (response.request.url, response.status_code, response.text)
    return response.json() if response.content else None


def _repos_issues_labels_reactions(alice: httpx.Client, bob: httpx.Client) -> None:
    ok(alice.get("/user"))
    ok(alice.post("/user/repos", json={"name": "demo", "auto_init": True}))
    ok(alice.post("/orgs/acme/repos", json={"name": "tools"}))
    ok(alice.get("/repos/alice/demo"))
    ok(alice.get("/rate_limit"))
    created = ok(
        alice.put(
            "/repos/alice/demo/contents/docs/a.md",
            json={"message": "add", "content": base64.b64encode(b"hello\n").decode()},
        )
    )
    assert ok(alice.get("/repos/alice/demo/contents/docs/a.md"))["sha"] == created["content"]["sha"]
    issue = ok(bob.post("/repos/alice/demo/issues", json={"title": "Bug", "body": "b"}))
    number = issue["number"]
    ok(alice.get("/repos/alice/demo/issues"))
    ok(alice.get(f"/repos/alice/demo/issues/{number}"))
    ok(bob.patch(f"/repos/alice/demo/issues/{number}", json={"body": "more"}))
    comment = ok(bob.post(f"/repos/alice/demo/issues/{number}/comments", json={"body": "hi"}))
    ok(alice.get(f"/repos/alice/demo/issues/{number}/comments"))
    ok(bob.patch(f"/repos/alice/demo/issues/comments/{comment['id']}", json={"body": "hey"}))
    ok(alice.post("/repos/alice/demo/labels", json={"name": "triage", "color": "d73a4a"}))
    ok(alice.get("/repos/alice/demo/labels"))
    ok(alice.post(f"/repos/alice/demo/issues/{number}/labels", json={"labels": ["bug"]}))
    ok(alice.put(f"/repos/alice/demo/issues/{number}/labels", json={"labels": ["bug", "p1"]}))
    ok(alice.get(f"/repos/alice/demo/issues/{number}/labels"))
    ok(alice.delete(f"/repos/alice/demo/issues/{number}/labels/p1"))
    ok(alice.post(f"/repos/alice/demo/issues/{number}/reactions", json={"content": "eyes"}))
    ok(alice.get(f"/repos/alice/demo/issues/{number}/reactions"))
    reactions = f"/repos/alice/demo/issues/comments/{comment['id']}/reactions"
    ok(alice.post(reactions, json={"content": "+1"}))
    ok(alice.get(reactions))
    ok(bob.delete(f"/repos/alice/demo/issues/comments/{comment['id']}"))
    ok(alice.get("/repos/alice/demo/collaborators/bob/permission"))


def _pulls_and_reviews(sim: SimHandle, alice: httpx.Client, bob: httpx.Client) -> str:
    sim.admin.push("alice", "demo", branch="fix", files={"a.py": "x = 1\n"}, author="bob")
    pull = ok(
        bob.post("/repos/alice/demo/pulls", json={"title": "Fix", "head": "fix", "base": "main"})
    )
    number, sha = pull["number"], pull["head"]["sha"]
    ok(alice.get("/repos/alice/demo/pulls"))
    ok(alice.get(f"/repos/alice/demo/pulls/{number}"))
    diff = alice.get(
        f"/repos/alice/demo/pulls/{number}", headers={"Accept": "application/vnd.github.diff"}
    )
    assert diff.headers["content-type"].startswith("application/vnd.github.diff")
    assert diff.text.startswith("diff --git a/a.py b/a.py")
    ok(alice.get(f"/repos/alice/demo/pulls/{number}/files"))
    ok(alice.get(f"/repos/alice/demo/pulls/{number}/commits"))
    ok(alice.get(f"/repos/alice/demo/commits/{sha}/pulls"))
    inline = [{"path": "a.py", "line": 1, "body": "nit"}]
    reviews = f"/repos/alice/demo/pulls/{number}/reviews"
    draft = ok(alice.post(reviews, json={"comments": inline}))
    ok(alice.delete(f"{reviews}/{draft['id']}"))
    ok(alice.post(reviews, json={"event": "COMMENT", "body": "ok", "comments": inline}))
    ok(alice.get(reviews))
    single = {"body": "one", "path": "a.py", "line": 1, "commit_id": sha}
    ok(alice.post(f"/repos/alice/demo/pulls/{number}/comments", json=single))
    ok(alice.get(f"/repos/alice/demo/pulls/{number}/comments"))
    return str(sha)


def _checks_and_actions(sim: SimHandle, bot: httpx.Client, alice: httpx.Client, sha: str) -> None:
    note = {"path": "a.py", "start_line": 1, "end_line": 1, "annotation_level": "warning"}
    check = ok(
        bot.post(
            "/repos/alice/demo/check-runs",
            json={"name": "lint", "head_sha": sha, "status": "in_progress"},
        )
    )
    output = {"title": "t", "summary": "s", "annotations": [{**note, "message": "m"}]}
    ok(bot.patch(f"/repos/alice/demo/check-runs/{check['id']}", json={"output": output}))
    ok(bot.get(f"/repos/alice/demo/check-runs/{check['id']}/annotations"))
    ok(bot.get(f"/repos/alice/demo/commits/{sha}/check-runs"))
    run = sim.admin.create_workflow_run("alice", "demo", jobs=[{"name": "test", "log": "boom\n"}])
    sim.admin.complete_workflow_run("alice", "demo", run["id"], conclusion="failure")
    ok(alice.get(f"/repos/alice/demo/actions/runs/{run['id']}"))
    jobs = ok(alice.get(f"/repos/alice/demo/actions/runs/{run['id']}/jobs"))
    logs = alice.get(f"/repos/alice/demo/actions/jobs/{jobs['jobs'][0]['id']}/logs")
    assert logs.status_code == 302
    assert httpx.get(logs.headers["location"], timeout=10).text == "boom\n"


def _hooks_and_the_app(
    sim: SimHandle, alice: httpx.Client, app: httpx.Client, receiver: Any
) -> None:
    hook = ok(
        alice.post(
            "/repos/alice/demo/hooks", json={"config": {"url": receiver.url}, "events": ["*"]}
        )
    )
    ok(alice.get("/repos/alice/demo/hooks"))
    receiver.status_codes.append(500)
    sim.admin.open_issue("alice", "demo", title="Hooked", author="bob")
    assert sim.admin.wait_for_deliveries()
    [delivery, *_] = ok(alice.get(f"/repos/alice/demo/hooks/{hook['id']}/deliveries"))
    ok(alice.post(f"/repos/alice/demo/hooks/{hook['id']}/deliveries/{delivery['id']}/attempts"))
    ok(app.get("/app"))
    installation = ok(app.get("/repos/alice/demo/installation"))
    ok(app.post(f"/app/installations/{installation['id']}/access_tokens"))
    [app_delivery, *_] = ok(app.get("/app/hook/deliveries"))
    ok(app.post(f"/app/hook/deliveries/{app_delivery['id']}/attempts"))
    assert sim.admin.wait_for_deliveries()


def test_every_required_route_answers_per_the_openapi_description(
    sim: SimHandle, github: Any, openapi: Any, receiver: Any
) -> None:
    checked_elsewhere = openapi.checked
    openapi.checked = set()
    try:
        sim.admin.create_org("acme", admins=["alice"])
        sim.admin.set_app_webhook(receiver.url, secret="s")
        installation = sim.admin.create_installation("alice")
        alice, bob = github(ALICE), github(BOB)
        _repos_issues_labels_reactions(alice, bob)
        sha = _pulls_and_reviews(sim, alice, bob)
        bot = github(sim.installation_token(installation))
        _checks_and_actions(sim, bot, alice, sha)
        _hooks_and_the_app(sim, alice, github(sim.app_jwt(), scheme="Bearer"), receiver)
        answered = {(method, template) for method, template, _ in openapi.checked}
    finally:
        openapi.checked |= checked_elsewhere
    assert sorted(REQUIRED - answered) == []
