"""Pure diff logic: patches between trees and GitHub's `position` numbering across hunks."""

from __future__ import annotations

from service.github_sim import diffs

OLD = "".join(f"line {number}\n" for number in range(1, 31))
NEW = OLD.replace("line 3\n", "line three\n").replace("line 25\n", "")


def test_file_changes_statuses_and_counts() -> None:
    changes = diffs.file_changes(
        {"kept.txt": OLD, "gone.txt": "bye\n", "same.txt": "x\n"},
        {"kept.txt": NEW, "new.txt": "hi\n", "same.txt": "x\n"},
    )
    summary = [(item.filename, item.status, item.additions, item.deletions) for item in changes]
    assert summary == [
        ("gone.txt", "removed", 0, 1),
        ("kept.txt", "modified", 1, 2),
        ("new.txt", "added", 1, 0),
    ]


def test_positions_continue_through_later_hunks() -> None:
    patch = diffs.file_changes({"f": OLD}, {"f": NEW})[0].patch
    lines = diffs.parse_patch(patch)
    # Hunk 1: "@@" then 1, 2 (context), -3, +three, 4, 5, 6 -> positions 1..7.
    assert diffs.find_line(lines, line=3, side="LEFT") == diffs.DiffLine(3, 0, "removed", 3, None)
    assert diffs.find_line(lines, line=3, side="RIGHT") == diffs.DiffLine(4, 0, "added", None, 3)
    # The second hunk's header takes position 8; its first context line (22) is position 9.
    header = diffs.find_position(lines, 8)
    assert header is None
    first_of_second = diffs.find_line(lines, line=22, side="LEFT")
    assert first_of_second is not None
    assert (first_of_second.position, first_of_second.hunk) == (9, 1)
    assert diffs.find_line(lines, line=15, side="RIGHT") is None
    removed = diffs.find_line(lines, line=25, side="LEFT")
    assert removed is not None
    assert diffs.hunk_text(patch, removed).splitlines()[-1] == "-line 25"


def test_full_diff_has_git_headers() -> None:
    text = diffs.full_diff(diffs.file_changes({"a": "1\n"}, {"b": "2\n"}))
    assert "diff --git a/a b/a\n--- a/a\ndeleted file mode 100644\n+++ /dev/null\n" in text
    assert (
        "diff --git a/b b/b\nnew file mode 100644\n--- /dev/null\n+++ b/b\n@@ -0,0 +1 @@\n+2"
        in text
    )
