"""The `hookwise` command.

Each feature contributes its own Typer sub-app; this module only composes them. Sub-app modules
import nothing heavy at module level so that `hookwise --help` stays fast.
"""

from __future__ import annotations

import typer

from service.commands.demo import demo
from service.commands.replay import replay, simulate
from service.commands.run import beat, db_app, serve, worker
from service.github_sim.cli import github_sim
from service.triggers.cli import config_app
from workers.agents.ci_doctor.cli import ci_log_app
from workers.agents.triage.cli import triage_app

app = typer.Typer(
    name="hookwise",
    help="Self-hosted automation for code repositories.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(serve)
app.command()(worker)
app.command()(beat)
app.command()(replay)
app.command()(simulate)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(triage_app, name="triage")
app.add_typer(ci_log_app, name="ci-log")
app.command("github-sim")(github_sim)
app.command()(demo)


def main() -> None:
    app()
