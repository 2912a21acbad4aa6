"""Reviews through the publisher: one per head sha, inline comments only where the diff shows the
line (both sides), the rest in the body, and the 422 fallback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workers.github.conftest import PublishBench
from workers.agents.base import InlineComment, PermanentError, Result, Review
from workers.github.publishing import reviews as reviews_module

pytestmark = pytest.mark.timeout(60)

BASE = "".join(f"l{n}\n" for n in range(1, 21))
# Drops l3 and rewrites l15: two hunks, old 1-6 / new 1-5 and old 12-18 / new 11-17.
HEAD = "".join("" if n == 3 else "changed15\n" if n == 15 else f"l{n}\n" for n in range(1, 21))

# Each comment that fits the diff, with the diff line GitHub must anchor it to.
ANCHORED = (
    (InlineComment(path="src/app.py", line=14, side="RIGHT", body="added line"), "+changed15"),
    (InlineComment(path="src/app.py", line=15, side="LEFT", body="removed line"), "-l15"),
    (InlineComment(path="src/app.py", line=3, side="LEFT", body="removed l3"), "-l3"),
    (InlineComment(path="src/app.py", line=2, side="RIGHT", body="context, new side"), " l2"),
    (InlineComment(path="src/app.py", line=5, side="LEFT", body="old l5 = new 4"), " l5"),
    (InlineComment(path="src/app.py", line=16, side="LEFT", body="old l16"), " l16"),
    (InlineComment(path="src/app.py", start_line=11, line=14, body="one hunk"), "+changed15"),
)
FITS = tuple(comment for comment, _ in ANCHORED)
OUTSIDE = (
    InlineComment(path="src/app.py", line=8, side="RIGHT", body="between the hunks"),
    InlineComment(path="src/app.py", line=6, side="RIGHT", body="old l7: not shown"),
    InlineComment(path="src/app.py", start_line=4, line=12, body="range across hunks"),
    InlineComment(path="docs/other.md", line=1, body="file not in the PR"),
)


def open_pull(bench: PublishBench) -> dict[str, Any]:
    bench.sim.admin.push(
        bench.owner,
        bench.repo,
        branch="main",
        files={"src/app.py": BASE},
        author="alice",
        message="base",
    )
    pull: dict[str, Any] = bench.sim.admin.open_pull_request(
        bench.owner,
        bench.repo,
        title="Rework",
        head="rework",
        author="bob",
        files={"src/app.py": HEAD},
    )
    return pull


def review_context(bench: PublishBench, number: int) -> Any:
    return bench.context(
        number=None, event="pull_request", extra={"pull_request": {"number": number}}
    )


def test_inline_comments_map_to_both_sides_and_the_rest_go_to_the_body(
    bench: PublishBench,
) -> None:
    pull = open_pull(bench)
    number, sha = int(pull["number"]), pull["head"]["sha"]
    [changed] = bench.get(f"/pulls/{number}/files")
    assert changed["patch"].startswith("@@ -1,6 +1,5 @@")
    assert "@@ -12,7 +11,7 @@" in changed["patch"]

    review = Review(commit_sha=sha, body="Two remarks.", comments=FITS + OUTSIDE)
    bench.publisher().publish(
        Result(summary="s", review=review), context=review_context(bench, number)
    )

    posted = {c["body"]: c for c in bench.get(f"/pulls/{number}/comments")}
    assert sorted(posted) == sorted(comment.body for comment in FITS)
    for comment, diff_line in ANCHORED:
        # `diff_hunk` runs from the hunk header down to the line the comment sits on.
        assert posted[comment.body]["diff_hunk"].splitlines()[-1] == diff_line
        assert posted[comment.body]["start_line"] == comment.start_line
    for body in ("added line", "removed line", "removed l3"):
        [sent] = [comment for comment in FITS if comment.body == body]
        assert (posted[body]["line"], posted[body]["side"]) == (sent.line, sent.side)
    [stored] = bench.get(f"/pulls/{number}/reviews")
    assert stored["commit_id"] == sha
    assert stored["user"]["login"] == bench.sim.bot_login
    assert stored["body"].startswith("Two remarks.")
    for comment in OUTSIDE:
        assert comment.body in stored["body"]
    assert "`docs/other.md` line 1" in stored["body"]
    assert "`src/app.py` lines 4-12" in stored["body"]


def test_one_review_per_head_sha(bench: PublishBench) -> None:
    pull = open_pull(bench)
    number, sha = int(pull["number"]), pull["head"]["sha"]
    publisher = bench.publisher()
    review = Review(commit_sha=sha, body="Looks fine.", comments=FITS[:1])
    for _ in range(2):
        publisher.publish(Result(summary="s", review=review), context=review_context(bench, number))
    assert len(bench.get(f"/pulls/{number}/reviews")) == 1
    assert len(bench.get(f"/pulls/{number}/comments")) == 1

    new_head = bench.sim.admin.push(
        bench.owner, bench.repo, branch="rework", files={"NOTES.md": "x\n"}, author="bob"
    )
    again = review.model_copy(update={"commit_sha": new_head})
    publisher.publish(Result(summary="s", review=again), context=review_context(bench, number))
    assert [r["commit_id"] for r in bench.get(f"/pulls/{number}/reviews")] == [sha, new_head]


def test_a_422_moves_only_the_refused_comments_into_the_body(
    bench: PublishBench, monkeypatch: pytest.MonkeyPatch
) -> None:
    pull = open_pull(bench)
    number, sha = int(pull["number"]), pull["head"]["sha"]
    read_lines = reviews_module._commentable_lines

    def head_moves_after_the_files_are_read(pull: Any) -> Any:
        lines = read_lines(pull)
        # The race GitHub's 422 comes from: a push lands between listing the files and posting.
        # Restoring l15 removes the second hunk; the first one stays as it was.
        bench.sim.admin.push(
            bench.owner,
            bench.repo,
            branch="rework",
            files={"src/app.py": BASE.replace("l3\n", "")},
            author="bob",
        )
        return lines

    monkeypatch.setattr(reviews_module, "_commentable_lines", head_moves_after_the_files_are_read)
    first_hunk = {"removed l3", "context, new side", "old l5 = new 4"}
    review = Review(commit_sha=sha, body="Remarks.", comments=FITS)
    bench.publisher().publish(
        Result(summary="s", review=review), context=review_context(bench, number)
    )
    [stored] = bench.get(f"/pulls/{number}/reviews")  # one review, no draft left behind
    assert stored["state"] == "COMMENTED"
    assert {comment["body"] for comment in bench.get(f"/pulls/{number}/comments")} == first_hunk
    listed = stored["body"].split("**On lines outside this pull request's diff:**")[1]
    for comment in FITS:
        assert (comment.body in listed) is (comment.body not in first_hunk), comment.body


def test_a_422_github_does_not_repeat_keeps_every_comment_inline(bench: PublishBench) -> None:
    pull = open_pull(bench)
    number, sha = int(pull["number"]), pull["head"]["sha"]
    bench.sim.admin.inject_fault("error", status=422, method="POST", path=r"/reviews$")
    review = Review(commit_sha=sha, body="Remarks.", comments=FITS[:3])
    bench.publisher().publish(
        Result(summary="s", review=review), context=review_context(bench, number)
    )
    [stored] = bench.get(f"/pulls/{number}/reviews")
    assert "outside this pull request's diff" not in stored["body"]
    assert len(bench.get(f"/pulls/{number}/comments")) == 3


def test_a_draft_left_by_a_dead_probe_is_deleted_first(bench: PublishBench) -> None:
    pull = open_pull(bench)
    number, sha = int(pull["number"]), pull["head"]["sha"]
    # A worker died between a probe's pending review and its deletion.
    bot = bench.sim.client(bench.sim.installation_token(bench.installation_id))
    draft = bot.post(
        f"/repos/{bench.full_name}/pulls/{number}/reviews",
        json={"body": "", "comments": [{"path": "src/app.py", "line": 2, "body": "probe"}]},
    )
    assert draft.json()["state"] == "PENDING"
    review = Review(commit_sha=sha, body="Remarks.", comments=FITS[:1])
    bench.publisher().publish(
        Result(summary="s", review=review), context=review_context(bench, number)
    )
    listed = bot.get(f"/repos/{bench.full_name}/pulls/{number}/reviews").json()
    assert [item["state"] for item in listed] == ["COMMENTED"]
    assert [c["body"] for c in bench.get(f"/pulls/{number}/comments")] == ["added line"]


def test_a_422_without_inline_comments_fails_the_job(bench: PublishBench) -> None:
    pull = open_pull(bench)
    number, sha = int(pull["number"]), pull["head"]["sha"]
    bench.sim.admin.inject_fault("error", status=422, method="POST", path=r"/reviews$", count=2)
    review = Review(commit_sha=sha, body="Nothing inline.")
    with pytest.raises(PermanentError) as raised:
        bench.publisher().publish(
            Result(summary="s", review=review), context=review_context(bench, number)
        )
    assert raised.value.status == 422
    [fault] = bench.sim.admin.pending_faults()
    assert fault["remaining"] == 1  # no blind retry: nothing to move out of the way
