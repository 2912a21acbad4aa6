"""`hookwise replay` and `hookwise simulate`: send or dry-run a payload."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from service.settings import Settings
from service.signatures import sign

if TYPE_CHECKING:
    from service.triggers import JobSpec

DEFAULT_URL = "http://127.0.0.1:8000/webhooks/github"


def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Payload JSON file.")],
    event: Annotated[str, typer.Option(help="The X-GitHub-Event value, e.g. issues.")],
    url: Annotated[str, typer.Option(help="The webhook URL.")] = DEFAULT_URL,
    delivery: Annotated[
        str | None, typer.Option(help="X-GitHub-Delivery (default: a new id).")
    ] = None,
) -> None:
    """Sign a payload with the configured secret and POST it the way GitHub does."""
    import httpx

    settings = Settings()
    body = file.read_bytes()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/hookwise-replay",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, settings.webhook_secrets[0]),
    }
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    typer.echo(f"{response.status_code} {response.text}")
    if response.status_code >= 400:
        raise typer.Exit(1)


def simulate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Payload JSON file.")],
    event: Annotated[str, typer.Option(help="The event name, e.g. pull_request.")],
    config: Annotated[
        Path | None, typer.Option(help="Config file (default: HOOKWISE_CONFIG).")
    ] = None,
) -> None:
    """Dry run: which automations match and why others do not, and what each agent would post.
    Writes nothing anywhere."""
    from service.automations import identity_for, load_central_config
    from service.triggers import ConfigError, match_event

    settings = Settings()
    try:
        automations = load_central_config(config or settings.config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    payload = json.loads(file.read_bytes())
    matched = match_event(
        automations, event=event, payload=payload, identity=identity_for(settings)
    )
    for spec in matched.jobs:
        typer.echo(f"MATCH    {spec.automation} → agent {spec.agent}")
        pending = spec.pending.to_json()
        if any(pending.values()):
            typer.echo(f"         pending checks (resolved by the worker): {json.dumps(pending)}")
        if spec.command is not None:
            typer.echo(f"         command {spec.command.name} args {spec.command.args!r}")
        typer.echo(_indent(_dry_run(spec, event=event, payload=payload)))
    for miss in matched.not_matched:
        typer.echo(f"SKIP     {miss.automation}: {miss.reason}")
    if not matched.jobs and not matched.not_matched:
        typer.echo("no automations configured")


def _dry_run(spec: JobSpec, *, event: str, payload: dict[str, Any]) -> str:
    from service.intake import new_job
    from workers.agents.base import AgentContext
    from workers.agents.registry import AGENTS

    agent = AGENTS[spec.agent]
    context = AgentContext(
        job_id="simulate",
        delivery_id="simulate",
        automation=spec.automation,
        event=event,
        action=payload.get("action"),
        payload=payload,
        options=agent.options.model_validate(dict(spec.options)),
        # The agent sees the command and its arguments exactly as the worker would pass them.
        command=new_job(delivery_id="simulate", spec=spec).command,
    )
    result = agent.load()(context)
    return json.dumps(result.model_dump(mode="json", exclude_defaults=True), indent=2)


def _indent(text: str) -> str:
    return "\n".join("         " + line for line in text.splitlines())
