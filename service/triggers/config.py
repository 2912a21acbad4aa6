"""A loaded config: automations with every pattern and expression already compiled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from service.triggers.commands import CommandPattern
from service.triggers.expressions import Condition, Template
from service.triggers.globs import PathFilter, RefFilter


@dataclass(frozen=True, slots=True)
class EventTrigger:
    """One entry of an automation's `on:`."""

    event: str  # as written: pull_request_target subscribes to the pull_request webhook
    webhook_event: str
    types: tuple[str, ...] | None  # None: every action
    types_are_default: bool
    branches: RefFilter | None = None
    tags: RefFilter | None = None
    paths: PathFilter | None = None
    command: CommandPattern | None = None
    conclusions: frozenset[str] | None = None
    workflows: frozenset[str] | None = None
    _type_set: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        type_set = None if self.types is None else frozenset(self.types)
        object.__setattr__(self, "_type_set", type_set)

    def accepts_action(self, action: str | None) -> bool:
        return self._type_set is None or action in self._type_set


@dataclass(frozen=True, slots=True)
class Automation:
    name: str
    line: int
    triggers: tuple[EventTrigger, ...]
    agent: str
    options_json: bytes  # the validated `with:` block; decoded afresh for every job
    enabled: bool = True
    description: str | None = None
    condition: Condition | None = None
    permission: str | None = None
    concurrency_group: Template | None = None
    cancel_in_progress: bool = False
    bots: frozenset[str] = frozenset()  # lower-case logins without the "[bot]" suffix
    events: tuple[str, ...] = field(init=False)  # as written in `on:`, in order

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(trigger.event for trigger in self.triggers))

    @property
    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = orjson.loads(self.options_json)
        return options


@dataclass(frozen=True, slots=True)
class Config:
    """Immutable; safe to share between requests and threads."""

    version: int
    automations: tuple[Automation, ...]
    source: str = "<config>"
    _by_webhook_event: Mapping[str, tuple[tuple[Automation, EventTrigger], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        index: dict[str, list[tuple[Automation, EventTrigger]]] = {}
        for automation in self.automations:
            for trigger in automation.triggers:
                index.setdefault(trigger.webhook_event, []).append((automation, trigger))
        frozen = {event: tuple(pairs) for event, pairs in index.items()}
        object.__setattr__(self, "_by_webhook_event", MappingProxyType(frozen))

    def subscribed(self, webhook_event: str) -> tuple[tuple[Automation, EventTrigger], ...]:
        """The (automation, trigger) pairs listening to a webhook event, in config order."""
        return self._by_webhook_event.get(webhook_event, ())
