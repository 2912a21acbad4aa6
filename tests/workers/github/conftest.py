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


# --- publishing ----------------------------------------------------------------------------------
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from workers.agents.base import AgentContext  # noqa: E402
from workers.github.auth import MemoryTokenCache  # noqa: E402
from workers.github.client import GitHubFactory  # noqa: E402
from workers.github.publishing.ledger import Ledger  # noqa: E402
from workers.github.publishing.publisher import GitHubPublisher  # noqa: E402


class NoOptions(BaseModel):
    pass


@dataclass
class PublishBench:
    """A fresh repository of alice's with the App installed; publishers act as the App."""

    sim: SimHandle
    engine: Engine
    owner: str
    repo: str
    installation_id: int
    factory: GitHubFactory
    alice: httpx.Client

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def publisher(self, **kwargs: Any) -> GitHubPublisher:
        return GitHubPublisher(factory=self.factory, engine=self.engine, **kwargs)

    def ledger(self, **kwargs: Any) -> Ledger:
        return Ledger(self.engine, **kwargs)

    def context(
        self,
        *,
        number: int | None = None,
        automation: str = "greet",
        event: str = "issues",
        job_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> AgentContext:
        payload: dict[str, Any] = {
            "repository": {"full_name": self.full_name},
            "installation": {"id": self.installation_id},
            **(extra or {}),
        }
        if number is not None:
            payload["issue"] = {"number": number}
        return AgentContext(
            job_id=job_id or uuid.uuid4().hex,
            delivery_id=str(uuid.uuid4()),
            automation=automation,
            event=event,
            action="opened",
            payload=payload,
            options=NoOptions(),
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self.alice.get(f"/repos/{self.full_name}{path}", params=params)
        response.raise_for_status()
        return response.json()

    def open_issue(self, title: str = "Crash on start") -> int:
        return int(
            self.sim.admin.open_issue(self.owner, self.repo, title=title, author="bob")["number"]
        )


# Outputs whose correctness does not depend on the ledger's database run on SQLite only.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def session_sim() -> Iterator[SimHandle]:
    """One simulator for every publishing test module (each test gets a fresh repository)."""
    with run_simulator(users=USERS) as sim:
        yield sim


@pytest.fixture
def publishing_sim(session_sim: SimHandle) -> Iterator[SimHandle]:
    session_sim.admin.reset()
    session_sim.admin.clear_faults()
    yield session_sim
    session_sim.close_clients()


@pytest.fixture
def bench(publishing_sim: SimHandle, engine: Engine, tmp_path: Path) -> Iterator[PublishBench]:
    sim = publishing_sim
    # A repository name of its own per test: the PostgreSQL database outlives the test.
    name = f"demo-{uuid.uuid4().hex[:8]}"
    sim.admin.create_repo("alice", name, files={"README.md": "# demo\n"})
    installation = sim.admin.create_installation("alice")
    factory = GitHubFactory(app_settings(sim, tmp_path), token_cache=MemoryTokenCache())
    yield PublishBench(
        sim=sim,
        engine=engine,
        owner="alice",
        repo=name,
        installation_id=installation,
        factory=factory,
        alice=sim.client(sim.token("alice")),
    )
    factory.close()
