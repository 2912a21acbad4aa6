"""The agents Hookwise can run, by the name automations use in `agent:`.

Each entry names its options model (validated when a config is loaded, so a typo in `with:` is a
config error with a line number) and where its function lives. Functions are imported on first use:
the web process validates configs without importing any agent's heavy dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from workers.agents.respond_options import RespondOptions


class NotifyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    timeout: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=3, ge=0, le=10)


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str
    entrypoint: str
    options: type[BaseModel]
    description: str

    def load(self) -> Callable[..., Any]:
        module_name, _, attribute = self.entrypoint.partition(":")
        function: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
        return function


AGENTS: Mapping[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec(
            name="notify",
            entrypoint="workers.agents.notify:run",
            options=NotifyOptions,
            description="POST a JSON summary of the event to a URL (Slack-compatible `text`).",
        ),
        AgentSpec(
            name="respond",
            entrypoint="workers.agents.respond:run",
            options=RespondOptions,
            description="A templated sticky comment and labels when conditions and rules hold.",
        ),
    )
}


def agent_options() -> Mapping[str, type[BaseModel]]:
    """Agent name → the model its `with:` block must validate against."""
    return {name: spec.options for name, spec in AGENTS.items()}
