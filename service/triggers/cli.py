"""`hookwise config …` commands."""

from __future__ import annotations

import typer

config_app = typer.Typer(help="Validate automation config files.", no_args_is_help=True)
