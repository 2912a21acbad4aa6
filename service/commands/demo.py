"""`hookwise demo`: the whole loop on one machine, no GitHub account needed.

It starts the GitHub simulator and `hookwise serve` (embedded worker, SQLite, a scratch data
directory), installs the simulator's App on a fresh repository with its webhook pointing at the
service (or, with `--with-token`, uses a bot user's personal token and a repository webhook), opens
an issue as a newcomer, and prints the `respond` agent's comments as they arrive on the issue.
Everything it started is stopped when it ends, also on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import httpx

    from service.github_sim.testing import SimHandle

OWNER = "octo-owner"
NEWCOMER = "new-contributor"
BOT = "hookwise-demo-bot"
REPOSITORY = "hello-hookwise"
SERVICE_STARTUP_S = 45.0
STOP_GRACE_S = 20.0
POLL_INTERVAL_S = 0.2

DEMO_CONFIG = r"""version: 1
automations:
  - name: welcome
    on: {issues: {types: [opened]}, pull_request: {types: [opened]}}
    agent: respond
    with:
      when: {first_time_contributor: true}
      comment: "Thanks for your first issue here, @{{ sender.login }}! A maintainer will reply."
      labels: [first-timer]
  - name: needs-info
    on: {issues: {types: [opened, edited]}}
    agent: respond
    with:
      when: {missing_info: true}
      comment: |
        To help us reproduce #{{ issue.number }}, could you add:
        {% for m in missing %}
        - {{ m.ask }}
        {%- endfor %}
      labels: [needs-info]
  - name: label-by-text
    on: {issues: {types: [opened]}}
    agent: respond
    with:
      rules:
        - {labels: [bug], title: "(?i)\\b(crash(es)?|error|fails?)\\b"}
"""

ISSUE_TITLE = "The editor crashes when I save a file"
ISSUE_BODY = """### What happened?

Saving any file closes the editor without a message.

### Steps to reproduce

<!-- 1. Open a file  2. ... -->

### Version

_No response_
"""


class DemoFailed(Exception):
    """Something the demo needs did not happen; the message says what."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """How the service authenticates to the simulator, as `HOOKWISE_*` settings."""

    settings: Mapping[str, str]
    description: str


def service_environment(
    *,
    base: Mapping[str, str],
    data_dir: Path,
    config_path: Path,
    api_url: str,
    webhook_secret: str,
    api_token: str,
    credentials: Credentials,
) -> dict[str, str]:
    """The service's environment: the caller's, minus any HOOKWISE_* setting of theirs (a broker
    or database URL there must not leak into a throw-away demo), plus the demo's own."""
    env = {key: value for key, value in base.items() if not key.startswith("HOOKWISE_")}
    env.update(
        {
            "HOOKWISE_DATA_DIR": str(data_dir),
            "HOOKWISE_CONFIG": str(config_path),
            "HOOKWISE_WEBHOOK_SECRET": webhook_secret,
            "HOOKWISE_API_TOKEN": api_token,
            "HOOKWISE_GITHUB_API_URL": api_url,
            # The simulator needs none of the pacing real GitHub asks of integrations.
            "HOOKWISE_GITHUB_WRITE_INTERVAL_SECONDS": "0",
            "HOOKWISE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **credentials.settings,
        }
    )
    return env


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _wait_for_service(service: Service, *, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise DemoFailed(
                f"hookwise serve exited with {service.process.returncode}:\n{service.log_tail()}"
            )
        try:
            if httpx.get(f"{service.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise DemoFailed(f"hookwise serve did not answer within {timeout:.0f} s:\n{service.log_tail()}")


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the service (it stops its embedded worker itself), then SIGKILL to whatever of
    its process group is left. A second Ctrl-C skips the grace period instead of leaving orphans."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired, KeyboardInterrupt):
            process.wait(timeout=STOP_GRACE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def running_service(*, env: Mapping[str, str], port: int, log_path: Path) -> Iterator[Service]:
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        # Its own session: a Ctrl-C in the terminal reaches only the demo, which then stops the
        # service and its worker in order.
        process = subprocess.Popen(
            command,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=env["HOOKWISE_DATA_DIR"],
            start_new_session=True,
        )
        try:
            service = Service(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
            _wait_for_service(service, timeout=SERVICE_STARTUP_S)
            yield service
        finally:
            _stop_process_group(process)


def app_credentials(sim: SimHandle) -> Credentials:
    return Credentials(
        settings={
            "HOOKWISE_GITHUB_APP_ID": str(sim.app_id),
            "HOOKWISE_GITHUB_PRIVATE_KEY_PATH": str(sim.app_key_path),
        },
        description=f"as GitHub App {sim.app_id} ({sim.bot_login})",
    )


def token_credentials(sim: SimHandle) -> Credentials:
    return Credentials(
        settings={"HOOKWISE_GITHUB_TOKEN": sim.token(BOT)},
        description=f"with the personal token of {BOT}",
    )


def connect_repository(sim: SimHandle, *, webhook_url: str, secret: str, with_token: bool) -> str:
    """Create the repository and point its events at the service, as its owner would."""
    sim.admin.create_repo(OWNER, REPOSITORY, description="Where the Hookwise demo happens")
    if not with_token:
        installation = sim.admin.create_installation(OWNER, repositories=[REPOSITORY])
        sim.admin.set_app_webhook(webhook_url, secret=secret)
        return f"App installation {installation} on {OWNER}/{REPOSITORY}, App webhook → service"
    sim.admin.set_permission(OWNER, REPOSITORY, BOT, "write")
    response = sim.client(sim.token(OWNER)).post(
        f"/repos/{OWNER}/{REPOSITORY}/hooks",
        json={
            "name": "web",
            "active": True,
            "events": ["issues", "issue_comment", "pull_request"],
            "config": {"url": webhook_url, "content_type": "json", "secret": secret},
        },
    )
    response.raise_for_status()
    return f"repository webhook {response.json()['id']} on {OWNER}/{REPOSITORY} → service"


def open_issue(sim: SimHandle) -> int:
    response = sim.client(sim.token(NEWCOMER)).post(
        f"/repos/{OWNER}/{REPOSITORY}/issues", json={"title": ISSUE_TITLE, "body": ISSUE_BODY}
    )
    response.raise_for_status()
    number: int = response.json()["number"]
    return number


@dataclass
class Watch:
    """What has been printed so far while the issue is being answered."""

    comment_ids: set[int] = field(default_factory=set)
    finished_jobs: dict[str, str] = field(default_factory=dict)
    jobs_total: int | None = None

    @property
    def done(self) -> bool:
        return self.jobs_total is not None and len(self.finished_jobs) == self.jobs_total


def _quote(body: str) -> str:
    """The comment as GitHub shows it: hidden HTML comments (the sticky marker) left out."""
    from workers.agents.untrusted import strip_html_comments

    lines = strip_html_comments(body).strip().splitlines()
    return "\n".join(f"  │ {line}".rstrip() for line in lines)


def _print_new_comments(github: httpx.Client, number: int, watch: Watch, started: float) -> None:
    path = f"/repos/{OWNER}/{REPOSITORY}/issues/{number}/comments"
    for comment in github.get(path).raise_for_status().json():
        if comment["id"] in watch.comment_ids:
            continue
        watch.comment_ids.add(comment["id"])
        elapsed = time.monotonic() - started
        typer.echo(f"\ncomment by {comment['user']['login']} after {elapsed:.1f} s:")
        typer.echo(_quote(comment["body"]))


def _jobs_of_opened_issue(api: httpx.Client) -> list[dict[str, Any]] | None:
    deliveries = api.get("/api/deliveries", params={"event": "issues"}).raise_for_status().json()
    opened = [delivery for delivery in deliveries if delivery["action"] == "opened"]
    if not opened:
        return None
    detail = api.get(f"/api/deliveries/{opened[0]['id']}").raise_for_status().json()
    jobs: list[dict[str, Any]] = detail["jobs"]
    return jobs if detail["state"] != "received" else None


_FINISHED = {"succeeded", "failed", "skipped", "cancelled"}


def _print_finished_jobs(api: httpx.Client, watch: Watch) -> None:
    jobs = _jobs_of_opened_issue(api)
    if jobs is None:
        return
    watch.jobs_total = len(jobs)
    for job in jobs:
        if job["state"] in _FINISHED and job["automation"] not in watch.finished_jobs:
            watch.finished_jobs[job["automation"]] = job["state"]
            reason = f": {job['reason']}" if job["reason"] else ""
            typer.echo(f"  job {job['automation']} {job['state']}{reason}")


def watch_issue(
    *, sim: SimHandle, service: Service, api_token: str, number: int, deadline: float
) -> Watch:
    import httpx

    watch = Watch()
    started = time.monotonic()
    github = sim.client(sim.token(OWNER))
    with httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {api_token}"}, timeout=10
    ) as api:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise DemoFailed(f"hookwise serve stopped:\n{service.log_tail()}")
            _print_finished_jobs(api, watch)
            _print_new_comments(github, number, watch, started)
            if watch.done:
                return watch
            time.sleep(POLL_INTERVAL_S)
    return watch


def _labels(sim: SimHandle, number: int) -> list[str]:
    issue = sim.client(sim.token(OWNER)).get(f"/repos/{OWNER}/{REPOSITORY}/issues/{number}")
    return [label["name"] for label in issue.raise_for_status().json()["labels"]]


def run_demo(*, timeout: float, with_token: bool, scratch: Path) -> None:
    from service.github_sim.testing import free_port, run_simulator

    started = time.monotonic()
    deadline = started + timeout
    users = {OWNER: secrets.token_hex(8), NEWCOMER: secrets.token_hex(8)}
    if with_token:
        users[BOT] = secrets.token_hex(8)
    config_path = scratch / "hookwise.yml"
    config_path.write_text(DEMO_CONFIG, encoding="utf-8")
    webhook_secret = secrets.token_hex(16)
    api_token = secrets.token_hex(16)
    with run_simulator(users=users) as sim:
        typer.echo(f"GitHub simulator   {sim.api_url}")
        credentials = token_credentials(sim) if with_token else app_credentials(sim)
        env = service_environment(
            base=os.environ,
            data_dir=scratch,
            config_path=config_path,
            api_url=sim.api_url,
            webhook_secret=webhook_secret,
            api_token=api_token,
            credentials=credentials,
        )
        port = free_port()
        with running_service(env=env, port=port, log_path=scratch / "serve.log") as service:
            webhook_url = f"{service.url}/webhooks/github"
            typer.echo(f"Hookwise service   {webhook_url} {credentials.description}")
            typer.echo(f"automations        {', '.join(demo_automations())} (agent respond)")
            hookup = connect_repository(
                sim, webhook_url=webhook_url, secret=webhook_secret, with_token=with_token
            )
            typer.echo(f"connected          {hookup}")
            number = open_issue(sim)
            typer.echo(f'issue #{number}           "{ISSUE_TITLE}" opened by {NEWCOMER}')
            typer.echo("waiting for Hookwise's answer…")
            watch = watch_issue(
                sim=sim, service=service, api_token=api_token, number=number, deadline=deadline
            )
            typer.echo(f"\nlabels on #{number}: {', '.join(_labels(sim, number)) or 'none'}")
            check_outcome(watch, timeout=timeout, service=service)
            typer.echo(f"the whole loop took {time.monotonic() - started:.1f} s; stopping")


def check_outcome(watch: Watch, *, timeout: float, service: Service) -> None:
    """Raise DemoFailed unless every job finished, none failed, and a comment arrived."""
    if not watch.done:
        raise DemoFailed(f"not every job finished within {timeout:.0f} s:\n{service.log_tail()}")
    failed = sorted(name for name, state in watch.finished_jobs.items() if state == "failed")
    if failed:
        raise DemoFailed(f"job(s) failed: {', '.join(failed)} (reasons above)")
    if not watch.comment_ids:
        raise DemoFailed("every job finished, but no comment arrived on the issue")


def demo_automations() -> list[str]:
    """The demo config's automations, loaded as the service loads it (so it is checked too)."""
    from service.triggers import load_config
    from workers.agents.registry import agent_options

    config = load_config(DEMO_CONFIG, source="demo config", agents=agent_options())
    return [automation.name for automation in config.automations]


def demo(
    timeout: Annotated[
        int, typer.Option(min=5, help="Give up after this many seconds (exit status 1).")
    ] = 60,
    with_token: Annotated[
        bool,
        typer.Option(
            "--with-token",
            help="Authenticate with a bot user's personal token and a repository webhook "
            "instead of a GitHub App.",
        ),
    ] = False,
) -> None:
    """See the whole loop: a simulated GitHub, Hookwise and its worker, an issue, the answer."""
    try:
        with tempfile.TemporaryDirectory(prefix="hookwise-demo-") as scratch:
            run_demo(timeout=timeout, with_token=with_token, scratch=Path(scratch))
    except KeyboardInterrupt:
        typer.echo("\ninterrupted; everything the demo started is stopped", err=True)
        raise typer.Exit(130) from None
    except DemoFailed as error:
        typer.echo(f"\ndemo failed: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo("done")
