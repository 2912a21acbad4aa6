"""docker-compose.yml: the Compose schema, then the properties a production install relies on."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

ToolFinder = Callable[[str], str]

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / "deploy" / "hookwise.env.example"
CENTRAL_CONFIG_EXAMPLE = REPO_ROOT / "deploy" / "hookwise.yml"
CONFIG_PATH = "/etc/hookwise/hookwise.yml"
WEB_PORT = 8000
HOOKWISE_SERVICES = ("web", "worker", "beat", "migrate")
LONG_RUNNING = ("web", "worker", "beat", "redis", "postgres")
# The reliability notes allow the soft shutdown up to 60 s; the grace period must cover that.
MAX_SOFT_SHUTDOWN_SECONDS = 60


def compose_duration_seconds(value: str) -> int:
    """Compose durations as this file writes them: `90s`, `1m30s`, `2m`."""
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", value)
    if match is None or not value:
        raise ValueError(f"not a minutes/seconds duration: {value!r}")
    minutes, seconds = (int(part or 0) for part in match.groups())
    return minutes * 60 + seconds


def flag_values(command: list[str]) -> dict[str, str]:
    """`redis-server --a x --b y` → {'a': 'x', 'b': 'y'}."""
    flags = command[1:]
    assert len(flags) % 2 == 0, f"expected --flag value pairs, got {flags}"
    return {
        name.removeprefix("--"): value for name, value in zip(flags[::2], flags[1::2], strict=True)
    }


def test_compose_duration_parser() -> None:
    assert compose_duration_seconds("90s") == 90
    assert compose_duration_seconds("1m30s") == 90
    assert compose_duration_seconds("2m") == 120
    with pytest.raises(ValueError, match="duration"):
        compose_duration_seconds("1h")


def test_valid_under_the_compose_specification_schema(venv_tool: ToolFinder) -> None:
    checker = venv_tool("check-jsonschema")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_file(tmp_path: Path, venv_tool: ToolFinder) -> None:
    # Guards the test above: the same invocation must fail on a typo'd depends_on condition.
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE_FILE.read_text().replace("service_healthy", "service_happy", 1)
    broken.write_text(text)
    checker = venv_tool("check-jsonschema")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "service_happy" in result.stdout


def test_expected_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {*HOOKWISE_SERVICES, "redis", "postgres"}


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_healthcheck_and_supervisor(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    healthcheck = service["healthcheck"]
    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert not healthcheck.get("disable", False)
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", HOOKWISE_SERVICES)
def test_hookwise_service_runs_its_subcommand(
    compose: dict[str, Any], hookwise_subcommands: dict[str, list[str]], name: str
) -> None:
    assert compose["services"][name]["command"] == hookwise_subcommands[name]


def test_migrate_is_one_shot_and_runs_first(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
        assert depends_on["postgres"] == {"condition": "service_healthy"}
        assert depends_on["redis"] == {"condition": "service_healthy"}


def test_redis_is_durable_and_never_evicts(compose: dict[str, Any]) -> None:
    redis_service = compose["services"]["redis"]
    command = redis_service["command"]
    assert command[0] == "redis-server"
    assert flag_values(command) == {
        "appendonly": "yes",
        "appendfsync": "everysec",
        "maxmemory-policy": "noeviction",
    }
    data_mount = {"type": "volume", "source": "redis-data", "target": "/data"}
    assert data_mount in redis_service["volumes"]
    assert "redis-data" in compose["volumes"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def redis_from_compose(
    compose: dict[str, Any], tmp_path: Path, system_tool: ToolFinder
) -> Iterator[redis.Redis]:
    """A throwaway redis-server started with exactly the compose file's arguments."""
    command = compose["services"]["redis"]["command"]
    port = _free_port()
    server = subprocess.Popen(
        [system_tool("redis-server"), *command[1:], "--port", str(port), "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    stderr = server.stderr.read().decode() if server.stderr else ""
                    pytest.fail(f"redis-server did not start with {command[1:]}: {stderr}")
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


def test_redis_server_accepts_the_compose_flags(redis_from_compose: redis.Redis) -> None:
    # A misspelt flag or value makes redis-server refuse to start; a real one proves the settings.
    config = redis_from_compose.config_get("append*") | redis_from_compose.config_get("maxmemory*")
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"
    assert config["maxmemory-policy"] == "noeviction"


def test_postgres_has_volume_and_pg_isready(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    data_mount = {"type": "volume", "source": "postgres-data", "target": "/var/lib/postgresql/data"}
    assert data_mount in postgres["volumes"]
    assert "postgres-data" in compose["volumes"]
    # The database URL the Hookwise services use must name the user and database created here.
    url = compose["services"]["web"]["environment"]["HOOKWISE_DATABASE_URL"]
    env = postgres["environment"]
    assert url.startswith(f"postgresql+psycopg://{env['POSTGRES_USER']}:")
    assert url.endswith(f"@postgres:5432/{env['POSTGRES_DB']}")


def test_worker_gets_time_for_soft_shutdown(
    compose: dict[str, Any], worker_soft_shutdown_seconds: float
) -> None:
    worker = compose["services"]["worker"]
    grace = compose_duration_seconds(worker["stop_grace_period"])
    assert grace > max(worker_soft_shutdown_seconds, MAX_SOFT_SHUTDOWN_SECONDS)
    # Without the remap, SIGTERM is Celery's unbounded warm shutdown and the soft timeout never
    # applies before the SIGKILL.
    assert worker["environment"]["REMAP_SIGTERM"] == "SIGQUIT"


def test_worker_healthcheck_pings_its_own_celery_node(compose: dict[str, Any]) -> None:
    test = compose["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    # `$$` is compose's escape: the shell, not compose, must expand HOSTNAME.
    assert "celery -A workers.celery_app:app inspect ping" in test[1]
    assert "-d celery@$$HOSTNAME" in test[1]


def test_web_healthcheck_probes_readiness_on_the_served_port(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    assert web["healthcheck"]["test"] == [
        "CMD",
        "hookwise-healthcheck",
        "http",
        f"http://127.0.0.1:{WEB_PORT}/readyz",
    ]
    assert web["ports"] == [f"${{HOOKWISE_PORT:-{WEB_PORT}}}:{WEB_PORT}"]


def test_beat_healthcheck_is_a_process_check(compose: dict[str, Any]) -> None:
    test = compose["services"]["beat"]["healthcheck"]["test"]
    assert test == ["CMD", "hookwise-healthcheck", "process", "beat"]


@pytest.mark.parametrize("name", HOOKWISE_SERVICES)
def test_central_config_is_mounted_read_only(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["environment"]["HOOKWISE_CONFIG"] == CONFIG_PATH
    config_mounts = [mount for mount in service["volumes"] if mount["target"] == CONFIG_PATH]
    assert len(config_mounts) == 1
    assert config_mounts[0]["type"] == "bind"
    assert config_mounts[0]["read_only"] is True
    default_source = re.fullmatch(r"\$\{HOOKWISE_CONFIG_FILE:-(.+)\}", config_mounts[0]["source"])
    assert default_source is not None
    assert (REPO_ROOT / default_source.group(1)).is_file()


@pytest.mark.parametrize("name", HOOKWISE_SERVICES)
def test_secrets_come_from_env_file_not_the_compose_file(
    compose: dict[str, Any], name: str, known_env_names: set[str]
) -> None:
    service = compose["services"][name]
    assert service["env_file"] == [{"path": "./hookwise.env", "required": True}]
    environment = service["environment"]
    assert set(environment) - {"REMAP_SIGTERM"} <= known_env_names
    secret_settings = {"HOOKWISE_WEBHOOK_SECRET", "HOOKWISE_API_TOKEN", "HOOKWISE_LLM_API_KEY"}
    assert not secret_settings & set(environment)
    # The database password is interpolated from .env, never written here.
    assert "${POSTGRES_PASSWORD:?" in environment["HOOKWISE_DATABASE_URL"]


def test_central_config_example_passes_config_check(venv_tool: ToolFinder) -> None:
    # The service refuses to start on a config that fails this check.
    result = subprocess.run(
        [venv_tool("hookwise"), "config", "check", str(CENTRAL_CONFIG_EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": OK," in result.stdout


def test_env_example_names_only_real_settings(known_env_names: set[str]) -> None:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        assignment = re.match(r"#?\s*(HOOKWISE_[A-Z0-9_]+)=", line)
        if assignment:
            names.add(assignment.group(1))
    assert "HOOKWISE_WEBHOOK_SECRET" in names
    assert names <= known_env_names, names - known_env_names


def test_private_key_secret_lands_where_the_env_example_points(compose: dict[str, Any]) -> None:
    assert "github_private_key" in compose["secrets"]
    for name in HOOKWISE_SERVICES:
        assert compose["services"][name]["secrets"] == ["github_private_key"]
    assert (
        "HOOKWISE_GITHUB_PRIVATE_KEY_PATH=/run/secrets/github_private_key"
        in ENV_EXAMPLE.read_text().splitlines()
    )
