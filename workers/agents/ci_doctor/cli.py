"""`hookwise ci-log …` commands."""

from __future__ import annotations

import typer

ci_log_app = typer.Typer(
    help="The CI-log core on raw, GitHub Actions or JUnit XML logs.", no_args_is_help=True
)
