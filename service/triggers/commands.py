"""Slash commands in comment bodies (`/fix make the tests pass`).

A command counts only at the start of a line (indentation allowed), as a whole word, outside fenced
code blocks and `>` quotes: quoting someone's `/fix` in a reply, or showing it in a code sample,
must not start an agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMAND_NAME = re.compile(r"/[A-Za-z0-9][A-Za-z0-9_-]*")

# CommonMark fences: up to three spaces of indentation, then three or more backticks or tildes.
_FENCE = re.compile(r" {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)")


@dataclass(frozen=True, slots=True)
class CommandMatch:
    name: str  # as configured, e.g. "/fix"
    args: str  # the rest of the line, stripped
    line: int  # 1-based line of the comment body


@dataclass(frozen=True, slots=True)
class CommandPattern:
    name: str
    _line: re.Pattern[str]

    @classmethod
    def compile(cls, name: str) -> CommandPattern:
        if not COMMAND_NAME.fullmatch(name):
            raise ValueError(
                f"command {name!r} must be a slash and a word, like /fix or /review-again"
            )
        return cls(name=name, _line=re.compile(rf"[ \t]*{re.escape(name)}(?:[ \t]+(.*))?"))

    def find(self, body: str) -> CommandMatch | None:
        """The first line of `body` that issues this command, outside code blocks and quotes."""
        open_fence: str | None = None
        for number, line in enumerate(body.splitlines(), start=1):
            fence = _FENCE.match(line)
            if open_fence is not None:
                if fence and _closes(fence, open_fence):
                    open_fence = None
                continue
            if fence and _opens(fence):
                open_fence = fence["fence"]
                continue
            if line.lstrip().startswith(">"):
                continue
            found = self._line.fullmatch(line.rstrip())
            if found:
                return CommandMatch(name=self.name, args=(found[1] or "").strip(), line=number)
        return None


def _opens(fence: re.Match[str]) -> bool:
    # A backtick fence's info string may not contain backticks (that is inline code instead).
    return not (fence["fence"][0] == "`" and "`" in fence["info"])


def _closes(fence: re.Match[str], open_fence: str) -> bool:
    marker = fence["fence"]
    return (
        marker[0] == open_fence[0] and len(marker) >= len(open_fence) and not fence["info"].strip()
    )
