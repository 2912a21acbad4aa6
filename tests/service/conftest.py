from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from service.signatures import sign
from service.triggers import Config, load_config
from workers.agents.registry import agent_options

SECRET = "test-secret"
API_TOKEN = "test-api-token"

NOTIFY_CONFIG = """\
version: 1
automations:
  - name: announce-issues
    on:
      issues: {types: [opened, reopened]}
    agent: notify
    with: {url: "http://127.0.0.1:9/hook"}
"""


def make_config(text: str = NOTIFY_CONFIG) -> Config:
    return load_config(text, source="test.yml", agents=agent_options())


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_secret": SECRET,
        "database_url": database_url,
        "data_dir": tmp_path / "var",
        "api_token": API_TOKEN,
        "broker_timeout_seconds": 1.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def client_factory(tmp_path: Path, database_url: str) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def factory(config: Config | None = None, **overrides: Any) -> TestClient:
        settings = make_settings(tmp_path, database_url, **overrides)
        client = TestClient(create_app(settings, config=config or make_config()))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: Callable[..., TestClient]) -> TestClient:
    return client_factory()


def signed_headers(
    body: bytes, *, event: str, delivery: str | None = None, secret: str = SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret),
    }


def post_signed(
    client: TestClient | httpx.Client, body: bytes, *, event: str, delivery: str | None = None
) -> httpx.Response:
    return client.post(
        "/webhooks/github",
        content=body,
        headers=signed_headers(body, event=event, delivery=delivery),
    )
