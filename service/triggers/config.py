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
    locked: bool = False  # central config only: repositories may not replace or disable it
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
    disable: frozenset[str] = frozenset()  # repository config: central automations to turn off
    # webhook event → automation name → its triggers for that event (precomputed: hot path)
    _triggers_by_event: Mapping[str, Mapping[str, tuple[EventTrigger, ...]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        index: dict[str, dict[str, tuple[EventTrigger, ...]]] = {}
        for automation in self.automations:
            for trigger in automation.triggers:
                by_name = index.setdefault(trigger.webhook_event, {})
                by_name[automation.name] = (*by_name.get(automation.name, ()), trigger)
        frozen = {event: MappingProxyType(by_name) for event, by_name in index.items()}
        object.__setattr__(self, "_triggers_by_event", MappingProxyType(frozen))

    def automation(self, name: str) -> Automation | None:
        for automation in self.automations:
            if automation.name == name:
                return automation
        return None

    def triggers_for(self, webhook_event: str) -> Mapping[str, tuple[EventTrigger, ...]]:
        """Automation name → its triggers listening to a webhook event."""
        return self._triggers_by_event.get(webhook_event, _NONE)


_NONE: Mapping[str, tuple[EventTrigger, ...]] = MappingProxyType({})
