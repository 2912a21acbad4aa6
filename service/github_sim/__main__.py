"""`python -m service.github_sim`: the simulator without loading the rest of the `hookwise` CLI."""

from __future__ import annotations

import typer

from service.github_sim.cli import github_sim

if __name__ == "__main__":
    typer.run(github_sim)
