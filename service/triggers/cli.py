"""`hookwise config …` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

config_app = typer.Typer(help="Validate automation config files.", no_args_is_help=True)


@config_app.command("check")
def check(
    file: Annotated[
        Path, typer.Argument(help="The config file (hookwise.yml or .github/hookwise.yml).")
    ],
) -> None:
    """Validate a config file: every error as FILE:LINE:COLUMN: message, exit 1 if any."""
    from service.triggers import ConfigError, load_config_file
    from workers.agents.registry import agent_options

    try:
        config = load_config_file(file, agents=agent_options())
    except ConfigError as error:
        for issue in error.issues:
            typer.echo(str(issue))
        count = len(error.issues)
        typer.echo(f"{count} error{'s' if count != 1 else ''} in {file}", err=True)
        raise typer.Exit(code=1) from error
    enabled = sum(1 for automation in config.automations if automation.enabled)
    typer.echo(f"{file}: OK, {len(config.automations)} automations ({enabled} enabled)")
    for automation in config.automations:
        state = "" if automation.enabled else " (disabled)"
        events = ", ".join(automation.events)
        typer.echo(f"  {automation.name}: on {events} → {automation.agent}{state}")
