"""Helpers for the automation-language tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping

import pytest
from pydantic import BaseModel, ConfigDict

from service.triggers import Config, ConfigError, load_config


class EchoOptions(BaseModel):
    """A stand-in agent's options: enough shape to test `with:` validation."""

    model_config = ConfigDict(extra="forbid")

    labels: list[str] = []
    limit: int = 3


AGENTS: Mapping[str, type[BaseModel]] = {"echo": EchoOptions}


@pytest.fixture
def load() -> Callable[[str], Config]:
    """Load a config from YAML text with the stand-in agent registry."""

    def _load(text: str) -> Config:
        return load_config(textwrap.dedent(text), source="hookwise.yml", agents=AGENTS)

    return _load


@pytest.fixture
def errors() -> Callable[[str], list[str]]:
    """The `line:column: message` strings a broken config produces."""

    def _errors(text: str) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            load_config(textwrap.dedent(text), source="hookwise.yml", agents=AGENTS)
        return [f"{i.line}:{i.column}: {i.message}" for i in caught.value.issues]

    return _errors


@pytest.fixture
def agents() -> Mapping[str, type[BaseModel]]:
    return AGENTS
