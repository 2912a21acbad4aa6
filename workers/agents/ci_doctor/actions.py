"""GitHub Actions job logs: undoing the runner's decoration, and (for tests) redoing it.

A downloaded job log prefixes every line with an ISO timestamp carrying seven fractional digits,
frames each step's header in `##[group]`/`##[endgroup]`, turns workflow commands into
`##[error]`/`##[warning]` markers and keeps the tools' ANSI colours. Several steps (checkout,
setup, cache, post-job cleanup) surround the one that ran the tests. Parsers only ever see lines
with all of that removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z(?: |$)")
# CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks, titles); each part is a
# single character class, so matching is linear in the line length.
_ANSI = re.compile(
    r"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]"
)
# Lines that only structure the log: they carry no tool output.
_STRUCTURE_MARKERS = ("##[group]", "##[endgroup]")
# Markers the runner puts in front of a tool's own text; the text is kept.
_TEXT_MARKERS = (
    "##[error]",
    "##[warning]",
    "##[notice]",
    "##[debug]",
    "##[command]",
    "##[section]",
)
_BOM = "\ufeff"


def unwrap_line(line: str) -> str | None:
    """One log line as the tool printed it, or None for a line the runner added for structure."""
    if line.startswith(_BOM):
        line = line[1:]
    if line[:1].isdigit():
        # The runner's own stamp is fixed-width (`2024-01-15T10:20:30.1234567Z `): check its
        # shape cheaply, and use the regex only for other widths.
        if line[27:29] == "Z " and line[10:11] == "T" and line[19:20] == ".":
            line = line[29:]
        else:
            stamp = _TIMESTAMP.match(line)
            if stamp is not None:
                line = line[stamp.end() :]
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if line.startswith("##["):
        if line.startswith(_STRUCTURE_MARKERS):
            return None
        for marker in _TEXT_MARKERS:
            if line.startswith(marker):
                return line[len(marker) :]
    return line


def unwrap(lines: Iterable[str]) -> Iterator[str]:
    """The tool output of a raw or GitHub Actions log, line by line."""
    for line in lines:
        plain = unwrap_line(line)
        if plain is not None:
            yield plain


_SETUP_STEP = (
    "##[group]Runner Image",
    "Image: ubuntu-24.04",
    "Version: 20240115.1.0",
    "##[endgroup]",
    "##[group]Run actions/checkout@v4",
    "with:",
    "  repository: octo-org/octo-repo",
    "  fetch-depth: 1",
    "##[endgroup]",
    "Syncing repository: octo-org/octo-repo",
    "[command]/usr/bin/git version",
    "git version 2.43.0",
    "##[group]Run actions/setup-node@v4",
    "Found in cache @ /opt/hostedtoolcache/node/20.11.0/x64",
    "##[endgroup]",
    "##[warning]The `set-output` command is deprecated and will be disabled soon.",
)
_POST_STEP = (
    "Post job cleanup.",
    "[command]/usr/bin/git version",
    "git version 2.43.0",
    "[command]/usr/bin/git config --local --name-only --get-regexp core\\.sshCommand",
    "Cleaning up orphan processes",
)
_COLOURED_WORDS = {
    "FAIL": "\x1b[31m",
    "Error": "\x1b[31m",
    "✕": "\x1b[31m",
    "×": "\x1b[31m",
    "PASS": "\x1b[32m",
    "✓": "\x1b[32m",
    "passed": "\x1b[32m",
}


def wrap_like_actions(
    text: str, *, command: str = "make test", start: datetime | None = None
) -> str:
    """Decorate a tool's console output the way a downloaded GitHub Actions job log shows it.

    Used by tests to check that parsing the wrapped form gives what parsing the raw form gives.
    """
    clock = start or datetime(2024, 1, 15, 10, 20, 30, 123456, tzinfo=UTC)
    step_header = (
        f"##[group]Run {command}",
        command,
        "shell: /usr/bin/bash -e {0}",
        "##[endgroup]",
    )
    body = [_colour(line) for line in text.splitlines()]
    exit_line = ("##[error]Process completed with exit code 1.",)
    out: list[str] = []
    for index, line in enumerate((*_SETUP_STEP, *step_header, *body, *exit_line, *_POST_STEP)):
        stamp = (clock + timedelta(microseconds=1_337 * index)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        out.append(f"{stamp}0Z {line}")
    return _BOM + "\n".join(out) + "\n"


def _colour(line: str) -> str:
    for word, code in _COLOURED_WORDS.items():
        if word in line:
            return line.replace(word, f"{code}{word}\x1b[0m", 1)
    return line
