"""`hookwise github-sim`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _parse_users(values: list[str]) -> dict[str, str]:
    users: dict[str, str] = {}
    for value in values:
        login, separator, token = value.partition("=")
        if not separator or not login or not token:
            raise typer.BadParameter(f"expected LOGIN=TOKEN, got {value!r}", param_hint="--user")
        users[login] = token
    return users


def _reachable(host: str) -> str:
    """A wildcard bind address is no address to put in URLs; point local clients at loopback."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)


def _public_key_from(path: Path) -> str:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise typer.BadParameter(
            f"cannot read a PEM private key: {error}", param_hint="--app-key"
        ) from error
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def github_sim(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    user: Annotated[
        list[str] | None,
        typer.Option(help="An account and the personal token it uses: LOGIN=TOKEN (repeatable)."),
    ] = None,
    app_id: Annotated[int | None, typer.Option(help="The GitHub App's id (the JWT `iss`).")] = None,
    app_key: Annotated[
        Path | None,
        typer.Option(help="The App's private key (PEM); App JWTs must be signed with it."),
    ] = None,
    app_slug: Annotated[
        str, typer.Option(help="The App's slug; the App acts as the user `<slug>\\[bot]`.")
    ] = "hookwise-sim",
    state: Annotated[
        Path | None,
        typer.Option(help="JSON file to load the state from and save it to after each change."),
    ] = None,
    token_ttl: Annotated[
        int, typer.Option(help="Lifetime of installation tokens in seconds (GitHub: 3600).")
    ] = 3600,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL clients use to reach the simulator (default http://HOST:PORT)."
        ),
    ] = None,
) -> None:
    """Run the local GitHub API simulator (REST API, webhooks, App auth, fault injection)."""
    from datetime import timedelta

    import uvicorn

    from service.github_sim.server import SimConfig, create_app

    if (app_id is None) != (app_key is None):
        raise typer.BadParameter("--app-id and --app-key go together", param_hint="--app-id")
    config = SimConfig(
        public_url=public_url or f"http://{_reachable(host)}:{port}",
        users=_parse_users(user or []),
        app_id=app_id,
        app_slug=app_slug,
        app_public_key_pem=_public_key_from(app_key) if app_key is not None else None,
        state_file=state,
        installation_token_ttl=timedelta(seconds=token_ttl),
    )
    typer.echo(f"github-sim answering at {config.public_url}", err=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
