"""`hookwise triage duplicates-eval` (registered on the triage sub-app by `register`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the duplicate-detection commands to `app`."""
