from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.github_sim.testing import SimHandle, run_simulator
from service.settings import Settings

USERS = {"alice": "alice-token", "bob": "bob-token", "hookwise-user": "hookwise-token"}


@pytest.fixture(scope="module")
def module_sim() -> Iterator[SimHandle]:
    with run_simulator(users=USERS) as sim:
        yield sim


@pytest.fixture
def sim(module_sim: SimHandle) -> Iterator[SimHandle]:
    module_sim.admin.reset()
    module_sim.admin.clear_faults()
    yield module_sim
    module_sim.close_clients()


def app_settings(sim: SimHandle, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_secret": "s",
        "data_dir": tmp_path,
        "github_api_url": sim.api_url,
        "github_app_id": sim.app_id,
        "github_private_key_path": sim.app_key_path,
        "github_write_interval_seconds": 0,
        **overrides,
    }
    return Settings(**values)


def token_settings(
    sim: SimHandle, tmp_path: Path, login: str = "hookwise-user", **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "webhook_secret": "s",
        "data_dir": tmp_path,
        "github_api_url": sim.api_url,
        "github_token": sim.token(login),
        "github_write_interval_seconds": 0,
        **overrides,
    }
    return Settings(**values)
