"""`hookwise triage …` commands."""

from __future__ import annotations

import typer

triage_app = typer.Typer(
    help="The triage core on files of issues (CSV or JSON Lines).", no_args_is_help=True
)
