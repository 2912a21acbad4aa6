"""Large benchmark logs, generated at bench time from the committed corpus (never committed).

Two shapes: a GitHub Actions job log of a long pytest `-v` run (mostly passing-test lines, a few
failure sections: what a big CI log looks like), and every corpus log of every framework
concatenated raw (exercises every parser's slow paths).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from workers.agents.ci_doctor.actions import wrap_like_actions

# A passing-test line below, with the runner's timestamp and colour codes around it.
_WRAPPED_LINE_BYTES = 126
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ci_logs" / "corpus"


def pytest_actions_log(size_bytes: int) -> bytes:
    """A long pytest -v run wrapped like an Actions log, about `size_bytes` long, with the
    failures of the corpus's verbose pytest case at its end."""
    failing = (CORPUS / "pytest" / "verbose" / "output.log").read_text(encoding="utf-8")
    head, _, tail = failing.partition("\n\n")
    passing = [
        f"tests/pkg_{n % 97}/test_mod_{n % 13}.py::TestThing::test_case_{n} PASSED"
        f"{' ' * 20}[{n % 100:3d}%]"
        for n in range(size_bytes // _WRAPPED_LINE_BYTES)
    ]
    text = "\n".join([head, "", *passing, tail])
    return wrap_like_actions(text, command="pytest -v").encode("utf-8")


def corpus_mix_log(size_bytes: int) -> bytes:
    """Every corpus log, raw, repeated until `size_bytes`."""
    logs = [path.read_bytes() for path in sorted(CORPUS.glob("*/*/output.log"))]
    if not logs:
        raise FileNotFoundError(f"no corpus under {CORPUS}")
    out = bytearray()
    for log in _cycle(logs):
        if len(out) >= size_bytes:
            break
        out += log
    return bytes(out[:size_bytes])


def _cycle(items: list[bytes]) -> Iterator[bytes]:
    while True:
        yield from items
