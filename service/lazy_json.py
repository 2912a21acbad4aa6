"""Webhook payloads parsed in full but converted to Python objects only where they are read.

The intake reads a handful of fields of a payload (the action, the sender, the repository's name,
what the automations' filters look at), yet turning a 28 KB `pull_request` payload into Python
dicts and strings, and freeing them afterwards, cost about a third of the web process's CPU per
delivery. simdjson validates the whole document at several gigabytes a second and leaves it on a
compact tape; `LazyObject` is a read-only mapping over that tape that converts each value on first
access. Arrays are converted whole (filters iterate them); objects stay lazy.

A simdjson parser holds one document at a time: parsing the next one while values of the previous
one are still referenced raises, so `PayloadParser` falls back to a fresh parser then.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import simdjson

_MISSING: Any = object()


class LazyObject(Mapping[str, Any]):
    """A JSON object read lazily: nested objects are `LazyObject`s, arrays are lists."""

    __slots__ = ("_children", "_object")

    def __init__(self, obj: simdjson.Object) -> None:
        self._object = obj
        self._children: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        # Sentinels rather than KeyError: most lookups happen once per key, many of them for keys
        # a payload lacks, and raising costs more than the lookup.
        value = self._children.get(key, _MISSING)
        if value is _MISSING:
            raw = self._object.get(key, _MISSING)
            if raw is _MISSING:
                return default
            value = self._children[key] = _python(raw)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._object

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._object.keys()))

    def __len__(self) -> int:
        return len(self._object)

    def to_python(self) -> dict[str, Any]:
        """The whole object as plain dicts and lists."""
        converted: dict[str, Any] = self._object.as_dict()
        return converted

    def __repr__(self) -> str:
        return f"LazyObject({self.to_python()!r})"


def _python(value: Any) -> Any:
    if isinstance(value, simdjson.Object):
        return LazyObject(value)
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


def to_python(value: Any) -> Any:
    """`value` with a `LazyObject` turned into plain dicts; anything else unchanged."""
    return value.to_python() if isinstance(value, LazyObject) else value


class MalformedJSON(ValueError):
    pass


class PayloadParser:
    """Parses JSON objects into `LazyObject`s, with one reusable simdjson parser per thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.replaced = 0  # parsers replaced because a document was still referenced

    def parse(self, data: bytes) -> LazyObject:
        parser: simdjson.Parser | None = getattr(self._local, "parser", None)
        if parser is None:
            parser = self._local.parser = simdjson.Parser()
        try:
            document = parser.parse(data)
        except RuntimeError:
            # The previous document is still referenced somewhere (or the number is too big for
            # 64 bits, which the fresh parser reports again): leave that parser to it.
            parser = self._local.parser = simdjson.Parser()
            self.replaced += 1
            document = _parse_or_explain(parser, data)
        except ValueError as exc:
            raise MalformedJSON(str(exc)) from exc
        if not isinstance(document, simdjson.Object):
            raise MalformedJSON("body must be a JSON object")
        return LazyObject(document)


def _parse_or_explain(parser: simdjson.Parser, data: bytes) -> Any:
    try:
        return parser.parse(data)
    except (RuntimeError, ValueError) as exc:
        raise MalformedJSON(str(exc)) from exc
