"""`hookwise triage …` commands."""

from __future__ import annotations

import typer

triage_app = typer.Typer(
    help="The triage core on files of issues (CSV or JSON Lines).", no_args_is_help=True
)


def _register_subcommands() -> None:
    from workers.agents.triage import duplicates_cli

    duplicates_cli.register(triage_app)


_register_subcommands()
