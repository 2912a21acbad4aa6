"""deploy/systemd: the units parse, pass `systemd-analyze verify`, and keep the hardening."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
INSTALLED_COMMAND = "/opt/hookwise/bin/hookwise"
ENVIRONMENT_FILE = "/etc/hookwise/hookwise.env"
LONG_RUNNING = ("web", "worker", "beat")
ALL_SERVICES = (*LONG_RUNNING, "migrate")
# The reliability notes allow the soft shutdown up to 60 s; the stop timeout must cover that.
MAX_SOFT_SHUTDOWN_SECONDS = 60
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "StateDirectory": "hookwise",
}

ToolFinder = Callable[[str], str]


def read_unit(path: Path) -> configparser.ConfigParser:
    """Unit files are INI-like; systemd allows repeated keys, which none of ours use (strict)."""
    parser = configparser.ConfigParser(interpolation=None, strict=True, empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(), source=str(path))
    return parser


def unit_path(component: str) -> Path:
    return SYSTEMD_DIR / f"hookwise-{component}.service"


def test_unit_files_are_the_expected_set() -> None:
    names = {path.name for path in SYSTEMD_DIR.iterdir()}
    assert names == {f"hookwise-{c}.service" for c in ALL_SERVICES} | {"hookwise.target"}


@pytest.mark.parametrize("component", ALL_SERVICES)
def test_runs_the_hookwise_subcommand(
    component: str, hookwise_subcommands: dict[str, list[str]]
) -> None:
    exec_start = shlex.split(read_unit(unit_path(component))["Service"]["ExecStart"])
    assert exec_start[0] == INSTALLED_COMMAND
    expected = list(hookwise_subcommands[component])
    if component == "web":
        # On a host the web listens on loopback behind a TLS reverse proxy, not on every address.
        expected[expected.index("--host") + 1] = "127.0.0.1"
    assert exec_start[1:] == expected


@pytest.mark.parametrize("component", ALL_SERVICES)
def test_hardening_and_environment(component: str, known_env_names: set[str]) -> None:
    service = read_unit(unit_path(component))["Service"]
    for key, value in HARDENING.items():
        assert service[key] == value, key
    assert service["EnvironmentFile"] == ENVIRONMENT_FILE
    assert service["User"] == "hookwise"
    assert service["WorkingDirectory"] == f"/var/lib/{service['StateDirectory']}"
    assignments = dict(item.split("=", 1) for item in shlex.split(service["Environment"]))
    hookwise_names = {name for name in assignments if name.startswith("HOOKWISE_")}
    assert hookwise_names <= known_env_names
    # The data directory must be the one place ProtectSystem=strict leaves writable.
    assert assignments["HOOKWISE_DATA_DIR"] == service["WorkingDirectory"]


@pytest.mark.parametrize("component", LONG_RUNNING)
def test_long_running_units_restart_and_wait_for_migrations(component: str) -> None:
    unit = read_unit(unit_path(component))
    assert unit["Service"]["Restart"] == "always"
    assert "hookwise-migrate.service" in unit["Unit"]["Requires"].split()
    assert "hookwise-migrate.service" in unit["Unit"]["After"].split()
    assert unit["Install"]["WantedBy"] == "hookwise.target"
    target = read_unit(SYSTEMD_DIR / "hookwise.target")
    assert f"hookwise-{component}.service" in target["Unit"]["Wants"].split()


def test_migration_is_a_one_shot() -> None:
    service = read_unit(unit_path("migrate"))["Service"]
    assert service["Type"] == "oneshot"
    assert service["RemainAfterExit"] == "yes"
    assert "Restart" not in service


def test_worker_stops_gracefully(worker_soft_shutdown_seconds: float) -> None:
    service = read_unit(unit_path("worker"))["Service"]
    stop_timeout = int(service["TimeoutStopSec"])
    assert stop_timeout > max(worker_soft_shutdown_seconds, MAX_SOFT_SHUTDOWN_SECONDS)
    assignments = dict(item.split("=", 1) for item in shlex.split(service["Environment"]))
    assert assignments["REMAP_SIGTERM"] == "SIGQUIT"
    # SIGTERM to Celery's main process only: it stops its pool children in order.
    assert service["KillMode"] == "mixed"


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path, system_tool: ToolFinder) -> None:
    # verify insists that ExecStart exists, so point the copies at this venv's real `hookwise`.
    hookwise = Path(sys.executable).parent / "hookwise"
    assert hookwise.exists()
    copies = []
    for path in sorted(SYSTEMD_DIR.iterdir()):
        copy = tmp_path / path.name
        copy.write_text(path.read_text().replace(INSTALLED_COMMAND, str(hookwise)))
        copies.append(str(copy))
    result = subprocess.run(
        [system_tool("systemd-analyze"), "verify", *copies],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # verify warns (without failing) about unknown keys and bad values: there must be none.
    assert result.stderr == "", result.stderr


def test_systemd_analyze_verify_flags_a_typo(tmp_path: Path, system_tool: ToolFinder) -> None:
    # Guards the test above: a misspelt hardening key must show up in verify's output.
    hookwise = Path(sys.executable).parent / "hookwise"
    text = unit_path("beat").read_text().replace(INSTALLED_COMMAND, str(hookwise))
    broken = tmp_path / "hookwise-beat.service"
    broken.write_text(text.replace("ProtectSystem=strict", "ProtectSystm=strict"))
    result = subprocess.run(
        [system_tool("systemd-analyze"), "verify", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "ProtectSystm" in result.stderr
