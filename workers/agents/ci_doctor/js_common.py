"""Pieces the JavaScript parsers share: stack-frame locations and message excerpts."""

from __future__ import annotations

import re

# `at fn (test/x.test.js:9:25)`, `at test/x.test.js:9:25`, `❯ fn test/x.test.js:9:25`,
# `file:///abs/test/x.test.js:9:25`: a path, a line and a column at the end of the line.
_FRAME_LOCATION = re.compile(r"(?:\(|\s|^)(?:file://)?([^\s()]{1,500}):(\d{1,7}):\d{1,7}\)?$")
_CODE_FRAME = re.compile(r"\s*(?:>\s*)?\d{1,7} ?\|")
MAX_MESSAGE_LINES = 12


def frame_location(line: str) -> tuple[str, int] | None:
    """The file and line a stack-frame line points at, if it points at one."""
    found = _FRAME_LOCATION.search(line)
    if found is None:
        return None
    return found.group(1), int(found.group(2))


def is_code_frame(line: str) -> bool:
    """A line of the source excerpt jest and vitest print under an error (`  12 |  code`)."""
    return _CODE_FRAME.match(line) is not None


def is_dependency(path: str) -> bool:
    return "node_modules/" in path or path.startswith(("node:", "internal/"))


def relative_to(path: str, root: str) -> str:
    if root and path.startswith(root):
        return path[len(root) :].lstrip("/")
    return path
