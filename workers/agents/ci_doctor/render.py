"""How a report reads on a terminal. Excerpts are log text, so control characters are removed
before printing: a log must not be able to drive the reader's terminal."""

from __future__ import annotations

from workers.agents.ci_doctor.report import Failure, Report
from workers.agents.untrusted import strip_invisible

_INDENT = "    "


def render_text(report: Report) -> str:
    lines = [
        f"frameworks: {', '.join(report.frameworks) or 'none'}",
        f"build error: {'yes' if report.build_error else 'no'}",
        f"failures: {len(report.failures)}",
    ]
    for failure in report.failures:
        lines.append("")
        lines.append(_headline(failure))
        lines.extend(_INDENT + line for line in strip_invisible(failure.excerpt).splitlines())
    return "\n".join(lines)


def _headline(failure: Failure) -> str:
    where = ""
    if failure.file:
        where = f"  ({failure.file}:{failure.line})" if failure.line else f"  ({failure.file})"
    name = failure.id or "(no test id)"
    return strip_invisible(f"{failure.kind.value.upper()}  {name}{where}")
