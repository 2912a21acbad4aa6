from __future__ import annotations

from workers.agents.ci_doctor.registry import parse_text
from workers.agents.ci_doctor.report import FailureKind

MAKE_LOG = """\
gcc -c -o build/main.o src/main.c
src/main.c:12:5: error: implicit declaration of function 'frobnicate'
   12 |     frobnicate(x);
      |     ^~~~~~~~~~
make: *** [Makefile:8: build/main.o] Error 1

thread 'main' panicked at src/lib.rs:3:5:
panic: index out of range
"""


def test_unknown_logs_get_blocks_without_invented_ids() -> None:
    report = parse_text(MAKE_LOG)
    assert report.frameworks == ["unknown"]
    assert report.build_error is False
    assert report.failures
    assert all(failure.id == "" for failure in report.failures)
    first = report.failures[0]
    assert first.kind == FailureKind.ERROR
    assert (first.file, first.line) == ("src/main.c", 12)
    assert "implicit declaration of function 'frobnicate'" in first.excerpt
    assert any("index out of range" in failure.excerpt for failure in report.failures)


def test_a_clean_log_has_no_failures() -> None:
    report = parse_text("installing…\nall good\n")
    assert report.frameworks == ["unknown"]
    assert report.failures == []
