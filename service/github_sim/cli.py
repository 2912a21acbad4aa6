"""`hookwise github-sim`."""

from __future__ import annotations


def github_sim() -> None:
    """Run the local GitHub API simulator."""
    raise SystemExit("the GitHub simulator is not built yet")
