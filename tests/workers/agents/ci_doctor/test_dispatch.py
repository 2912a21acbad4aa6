"""The registry feeds an idle parser only its `wake` lines. Each parser's contract (while not
busy, any other line changes nothing) is checked by parsing the same lines both ways: dispatched,
and with every parser fed every line. The lines are the corpus logs, raw and wrapped like an
Actions job log, all of them back to back, and shuffled soups of their lines, whose odd orders
reach states no real log does."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.agents.ci_doctor.actions import wrap_like_actions
from workers.agents.ci_doctor.lines import iter_text_lines
from workers.agents.ci_doctor.registry import PARSERS, parse_lines
from workers.agents.ci_doctor.report import Report

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "ci_logs" / "corpus"
LOGS = sorted(CORPUS.glob("*/*/output.log"))
SOUPS = 12
SOUP_LINES = 4_000


def _both_ways(text: str) -> tuple[Report, Report]:
    lines = list(iter_text_lines(text))
    return parse_lines(lines), parse_lines(lines, dispatch=False)


def _case_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}"


def test_every_parser_states_its_wake_lines() -> None:
    for parser_class in PARSERS:
        assert parser_class.wake, parser_class.name
        assert parser_class().busy is False, parser_class.name


@pytest.mark.parametrize("log", LOGS, ids=_case_id)
def test_dispatch_gives_the_same_report_on_each_corpus_log(log: Path) -> None:
    text = log.read_text(encoding="utf-8", errors="replace")
    for form in (text, wrap_like_actions(text)):
        dispatched, fed_everything = _both_ways(form)
        assert dispatched.to_json() == fed_everything.to_json()


def test_dispatch_gives_the_same_report_on_the_whole_corpus_back_to_back() -> None:
    text = "".join(log.read_text(encoding="utf-8", errors="replace") for log in LOGS)
    dispatched, fed_everything = _both_ways(text)
    assert dispatched.to_json() == fed_everything.to_json()
    assert len(dispatched.frameworks) >= 8


def _soups() -> Iterator[str]:
    pool = [
        line
        for log in LOGS
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
    ]
    rng = random.Random(5)
    for _ in range(SOUPS):
        # Runs of consecutive lines keep some blocks whole; the cuts between runs are where
        # a parser's idle state meets lines it does not expect.
        out: list[str] = []
        while len(out) < SOUP_LINES:
            start = rng.randrange(len(pool))
            out.extend(pool[start : start + rng.randint(1, 40)])
        yield "\n".join(out)


@pytest.mark.parametrize("soup", list(_soups()), ids=lambda soup: str(len(soup)))
def test_dispatch_gives_the_same_report_on_shuffled_corpus_lines(soup: str) -> None:
    dispatched, fed_everything = _both_ways(soup)
    assert dispatched.to_json() == fed_everything.to_json()
