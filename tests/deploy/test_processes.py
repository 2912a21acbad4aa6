"""The deployment's commands and probes, run for real against PostgreSQL and Redis on this machine.

No container runs here, so this is the next best thing: the exact `hookwise` arguments the compose
file gives each service, started as processes, and the exact health-check commands it uses against
them. Run order follows compose: migrate first, then web, worker and beat.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import claimed_redis_db

REPO_ROOT = Path(__file__).resolve().parents[2]
HEALTHCHECK_SCRIPT = REPO_ROOT / "deploy" / "healthcheck.py"
PG_ADMIN_DSN = os.environ.get("HOOKWISE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
STARTUP_DEADLINE_SECONDS = 90.0

pytestmark = pytest.mark.slow


@dataclass
class Stack:
    env: dict[str, str]
    web_port: int
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _hookwise() -> str:
    return str(Path(sys.executable).parent / "hookwise")


def _in_image(argv: list[str]) -> list[str]:
    """The image's `hookwise-healthcheck` is deploy/healthcheck.py; run the checkout's copy."""
    if argv and argv[0] == "hookwise-healthcheck":
        return [sys.executable, str(HEALTHCHECK_SCRIPT), *argv[1:]]
    return argv


def _until_healthy(
    probe: Callable[[], subprocess.CompletedProcess[str]], *, stack: Stack, name: str
) -> float:
    """Seconds until `probe` exits 0; fails once the process exits or the deadline passes."""
    started = time.monotonic()
    while True:
        result = probe()
        if result.returncode == 0:
            return time.monotonic() - started
        log = (stack.logs / f"{name}.log").read_text()
        if stack.processes[name].poll() is not None:
            pytest.fail(f"{name} exited before its probe passed:\n{log}")
        if time.monotonic() - started > STARTUP_DEADLINE_SECONDS:
            pytest.fail(f"{name} never became healthy: {result.stdout}{result.stderr}\n{log}")
        time.sleep(1)


@pytest.fixture(scope="module")
def empty_database_url() -> Iterator[str]:
    """An empty PostgreSQL database: migrations start from nothing, as on a first deploy."""
    name = f"hookwise_deploy_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def own_redis_url() -> Iterator[str]:
    """A Redis database apart from the session's: beat keeps publishing into the `celery` list,
    and those messages must not reach the tests that run after this module."""
    with claimed_redis_db() as url:
        yield url


@pytest.fixture(scope="module")
def stack(
    compose: dict[str, Any],
    empty_database_url: str,
    own_redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("stack")
    env = {
        **os.environ,
        # What compose wires, pointed at this machine's services.
        "HOOKWISE_DATABASE_URL": empty_database_url,
        "HOOKWISE_BROKER_URL": own_redis_url,
        "HOOKWISE_CONFIG": str(REPO_ROOT / "deploy" / "hookwise.yml"),
        "HOOKWISE_DATA_DIR": str(base / "data"),
        "HOOKWISE_WEBHOOK_SECRET": secrets.token_hex(16),
        "HOOKWISE_API_TOKEN": secrets.token_hex(16),
        # The worker's probe expands $HOSTNAME, which a container always has and a shell may not.
        "HOSTNAME": socket.gethostname(),
        # In the image the console scripts (celery, hookwise) are on PATH; here, in the venv.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    running = Stack(env=env, web_port=_free_port(), logs=base)
    try:
        yield running
    finally:
        for process in running.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def _start(stack: Stack, name: str, argv: list[str], extra_env: dict[str, str]) -> None:
    log = (stack.logs / f"{name}.log").open("wb")
    stack.processes[name] = subprocess.Popen(
        [_hookwise(), *argv],
        env={**stack.env, **extra_env},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=stack.logs,
    )
    log.close()


def _compose_env(compose: dict[str, Any], name: str) -> dict[str, str]:
    """A service's extra environment beyond the wiring the stack already points at this machine."""
    environment: dict[str, str] = compose["services"][name]["environment"]
    return {key: value for key, value in environment.items() if not key.startswith("HOOKWISE_")}


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_migrate_then_web_worker_beat_pass_their_compose_healthchecks(
    stack: Stack, compose: dict[str, Any]
) -> None:
    services = compose["services"]

    started = time.monotonic()
    migrate = _run([_hookwise(), *services["migrate"]["command"]], stack.env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    print(f"migrations to head on an empty database: {time.monotonic() - started:.1f} s")

    web_argv = list(services["web"]["command"])
    web_argv[web_argv.index("--host") + 1] = "127.0.0.1"
    web_argv[web_argv.index("--port") + 1] = str(stack.web_port)
    _start(stack, "web", web_argv, _compose_env(compose, "web"))
    _start(stack, "worker", services["worker"]["command"], _compose_env(compose, "worker"))
    _start(stack, "beat", services["beat"]["command"], _compose_env(compose, "beat"))

    web_probe = [
        arg.replace(":8000/", f":{stack.web_port}/")
        for arg in _in_image(services["web"]["healthcheck"]["test"][1:])
    ]
    waited = _until_healthy(lambda: _run(web_probe, stack.env), stack=stack, name="web")
    print(f"web ready after {waited:.1f} s")

    # CMD-SHELL runs through /bin/sh; `$$` is compose's escape for a literal `$`.
    worker_probe = services["worker"]["healthcheck"]["test"][1].replace("$$", "$")
    waited = _until_healthy(
        lambda: _run(["sh", "-c", worker_probe], stack.env), stack=stack, name="worker"
    )
    print(f"worker answered ping after a further {waited:.1f} s")

    beat_probe = _in_image(services["beat"]["healthcheck"]["test"][1:])
    _until_healthy(lambda: _run(beat_probe, stack.env), stack=stack, name="beat")

    for name, process in stack.processes.items():
        assert process.poll() is None, f"{name} exited: {(stack.logs / f'{name}.log').read_text()}"


def test_probes_turn_unhealthy_when_the_process_is_gone(
    stack: Stack, compose: dict[str, Any]
) -> None:
    services = compose["services"]
    beat = stack.processes["beat"]
    beat.send_signal(signal.SIGTERM)
    beat.wait(timeout=30)
    beat_probe = _in_image(services["beat"]["healthcheck"]["test"][1:])
    assert _run(beat_probe, stack.env).returncode == 1

    worker = stack.processes["worker"]
    stopping = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    # Idle, the soft shutdown has nothing to wait for: the worker must be gone well inside the
    # compose file's stop_grace_period (SIGTERM is remapped to Celery's cold/soft shutdown).
    worker.wait(timeout=60)
    print(f"worker stopped {time.monotonic() - stopping:.1f} s after SIGTERM")

    web = stack.processes["web"]
    web.send_signal(signal.SIGTERM)
    web.wait(timeout=30)
    web_probe = [
        arg.replace(":8000/", f":{stack.web_port}/")
        for arg in _in_image(services["web"]["healthcheck"]["test"][1:])
    ]
    assert _run(web_probe, stack.env).returncode == 1
