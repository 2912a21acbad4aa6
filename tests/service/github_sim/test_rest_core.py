"""Users, repositories, contents, issues, comments, labels, reactions and GitHub's headers.

Every answer from the `github` fixture's clients is validated against GitHub's OpenAPI schema for
the operation and status code.
"""

from __future__ import annotations

import base64
from typing import Any

from service.github_sim.testing import SimHandle

ALICE, BOB = "alice-token", "bob-token"


def _repo(sim: SimHandle, **files: str) -> None:
    sim.admin.create_repo("alice", "demo", files=files or {"README.md": "# demo\n"})


def test_user_and_bad_credentials(sim: SimHandle, github: Any) -> None:
    me = github(ALICE).get("/user")
    assert me.status_code == 200
    assert me.json()["login"] == "alice"
    assert github(ALICE, scheme="Bearer").get("/user").json()["login"] == "alice"

    wrong = github("not-a-token").get("/user")
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Bad credentials"
    anonymous = github().get("/user")
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "Requires authentication"


def test_create_repositories_and_get(sim: SimHandle, github: Any) -> None:
    alice = github(ALICE)
    created = alice.post("/user/repos", json={"name": "tool", "auto_init": True})
    assert created.status_code == 201
    assert created.json()["full_name"] == "alice/tool"
    duplicate = alice.post("/user/repos", json={"name": "tool"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "name"

    sim.admin.create_org("acme", admins=["alice"])
    org_repo = alice.post("/orgs/acme/repos", json={"name": "service", "private": True})
    assert org_repo.status_code == 201
    assert org_repo.json()["owner"]["type"] == "Organization"
    assert github(BOB).post("/orgs/acme/repos", json={"name": "x"}).status_code == 403

    fetched = alice.get("/repos/acme/service")
    assert fetched.status_code == 200
    assert fetched.json()["permissions"]["admin"] is True
    # A private repository is invisible, not forbidden, to someone without access.
    assert github(BOB).get("/repos/acme/service").status_code == 404
    assert alice.get("/repos/alice/nope").status_code == 404


def test_contents_get_and_put(sim: SimHandle, github: Any) -> None:
    _repo(sim, **{"README.md": "hello\n", ".github/hookwise.yml": "version: 1\n"})
    alice = github(ALICE)
    got = alice.get("/repos/alice/demo/contents/.github/hookwise.yml")
    assert got.status_code == 200
    assert base64.b64decode(got.json()["content"]).decode() == "version: 1\n"
    listing = alice.get("/repos/alice/demo/contents/.github")
    assert [entry["name"] for entry in listing.json()] == ["hookwise.yml"]
    raw = alice.get(
        "/repos/alice/demo/contents/README.md", headers={"Accept": "application/vnd.github.raw"}
    )
    assert raw.text == "hello\n"

    new = base64.b64encode(b"new file\n").decode()
    created = alice.put(
        "/repos/alice/demo/contents/docs/a.md", json={"message": "add", "content": new}
    )
    assert created.status_code == 201
    update_without_sha = alice.put(
        "/repos/alice/demo/contents/docs/a.md", json={"message": "edit", "content": new}
    )
    assert update_without_sha.status_code == 422
    stale = alice.put(
        "/repos/alice/demo/contents/docs/a.md",
        json={"message": "edit", "content": new, "sha": "0" * 40},
    )
    assert stale.status_code == 409
    updated = alice.put(
        "/repos/alice/demo/contents/docs/a.md",
        json={"message": "edit", "content": new, "sha": created.json()["content"]["sha"]},
    )
    assert updated.status_code == 200
    assert alice.get("/repos/alice/demo/contents/missing.txt").status_code == 404
    # Writing needs push access.
    assert (
        github(BOB)
        .put("/repos/alice/demo/contents/b.md", json={"message": "x", "content": new})
        .status_code
        == 403
    )


def test_issue_lifecycle(sim: SimHandle, github: Any) -> None:
    _repo(sim)
    alice, bob = github(ALICE), github(BOB)
    opened = bob.post("/repos/alice/demo/issues", json={"title": "Crash", "body": "trace"})
    assert opened.status_code == 201
    issue = opened.json()
    assert issue["number"] == 1
    assert issue["author_association"] == "NONE"
    assert bob.post("/repos/alice/demo/issues", json={"body": "no title"}).status_code == 422

    edited = bob.patch("/repos/alice/demo/issues/1", json={"title": "Crash on start"})
    assert edited.json()["title"] == "Crash on start"
    closed = alice.patch("/repos/alice/demo/issues/1", json={"state": "closed"})
    assert closed.json()["state"] == "closed"
    assert closed.json()["closed_at"] is not None
    # Someone who is neither the author nor a triager may not edit.
    assert (
        github("carol-token").patch("/repos/alice/demo/issues/1", json={"title": "x"}).status_code
        == 403
    )

    assert alice.get("/repos/alice/demo/issues").json() == []
    everything = alice.get("/repos/alice/demo/issues", params={"state": "all"}).json()
    assert [item["number"] for item in everything] == [1]
    assert alice.get("/repos/alice/demo/issues/99").status_code == 404


def test_comments_create_list_update_delete(sim: SimHandle, github: Any) -> None:
    _repo(sim)
    sim.admin.open_issue("alice", "demo", title="Question", author="bob")
    alice, bob = github(ALICE), github(BOB)
    created = bob.post("/repos/alice/demo/issues/1/comments", json={"body": "first"})
    assert created.status_code == 201
    comment_id = created.json()["id"]
    assert bob.post("/repos/alice/demo/issues/1/comments", json={}).status_code == 422

    updated = bob.patch(f"/repos/alice/demo/issues/comments/{comment_id}", json={"body": "edit"})
    assert updated.json()["body"] == "edit"
    assert alice.get(f"/repos/alice/demo/issues/comments/{comment_id}").json()["body"] == "edit"
    listed = alice.get("/repos/alice/demo/issues/1/comments").json()
    assert [item["id"] for item in listed] == [comment_id]
    assert alice.get("/repos/alice/demo/issues/1").json()["comments"] == 1

    assert (
        github("carol-token").delete(f"/repos/alice/demo/issues/comments/{comment_id}").status_code
        == 403
    )
    deleted = alice.delete(f"/repos/alice/demo/issues/comments/{comment_id}")
    assert deleted.status_code == 204
    assert alice.get(f"/repos/alice/demo/issues/comments/{comment_id}").status_code == 404


def test_labels_on_repositories_and_issues(sim: SimHandle, github: Any) -> None:
    _repo(sim)
    sim.admin.open_issue("alice", "demo", title="Bug", author="bob")
    alice = github(ALICE)
    made = alice.post("/repos/alice/demo/labels", json={"name": "triage", "color": "ff0000"})
    assert made.status_code == 201
    again = alice.post("/repos/alice/demo/labels", json={"name": "Triage"})
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "already_exists"
    assert alice.get("/repos/alice/demo/labels/triage").json()["color"] == "ff0000"

    added = alice.post("/repos/alice/demo/issues/1/labels", json={"labels": ["triage", "new-one"]})
    assert sorted(label["name"] for label in added.json()) == ["new-one", "triage"]
    # Adding an unknown label created it on the repository, as GitHub does.
    names = [label["name"] for label in alice.get("/repos/alice/demo/labels").json()]
    assert "new-one" in names
    replaced = alice.put("/repos/alice/demo/issues/1/labels", json={"labels": ["bug"]})
    assert [label["name"] for label in replaced.json()] == ["bug"]
    removed = alice.delete("/repos/alice/demo/issues/1/labels/bug")
    assert removed.json() == []
    assert alice.delete("/repos/alice/demo/issues/1/labels/bug").status_code == 404
    assert alice.get("/repos/alice/demo/issues/1/labels").json() == []
    assert (
        github(BOB).post("/repos/alice/demo/issues/1/labels", json={"labels": ["x"]}).status_code
        == 403
    )


def test_reactions_on_issues_and_comments(sim: SimHandle, github: Any) -> None:
    _repo(sim)
    sim.admin.open_issue("alice", "demo", title="Idea", author="bob")
    comment = sim.admin.comment("alice", "demo", 1, body="+1", author="bob")
    alice = github(ALICE)
    first = alice.post("/repos/alice/demo/issues/1/reactions", json={"content": "eyes"})
    assert first.status_code == 201
    repeat = alice.post("/repos/alice/demo/issues/1/reactions", json={"content": "eyes"})
    assert repeat.status_code == 200
    assert repeat.json()["id"] == first.json()["id"]
    assert (
        alice.post("/repos/alice/demo/issues/1/reactions", json={"content": "wow"}).status_code
        == 422
    )
    assert len(alice.get("/repos/alice/demo/issues/1/reactions").json()) == 1
    assert alice.get("/repos/alice/demo/issues/1").json()["reactions"]["eyes"] == 1

    path = f"/repos/alice/demo/issues/comments/{comment['id']}/reactions"
    assert alice.post(path, json={"content": "heart"}).status_code == 201
    assert [item["content"] for item in alice.get(path).json()] == ["heart"]


def test_rate_limit_headers_and_endpoint(sim: SimHandle, github: Any) -> None:
    alice = github(ALICE)
    first = alice.get("/user")
    second = alice.get("/user")
    for header in ("limit", "remaining", "reset", "used", "resource"):
        assert f"x-ratelimit-{header}" in first.headers
    assert (
        int(second.headers["x-ratelimit-remaining"])
        == int(first.headers["x-ratelimit-remaining"]) - 1
    )
    overview = alice.get("/rate_limit").json()
    # /rate_limit itself is free, as on GitHub.
    assert overview["resources"]["core"]["remaining"] == int(
        second.headers["x-ratelimit-remaining"]
    )
    assert github().get("/rate_limit").json()["rate"]["limit"] == 60


def test_exhausted_primary_limit_answers_403(sim: SimHandle, github: Any) -> None:
    sim.admin.create_user("dave")
    anonymous = github()
    statuses = [anonymous.get("/users/dave").status_code for _ in range(61)]
    assert statuses == [200] * 60 + [403]
    exhausted = anonymous.get("/users/dave")
    assert exhausted.headers["x-ratelimit-remaining"] == "0"
    assert "rate limit exceeded" in exhausted.json()["message"]
    # Other callers have their own window.
    assert github(ALICE).get("/users/dave").status_code == 200


def test_etag_answers_304_and_changes_with_state(sim: SimHandle, github: Any) -> None:
    _repo(sim)
    sim.admin.open_issue("alice", "demo", title="One", author="bob")
    alice = github(ALICE)
    first = alice.get("/repos/alice/demo/issues/1")
    etag = first.headers["etag"]
    cached = alice.get("/repos/alice/demo/issues/1", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    # A 304 is not charged against the rate limit.
    assert cached.headers["x-ratelimit-used"] == first.headers["x-ratelimit-used"]
    alice.patch("/repos/alice/demo/issues/1", json={"body": "changed"})
    fresh = alice.get("/repos/alice/demo/issues/1", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag


def test_link_pagination(sim: SimHandle, github: Any) -> None:
    _repo(sim)
    for number in range(5):
        sim.admin.open_issue("alice", "demo", title=f"Issue {number}", author="bob")
    alice = github(ALICE)
    page1 = alice.get("/repos/alice/demo/issues", params={"per_page": 2})
    assert [item["number"] for item in page1.json()] == [5, 4]
    links = page1.headers["link"]
    assert 'rel="next"' in links
    assert 'rel="last"' in links
    assert 'rel="prev"' not in links
    assert "page=3" in links.split(",")[1]
    next_url = links.split(";")[0].strip("<>")
    page2 = alice.get(next_url)
    assert [item["number"] for item in page2.json()] == [3, 2]
    assert 'rel="prev"' in page2.headers["link"]
    assert 'rel="first"' in page2.headers["link"]
    last = alice.get("/repos/alice/demo/issues", params={"per_page": 2, "page": 3})
    assert [item["number"] for item in last.json()] == [1]
    assert 'rel="next"' not in last.headers["link"]
    assert "link" not in alice.get("/repos/alice/demo/issues").headers


def test_unknown_route_is_githubs_404(sim: SimHandle) -> None:
    response = sim.client(ALICE).get("/repos/alice/demo/nothing/here")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"
