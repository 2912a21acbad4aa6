"""The publisher's pure parts: targets, markers, diff-line placement, annotation bookkeeping; and
the `published_outputs` migration matching its model."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from service.store.models import Base
from tests.conftest import WEBHOOK_EXAMPLES
from workers.agents.base import Annotation, InlineComment, PermanentError
from workers.github.publishing import markers
from workers.github.publishing.checks import (
    ANNOTATIONS_PER_REQUEST,
    MAX_OUTPUT_CHARS,
    chunks,
    clip,
    identity,
    undelivered,
)
from workers.github.publishing.diff_lines import (
    CommentableLines,
    inline_payload,
    parse_file_patch,
    place_comments,
    review_body,
)
from workers.github.publishing.reviews import split_refused
from workers.github.publishing.target import target_for


def example(event: str, name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((WEBHOOK_EXAMPLES / event / name).read_text())
    return loaded


@pytest.mark.usefixtures("shared_dir")
def test_targets_from_real_payloads() -> None:
    issue = target_for("issues", example("issues", "opened.payload.json"))
    assert issue.repository.count("/") == 1
    assert issue.number is not None
    assert issue.comment_id is None

    comment_payload = example("issue_comment", "created.payload.json")
    comment = target_for("issue_comment", comment_payload)
    assert comment.comment_id == comment_payload["comment"]["id"]  # type: ignore[index]
    assert not comment.review_comment

    review_comment = target_for(
        "pull_request_review_comment",
        example("pull_request_review_comment", "created.payload.json"),
    )
    assert review_comment.review_comment
    assert review_comment.number is not None


def test_check_events_take_the_first_pull_request_or_keep_the_sha() -> None:
    base = {"repository": {"full_name": "o/r"}, "installation": {"id": 7}}
    with_pulls = {**base, "check_run": {"head_sha": "abc", "pull_requests": [{"number": 4}]}}
    assert target_for("check_run", with_pulls).number == 4
    from_fork = {**base, "workflow_run": {"head_sha": "abc", "pull_requests": []}}
    target = target_for("workflow_run", from_fork)
    assert (target.number, target.head_sha, target.installation_id) == (None, "abc", 7)
    assert target_for("push", {"repository": {"full_name": "o/r"}}).installation_id is None
    with pytest.raises(PermanentError):
        target_for("ping", {"zen": "hi"})


def test_markers_never_match_each_other() -> None:
    sticky = markers.sticky_comment("greet")
    others = [
        markers.sticky_comment("greet-2"),
        markers.sticky_comment("gree"),
        markers.job_comment("greet", job_id="j", index=0),
        markers.review("greet", commit_sha="abc"),
    ]
    assert not any(markers.has_marker(other, sticky) for other in others)
    assert "-->" not in markers.sticky_comment("a --> b")[: -len(" -->")]
    assert markers.has_marker(markers.with_marker("hi", sticky), sticky)


PATCH = "@@ -1,6 +1,5 @@\n l1\n l2\n-l3\n l4\n l5\n l6\n@@ -12,3 +11,3 @@\n l12\n-l13\n+new13\n l14"


def test_commentable_lines_per_side_and_hunk() -> None:
    hunks = parse_file_patch(PATCH)
    assert [sorted(h.right) for h in hunks] == [[1, 2, 3, 4, 5], [11, 12, 13]]
    assert [sorted(h.left) for h in hunks] == [[1, 2, 3, 4, 5, 6], [12, 13, 14]]
    assert parse_file_patch(None) == ()  # binary or too large: GitHub sends no patch
    new_file = parse_file_patch("@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file")
    assert [(sorted(h.right), sorted(h.left)) for h in new_file] == [([1, 2], [])]


def test_place_comments_keeps_what_github_accepts() -> None:
    lines = CommentableLines.from_patches({"a.py": PATCH, "logo.png": None})
    fits = [
        InlineComment(path="a.py", line=12, body="new13"),
        InlineComment(path="a.py", line=13, side="LEFT", body="old l13"),
        InlineComment(path="a.py", line=6, side="LEFT", body="old l6, context"),
        InlineComment(path="a.py", start_line=1, line=4, body="range"),
    ]
    outside = [
        InlineComment(path="a.py", line=6, body="new 6 is old l7: hidden"),
        InlineComment(path="a.py", start_line=3, line=12, body="across hunks"),
        InlineComment(path="a.py", start_line=4, line=4, body="empty range"),
        InlineComment(path="logo.png", line=1, body="binary"),
        InlineComment(path="missing.py", line=1, body="not in the PR"),
    ]
    placement = place_comments(fits + outside, lines)
    assert list(placement.inline) == fits
    assert list(placement.outside) == outside


def test_split_refused_finds_the_bad_comments_in_few_probes() -> None:
    comments = tuple(InlineComment(path="a.py", line=n, body=f"c{n}") for n in range(1, 17))
    bad = {5, 12}
    probes: list[int] = []

    def accepts(some: tuple[InlineComment, ...]) -> bool:
        probes.append(len(some))
        return not any(comment.line in bad for comment in some)

    accepted, refused = split_refused(comments, accepts=accepts)
    assert [c.line for c in refused] == [5, 12]
    assert [c.line for c in accepted] == [n for n in range(1, 17) if n not in bad]
    assert len(probes) <= 2 * 2 * 4  # two bad ones, about 2·log2(16) probes each
    assert split_refused(comments[:1], accepts=accepts) == ((), comments[:1])


def test_inline_payload_and_review_body() -> None:
    ranged = InlineComment(path="a.py", start_line=1, line=4, side="LEFT", body="x")
    assert inline_payload(ranged) == {
        "path": "a.py",
        "line": 4,
        "side": "LEFT",
        "body": "x",
        "start_line": 1,
        "start_side": "LEFT",
    }
    assert review_body("Body", []) == "Body"
    body = review_body("Body", [ranged, InlineComment(path="b.py", line=2, body="two\nlines")])
    assert body.splitlines()[-2:] == ["- `b.py` line 2: two", "  lines"]
    assert "- `a.py` lines 1-4 (old version): x" in body


def _annotation(n: int, message: str = "m") -> Annotation:
    return Annotation(path="a.py", start_line=n, end_line=n, message=message)


def test_undelivered_counts_duplicates_and_keeps_order() -> None:
    wanted = [_annotation(1), _annotation(1), _annotation(2), _annotation(3)]
    present = [identity(_annotation(1)), identity(_annotation(3)), identity(_annotation(9))]
    assert undelivered(wanted, present) == [_annotation(1), _annotation(2)]


def test_annotations_go_in_batches_of_50_and_text_is_clipped() -> None:
    many = [_annotation(n) for n in range(1, 121)]
    assert [len(batch) for batch in chunks(many)] == [50, 50, 20]
    assert ANNOTATIONS_PER_REQUEST == 50
    assert clip("short") == "short"
    clipped = clip("x" * (MAX_OUTPUT_CHARS + 10))
    assert len(clipped) == MAX_OUTPUT_CHARS
    assert clipped.endswith("(truncated)")


def test_published_outputs_migration_matches_the_model(engine: Engine) -> None:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [diff for diff in diffs if "published_outputs" in repr(diff)]
    assert ours == []
