"""Config text → `Config`, or a `ConfigError` listing every problem with its line and column.

Shape is checked by pydantic (`schema`), meaning here (which filters apply to which event, activity
types, globs, JMESPath, agents and their `with:` blocks). Every pydantic error `loc` and every path
checked here is a path into the YAML document, mapped back to the node's position.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from service.triggers import events
from service.triggers.commands import CommandPattern
from service.triggers.config import Automation, Config, EventTrigger
from service.triggers.errors import ConfigError, ConfigIssue
from service.triggers.expressions import Condition, ExpressionError, Template
from service.triggers.globs import GlobError, PathFilter, PatternList, RefFilter, check_pattern
from service.triggers.schema import (
    AutomationModel,
    ConfigModel,
    EventFilterModel,
    expand_concurrency,
)
from service.triggers.source import DocPath, Positions, parse_document

AUTOMATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

_Compiled = TypeVar("_Compiled")

_IGNORE_KEYS = {"branches-ignore": "branches", "tags-ignore": "tags", "paths-ignore": "paths"}


def load_config_file(path: Path, *, agents: Mapping[str, type[BaseModel]]) -> Config:
    """Load a config file; an unreadable file is a ConfigError too."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigIssue(str(path), 1, 1, f"cannot read config: {error}")]) from error
    return load_config(text, source=str(path), agents=agents)


def load_config(text: str, *, source: str, agents: Mapping[str, type[BaseModel]]) -> Config:
    """Parse, validate and compile a config; raises ConfigError listing every problem found."""
    document = parse_document(text)
    issues = _Issues(source=source, positions=document.positions)
    for problem in document.problems:
        issues.at_position(problem.position.line, problem.position.column, problem.message)
    if not isinstance(document.data, dict):
        if document.data is None and not document.problems:
            issues.add((), "empty config: expected 'version: 1' and 'automations:'")
        elif document.data is not None:
            issues.add((), "the config must be a mapping with 'version' and 'automations'")
        raise ConfigError(issues.found)
    automations = _Loader(issues=issues, agents=agents).load(document.data)
    if issues.found:
        raise ConfigError(issues.found)
    disable = document.data.get("disable") or []
    return Config(
        version=1,
        automations=tuple(automations),
        source=source,
        disable=frozenset([disable] if isinstance(disable, str) else disable),
    )


class _Issues:
    def __init__(self, *, source: str, positions: Positions) -> None:
        self.source = source
        self.positions = positions
        self.found: list[ConfigIssue] = []

    def at_position(self, line: int, column: int, message: str) -> None:
        self.found.append(ConfigIssue(self.source, line, column, message))

    def add(self, path: Sequence[str | int], message: str, *, at_key: bool = False) -> None:
        where = self.positions.of_key(path) if at_key else self.positions.of_value(path)
        label = _dotted(path)
        self.at_position(where.line, where.column, f"{label}: {message}" if label else message)

    def from_validation(
        self, error: ValidationError, *, prefix: DocPath, model: type[BaseModel]
    ) -> None:
        for detail in error.errors(include_url=False):
            loc = tuple(detail["loc"])
            if detail["type"] == "extra_forbidden":
                key = str(loc[-1])
                hint = _suggest(key, _keys_of(model, loc[:-1]))
                self.add((*prefix, *loc), f"unknown key {key!r}{hint}", at_key=True)
            elif detail["type"] == "missing":
                self.add((*prefix, *loc[:-1]), f"missing required key {loc[-1]!r}")
            else:
                self.add((*prefix, *loc), str(detail["msg"]))


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _suggest(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _keys_of(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed at `loc` inside `model` (empty if that is not a model)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        if part not in fields:
            return []
        current = _model_in(fields[part].annotation)
    if current is None:
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return None
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


class _Loader:
    def __init__(self, *, issues: _Issues, agents: Mapping[str, type[BaseModel]]) -> None:
        self.issues = issues
        self.agents = agents

    def load(self, data: dict[str, Any]) -> list[Automation]:
        try:
            ConfigModel.model_validate(data)
        except ValidationError as error:
            self.issues.from_validation(error, prefix=(), model=ConfigModel)
        raw_automations = data.get("automations")
        if not isinstance(raw_automations, list):
            return []
        loaded: list[Automation] = []
        first_seen: dict[str, DocPath] = {}
        for index, raw in enumerate(raw_automations):
            path: DocPath = ("automations", index)
            self._check_unique_name(raw, path=path, first_seen=first_seen)
            automation = self._automation(raw, path=path)
            if automation is not None:
                loaded.append(automation)
        return loaded

    def _check_unique_name(
        self, raw: Any, *, path: DocPath, first_seen: dict[str, DocPath]
    ) -> None:
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            return
        if name in first_seen:
            first = self.issues.positions.of_value((*first_seen[name], "name"))
            self.issues.add(
                (*path, "name"),
                f"duplicate automation name {name!r} (first defined at line {first.line})",
            )
        else:
            first_seen[name] = path

    def _automation(self, raw: Any, *, path: DocPath) -> Automation | None:
        if not isinstance(raw, dict):
            self.issues.add(path, "an automation must be a mapping (name, on, agent, …)")
            return None
        found_before = len(self.issues.found)
        model: AutomationModel | None = None
        try:
            model = AutomationModel.model_validate(raw)
        except ValidationError as error:
            self.issues.from_validation(error, prefix=path, model=AutomationModel)
        # Meaning is checked from the raw values even when the shape is wrong somewhere else, so
        # that one run reports every problem; values of the wrong type were reported just above.
        name = raw.get("name")
        if isinstance(name, str) and name and not AUTOMATION_NAME.fullmatch(name):
            self.issues.add(
                (*path, "name"),
                "a name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        triggers = self._triggers(raw["on"], path=(*path, "on")) if "on" in raw else []
        options_json = self._options(raw.get("agent"), raw.get("with"), path=path)
        condition = self._compile(Condition.compile, raw.get("if"), path=(*path, "if"))
        concurrency = expand_concurrency(raw.get("concurrency"))
        group = self._compile(
            Template.compile,
            concurrency.get("group") if isinstance(concurrency, dict) else None,
            path=(*path, "concurrency", "group"),
        )
        if model is None or options_json is None or len(self.issues.found) > found_before:
            return None
        return Automation(
            name=model.name,
            line=self.issues.positions.of_value(path).line,
            triggers=tuple(triggers),
            agent=model.agent,
            options_json=options_json,
            enabled=model.enabled,
            locked=model.locked,
            description=model.description,
            condition=condition,
            permission=model.permission,
            concurrency_group=group,
            cancel_in_progress=model.concurrency.cancel_in_progress if model.concurrency else False,
            bots=frozenset(bot.lower().removesuffix("[bot]") for bot in model.bots),
        )

    def _compile(
        self, compile_: Callable[[str], _Compiled], text: Any, *, path: DocPath
    ) -> _Compiled | None:
        if not isinstance(text, str):
            return None  # absent, or the wrong type (reported by the schema)
        try:
            return compile_(text)
        except ExpressionError as error:
            self.issues.add(path, str(error))
            return None

    def _options(self, agent: Any, options: Any, *, path: DocPath) -> bytes | None:
        """The agent's validated `with:` block as JSON, or None if it is not valid."""
        if not isinstance(agent, str) or not (options is None or isinstance(options, dict)):
            return None  # the wrong type, reported by the schema
        options_model = self.agents.get(agent)
        if options_model is None:
            known = ", ".join(sorted(self.agents)) or "none"
            hint = _suggest(agent, self.agents)
            self.issues.add(
                (*path, "agent"), f"unknown agent {agent!r}{hint} (known agents: {known})"
            )
            return None
        try:
            validated = options_model.model_validate(options or {})
        except ValidationError as error:
            self.issues.from_validation(error, prefix=(*path, "with"), model=options_model)
            return None
        return orjson.dumps(validated.model_dump(mode="json"))

    def _triggers(self, on: Any, *, path: DocPath) -> list[EventTrigger]:
        entries: list[tuple[Any, Any, DocPath]]
        if isinstance(on, str):
            entries = [(on, None, path)]
        elif isinstance(on, list):
            entries = [(item, None, (*path, index)) for index, item in enumerate(on)]
        elif isinstance(on, dict):
            entries = [(event, spec, (*path, event)) for event, spec in on.items()]
        else:
            self.issues.add(
                path, "must be an event name, a list of event names, or a mapping event → filters"
            )
            return []
        if not entries:
            self.issues.add(path, "needs at least one event")
        triggers = []
        for event, spec, entry_path in entries:
            trigger = self._trigger(event, spec, path=entry_path, keyed=isinstance(on, dict))
            if trigger is not None:
                triggers.append(trigger)
        return triggers

    def _trigger(self, event: Any, spec: Any, *, path: DocPath, keyed: bool) -> EventTrigger | None:
        if not isinstance(event, str):
            self.issues.add(path, "an event name must be a string")
            return None
        if event not in events.KNOWN_EVENTS:
            hint = _suggest(event, events.KNOWN_EVENTS)
            self.issues.add(path, f"unknown event {event!r}{hint}", at_key=keyed)
            return None
        if spec is not None and not isinstance(spec, dict):
            self.issues.add(path, f"the filters of {event} must be a mapping (or empty)")
            return None
        try:
            filters = EventFilterModel.model_validate(spec or {})
        except ValidationError as error:
            self.issues.from_validation(error, prefix=path, model=EventFilterModel)
            return None
        return _TriggerCompiler(event=event, filters=filters, path=path, issues=self.issues).build()


class _TriggerCompiler:
    def __init__(
        self, *, event: str, filters: EventFilterModel, path: DocPath, issues: _Issues
    ) -> None:
        self.event = event
        self.filters = filters
        self.path = path
        self.issues = issues
        self.found_before = len(issues.found)
        self.set_keys = {
            (info.alias or name): getattr(filters, name)
            for name, info in EventFilterModel.model_fields.items()
            if getattr(filters, name) is not None
        }

    def build(self) -> EventTrigger | None:
        self._check_applicable()
        command = self._command()
        types, types_are_default = self._types(has_command=command is not None)
        branches = self._ref_filter("branches")
        tags = self._ref_filter("tags")
        paths = self._path_filter()
        conclusions = self._conclusions()
        workflows = self._non_empty("workflows")
        if len(self.issues.found) > self.found_before:
            return None
        return EventTrigger(
            event=self.event,
            webhook_event=events.webhook_event(self.event),
            types=types,
            types_are_default=types_are_default,
            branches=branches,
            tags=tags,
            paths=paths,
            command=command,
            conclusions=None if conclusions is None else frozenset(conclusions),
            workflows=None if workflows is None else frozenset(workflows),
        )

    def _error(self, key: str, message: str, *, index: int | None = None) -> None:
        if index is None:
            self.issues.add((*self.path, key), message, at_key=True)
        else:
            self.issues.add((*self.path, key, index), message)

    def _check_applicable(self) -> None:
        for key in self.set_keys:
            base = _IGNORE_KEYS.get(key, key)
            applies_to = events.FILTER_EVENTS.get(base)
            if applies_to is not None and self.event not in applies_to:
                listed = ", ".join(sorted(applies_to))
                self._error(key, f"{key!r} does not apply to {self.event} (only to {listed})")
        for key, base in _IGNORE_KEYS.items():
            if key in self.set_keys and base in self.set_keys:
                self._error(
                    key,
                    f"use either {base!r} or {key!r} for {self.event}, not both (as in Actions); "
                    f"to exclude within {base!r}, prefix a pattern with '!'",
                )

    def _types(self, *, has_command: bool) -> tuple[tuple[str, ...] | None, bool]:
        written = self._non_empty("types")
        if written is None:
            if has_command:
                return ("created",), False
            return events.default_types(self.event), True
        if not events.accepts_types(self.event):
            self._error("types", f"{self.event} has no activity types; remove 'types'")
            return None, False
        if self.event not in events.FREE_FORM_TYPES:
            known = events.known_types(self.event)
            for index, activity in enumerate(written):
                if activity not in known:
                    hint = _suggest(activity, known) or f" (known: {', '.join(sorted(known))})"
                    self._error(
                        "types",
                        f"unknown activity type {activity!r} for {self.event}{hint}",
                        index=index,
                    )
        if has_command:
            for index, activity in enumerate(written):
                if activity != "created":
                    self._error(
                        "types",
                        f"'command' only matches new comments: types must be [created], "
                        f"not {activity!r}",
                        index=index,
                    )
        return tuple(dict.fromkeys(written)), False

    def _non_empty(self, key: str) -> list[str] | None:
        values: list[str] | None = self.set_keys.get(key)
        if values is not None and not values:
            self._error(key, f"{key!r} is empty and would never match; remove it instead")
            return None
        return values

    def _patterns(self, key: str) -> PatternList | None:
        patterns = self._non_empty(key)
        if patterns is None:
            return None
        valid = True
        for index, pattern in enumerate(patterns):
            try:
                check_pattern(pattern)
            except GlobError as error:
                self._error(key, f"invalid pattern {pattern!r}: {error}", index=index)
                valid = False
        if all(pattern.startswith("!") for pattern in patterns):
            # Actions: "If you define a pattern with the ! character, you must also define at
            # least one pattern without it." A list of negations alone never matches anything.
            self._error(
                key,
                f"{key!r} lists only '!' patterns, so it never matches; add a pattern to "
                f"include (e.g. '**') before the exclusions",
            )
            valid = False
        return PatternList(tuple(patterns)) if valid else None

    def _ref_filter(self, base: str) -> RefFilter | None:
        for key, ignore in ((base, False), (f"{base}-ignore", True)):
            patterns = self._patterns(key)
            if patterns is not None:
                return RefFilter(key=key, patterns=patterns, ignore=ignore)
        return None

    def _path_filter(self) -> PathFilter | None:
        for key, ignore in (("paths", False), ("paths-ignore", True)):
            patterns = self._patterns(key)
            if patterns is not None:
                return PathFilter(patterns=patterns.patterns, ignore=ignore)
        return None

    def _command(self) -> CommandPattern | None:
        name = self.filters.command
        if name is None:
            return None
        try:
            return CommandPattern.compile(name)
        except ValueError as error:
            self.issues.add((*self.path, "command"), str(error))
            return None

    def _conclusions(self) -> list[str] | None:
        conclusions = self._non_empty("conclusions")
        for index, conclusion in enumerate(conclusions or ()):
            if conclusion not in events.CONCLUSIONS:
                listed = ", ".join(events.CONCLUSIONS)
                hint = _suggest(conclusion, events.CONCLUSIONS) or f" (known: {listed})"
                self._error("conclusions", f"unknown conclusion {conclusion!r}{hint}", index=index)
        return conclusions
