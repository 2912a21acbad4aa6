"""Fixtures for the deployment files: the compose file, Kubernetes manifests, systemd units.

None of these files can be run here (no Docker engine, no cluster, no systemd as PID 1), so the
tests check them with the tools that do work offline: JSON schemas, `kubectl kustomize`,
`systemd-analyze verify`, a real `redis-server`, and cross-references between the files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"

ToolFinder = Callable[[str], str]


def _venv_tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}: pip install -e '.[dev]'")
    return str(path)


def _system_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not on PATH; it ships with this project's machine image")
    return found


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def venv_tool() -> ToolFinder:
    """A console script installed next to the interpreter running the tests (the project's venv)."""
    return _venv_tool


@pytest.fixture(scope="session")
def system_tool() -> ToolFinder:
    """A program from the machine image (kubectl, systemd-analyze, redis-server)."""
    return _system_tool


@pytest.fixture(scope="session")
def hookwise_subcommands() -> dict[str, list[str]]:
    """The processes every deployment runs, as `hookwise` arguments (the CLI contract)."""
    return {
        # The migration step owns the schema, so web replicas do not migrate on start.
        "web": ["serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"],
        "worker": ["worker"],
        "beat": ["beat"],
        "migrate": ["db", "upgrade"],
    }


@pytest.fixture(scope="session")
def known_env_names() -> set[str]:
    """Every environment variable the settings object reads: HOOKWISE_ plus a field name."""
    from service.settings import Settings

    return {f"HOOKWISE_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="session")
def worker_soft_shutdown_seconds() -> float:
    """How long a stopping worker lets running tasks finish (Celery's soft shutdown)."""
    from service.settings import Settings
    from workers.celery_app import celery_config

    timeout: float = celery_config(Settings())["worker_soft_shutdown_timeout"]
    return timeout


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="session")
def rendered_manifests() -> list[dict[str, Any]]:
    """The objects `kubectl apply -k deploy/k8s` would send to the cluster."""
    kubectl = _system_tool("kubectl")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S_DIR)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
