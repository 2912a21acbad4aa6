"""`hookwise ci-log …` commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

ci_log_app = typer.Typer(
    help="The CI-log core on raw, GitHub Actions or JUnit XML logs.", no_args_is_help=True
)


@ci_log_app.command("parse")
def parse(
    file: Annotated[
        Path,
        typer.Argument(
            help="Raw console log, GitHub Actions job log or JUnit XML; '-' reads stdin.",
            allow_dash=True,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the typed report as JSON.")
    ] = False,
) -> None:
    """Find the failed tests, build errors and their excerpts in a CI log."""
    from workers.agents.ci_doctor.registry import parse_file, parse_log
    from workers.agents.ci_doctor.render import render_text

    if str(file) == "-":
        report = parse_log(sys.stdin.buffer)
    elif not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
    else:
        report = parse_file(file)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(report))
