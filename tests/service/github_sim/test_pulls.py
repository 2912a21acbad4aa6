"""Pull requests: create, list, get, diffs, files, commits, reviews, inline comment placement."""

from __future__ import annotations

from typing import Any

from service.github_sim.testing import SimHandle

ALICE, BOB = "alice-token", "bob-token"
BASE_FILE = "".join(f"line {number}\n" for number in range(1, 21))


def _pull(sim: SimHandle) -> dict[str, Any]:
    """A PR that rewrites line 10 of app.py and adds notes.md."""
    sim.admin.create_repo("alice", "demo", files={"app.py": BASE_FILE})
    changed = BASE_FILE.replace("line 10\n", "line ten\n")
    return sim.admin.open_pull_request(
        "alice",
        "demo",
        title="Spell out ten",
        head="ten",
        author="bob",
        files={"app.py": changed, "notes.md": "hello\n"},
    )


def test_create_list_and_get_pull_requests(sim: SimHandle, github: Any) -> None:
    sim.admin.create_repo("alice", "demo")
    sim.admin.push("alice", "demo", branch="feature", files={"f.txt": "x\n"}, author="alice")
    alice = github(ALICE)
    created = alice.post(
        "/repos/alice/demo/pulls",
        json={"title": "Feature", "head": "feature", "base": "main", "draft": True},
    )
    assert created.status_code == 201
    assert created.json()["draft"] is True
    assert created.json()["changed_files"] == 1
    again = alice.post(
        "/repos/alice/demo/pulls", json={"title": "Again", "head": "feature", "base": "main"}
    )
    assert again.status_code == 422
    missing = alice.post(
        "/repos/alice/demo/pulls", json={"title": "X", "head": "nope", "base": "main"}
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "head"

    listed = alice.get("/repos/alice/demo/pulls").json()
    assert [item["number"] for item in listed] == [1]
    assert alice.get("/repos/alice/demo/pulls", params={"head": "alice:other"}).json() == []
    got = alice.get("/repos/alice/demo/pulls/1")
    assert got.json()["head"]["ref"] == "feature"
    assert alice.get("/repos/alice/demo/pulls/7").status_code == 404
    # A pull request is an issue too.
    assert "pull_request" in alice.get("/repos/alice/demo/issues/1").json()
    closed = alice.patch("/repos/alice/demo/pulls/1", json={"state": "closed", "title": "Done"})
    assert (closed.json()["state"], closed.json()["title"]) == ("closed", "Done")
    assert alice.get("/repos/alice/demo/pulls").json() == []


def test_diff_media_type_files_and_commits(sim: SimHandle, github: Any) -> None:
    pull = _pull(sim)
    alice = github(ALICE)
    diff = alice.get(
        f"/repos/alice/demo/pulls/{pull['number']}",
        headers={"Accept": "application/vnd.github.diff"},
    )
    assert diff.status_code == 200
    assert diff.headers["content-type"].startswith("application/vnd.github.diff")
    assert "diff --git a/app.py b/app.py" in diff.text
    assert "-line 10\n+line ten\n" in diff.text
    assert "--- /dev/null\n+++ b/notes.md" in diff.text

    files = alice.get(f"/repos/alice/demo/pulls/{pull['number']}/files").json()
    assert [(item["filename"], item["status"]) for item in files] == [
        ("app.py", "modified"),
        ("notes.md", "added"),
    ]
    assert (files[0]["additions"], files[0]["deletions"]) == (1, 1)
    assert files[0]["patch"].startswith("@@ -7,7 +7,7 @@")
    page = alice.get(f"/repos/alice/demo/pulls/{pull['number']}/files", params={"per_page": 1})
    assert len(page.json()) == 1
    assert 'rel="next"' in page.headers["link"]

    commits = alice.get(f"/repos/alice/demo/pulls/{pull['number']}/commits").json()
    assert [item["sha"] for item in commits] == [pull["head"]["sha"]]
    by_commit = alice.get(f"/repos/alice/demo/commits/{pull['head']['sha']}/pulls").json()
    assert [item["number"] for item in by_commit] == [pull["number"]]
    base_sha = pull["base"]["sha"]
    assert alice.get(f"/repos/alice/demo/commits/{base_sha}/pulls").json() == []


def test_push_updates_the_pull_request(sim: SimHandle, github: Any) -> None:
    pull = _pull(sim)
    new_sha = sim.admin.push(
        "alice", "demo", branch="ten", files={"notes.md": None}, author="bob", message="drop"
    )
    alice = github(ALICE)
    refreshed = alice.get(f"/repos/alice/demo/pulls/{pull['number']}").json()
    assert refreshed["head"]["sha"] == new_sha
    assert refreshed["changed_files"] == 1
    commits = alice.get(f"/repos/alice/demo/pulls/{pull['number']}/commits").json()
    assert len(commits) == 2


def test_review_with_inline_comments_on_both_sides(sim: SimHandle, github: Any) -> None:
    pull = _pull(sim)
    number = pull["number"]
    alice = github(ALICE)
    review = alice.post(
        f"/repos/alice/demo/pulls/{number}/reviews",
        json={
            "event": "COMMENT",
            "body": "Two notes",
            "comments": [
                {"path": "app.py", "line": 10, "side": "RIGHT", "body": "new text"},
                {"path": "app.py", "line": 10, "side": "LEFT", "body": "old text"},
                {"path": "app.py", "line": 8, "body": "context line"},
                {"path": "notes.md", "position": 1, "body": "by position"},
            ],
        },
    )
    assert review.status_code == 200
    assert review.json()["state"] == "COMMENTED"
    comments = alice.get(f"/repos/alice/demo/pulls/{number}/comments").json()
    placed = [(item["path"], item["line"], item["side"], item["position"]) for item in comments]
    # app.py's patch: @@ header, lines 7-9 context (positions 1-3), -10 (4), +10 (5), context.
    assert placed == [
        ("app.py", 10, "RIGHT", 5),
        ("app.py", 10, "LEFT", 4),
        ("app.py", 8, "RIGHT", 2),
        ("notes.md", 1, "RIGHT", 1),
    ]
    assert comments[0]["diff_hunk"].endswith("+line ten")
    assert all(item["pull_request_review_id"] == review.json()["id"] for item in comments)
    reviews = alice.get(f"/repos/alice/demo/pulls/{number}/reviews").json()
    assert [item["id"] for item in reviews] == [review.json()["id"]]


def test_comments_outside_the_diff_are_rejected_with_422(sim: SimHandle, github: Any) -> None:
    pull = _pull(sim)
    number = pull["number"]
    alice = github(ALICE)
    outside = alice.post(
        f"/repos/alice/demo/pulls/{number}/reviews",
        json={
            "event": "COMMENT",
            "body": "x",
            "comments": [
                {"path": "app.py", "line": 10, "body": "fine"},
                {"path": "app.py", "line": 1, "body": "line 1 is not in the diff"},
            ],
        },
    )
    assert outside.status_code == 422
    assert outside.json()["errors"] == ["Line could not be resolved"]
    # The review is rejected as a whole: nothing was written.
    assert alice.get(f"/repos/alice/demo/pulls/{number}/comments").json() == []
    assert alice.get(f"/repos/alice/demo/pulls/{number}/reviews").json() == []

    wrong_path = alice.post(
        f"/repos/alice/demo/pulls/{number}/reviews",
        json={"event": "COMMENT", "comments": [{"path": "nope.py", "line": 1, "body": "x"}]},
    )
    assert wrong_path.json()["errors"] == ["Path could not be resolved"]
    deleted_side = alice.post(
        f"/repos/alice/demo/pulls/{number}/reviews",
        json={
            "event": "COMMENT",
            "comments": [{"path": "notes.md", "line": 1, "side": "LEFT", "body": "x"}],
        },
    )
    assert deleted_side.status_code == 422


def test_pending_reviews_are_private_drafts_that_block_a_second_review(
    sim: SimHandle, github: Any
) -> None:
    pull = _pull(sim)
    reviews = f"/repos/alice/demo/pulls/{pull['number']}/reviews"
    comments = f"/repos/alice/demo/pulls/{pull['number']}/comments"
    alice, carol = github(ALICE), github("carol-token")
    inline = [{"path": "app.py", "line": 10, "body": "draft"}]
    pending = alice.post(reviews, json={"body": "draft", "comments": inline})
    assert pending.status_code == 200
    assert pending.json()["state"] == "PENDING"
    assert "submitted_at" not in pending.json()
    # Only its author sees it; its comments are listed nowhere until it is submitted.
    assert [item["state"] for item in alice.get(reviews).json()] == ["PENDING"]
    assert carol.get(reviews).json() == []
    assert alice.get(comments).json() == []
    # While it exists, GitHub takes no other review from the same user, pending or not.
    refused = alice.post(reviews, json={"event": "COMMENT", "body": "final"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == ["User can only have one pending review per pull request"]
    assert carol.post(reviews, json={"event": "COMMENT", "body": "mine"}).status_code == 200

    review_url = f"{reviews}/{pending.json()['id']}"
    assert carol.delete(review_url).status_code == 404  # someone else's draft does not exist
    deleted = alice.delete(review_url)
    assert deleted.status_code == 200
    assert deleted.json()["id"] == pending.json()["id"]
    assert alice.delete(review_url).status_code == 404
    submitted = alice.post(reviews, json={"event": "COMMENT", "body": "final", "comments": inline})
    assert submitted.status_code == 200
    assert [item["body"] for item in alice.get(comments).json()] == ["draft"]
    not_pending = alice.delete(f"{reviews}/{submitted.json()['id']}")
    assert not_pending.status_code == 422
    assert not_pending.json()["errors"] == ["Can not delete a non-pending pull request review"]


def test_single_review_comment_and_self_approval(sim: SimHandle, github: Any) -> None:
    pull = _pull(sim)
    number = pull["number"]
    alice, bob = github(ALICE), github(BOB)
    single = alice.post(
        f"/repos/alice/demo/pulls/{number}/comments",
        json={
            "body": "multi-line",
            "commit_id": pull["head"]["sha"],
            "path": "app.py",
            "start_line": 9,
            "line": 11,
        },
    )
    assert single.status_code == 201
    assert (single.json()["start_line"], single.json()["line"]) == (9, 11)
    outside = alice.post(
        f"/repos/alice/demo/pulls/{number}/comments",
        json={"body": "x", "commit_id": pull["head"]["sha"], "path": "app.py", "line": 19},
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "pull_request_review_thread.line"

    own = bob.post(f"/repos/alice/demo/pulls/{number}/reviews", json={"event": "APPROVE"})
    assert own.status_code == 422
    approve = alice.post(f"/repos/alice/demo/pulls/{number}/reviews", json={"event": "APPROVE"})
    assert approve.json()["state"] == "APPROVED"


def test_get_commit_with_files(sim: SimHandle, github: Any) -> None:
    pull = _pull(sim)
    commit = github(ALICE).get(f"/repos/alice/demo/commits/{pull['head']['sha']}")
    assert commit.status_code == 200
    assert [item["filename"] for item in commit.json()["files"]] == ["app.py", "notes.md"]
    assert commit.json()["parents"][0]["sha"] == pull["base"]["sha"]
    by_branch = github(ALICE).get("/repos/alice/demo/commits/ten")
    assert by_branch.json()["sha"] == pull["head"]["sha"]
