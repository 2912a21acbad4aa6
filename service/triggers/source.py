"""YAML text → plain data plus the position of every key and value.

PyYAML's `safe_load` forgets where things were, so the document is composed into a node tree and
converted by hand: that keeps a mark for every path (for line-numbered errors) and keeps mapping
keys as the strings that were written. The latter matters because YAML 1.1 resolves a bare `on` to
the boolean True, and `on:` is the most important key of an automation (GitHub Actions has the same
problem and reads the key as a string too).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

DocPath = tuple[str | int, ...]  # keys and list indexes from the document's root

# Aliases let a small document expand into a huge one ("billion laughs") or into itself; a config
# never needs more than this.
MAX_NODES = 100_000
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based

    @classmethod
    def of(cls, mark: yaml.Mark | None) -> Position:
        if mark is None:
            return cls(1, 1)
        return cls(mark.line + 1, mark.column + 1)


@dataclass(slots=True)
class Positions:
    """Where each value and each mapping key of the document starts."""

    values: dict[DocPath, Position] = field(default_factory=dict)
    keys: dict[DocPath, Position] = field(default_factory=dict)

    def of_value(self, path: Sequence[str | int]) -> Position:
        """The value at `path`, or its nearest enclosing value that exists."""
        for end in range(len(path), -1, -1):
            found = self.values.get(tuple(path[:end]))
            if found is not None:
                return found
        return Position(1, 1)

    def of_key(self, path: Sequence[str | int]) -> Position:
        """The key that introduces `path` (falls back to its value)."""
        return self.keys.get(tuple(path)) or self.of_value(path)


@dataclass(frozen=True, slots=True)
class SourceProblem:
    position: Position
    message: str


@dataclass(frozen=True, slots=True)
class Document:
    data: Any
    positions: Positions
    problems: tuple[SourceProblem, ...]


_BOOL_TAG = "tag:yaml.org,2002:bool"


@functools.cache
def _loader_class() -> type[yaml.SafeLoader]:
    """PyYAML's safe loader with YAML 1.2 booleans, as GitHub Actions reads workflows.

    YAML 1.1 also reads `on`, `off`, `yes`, `no`, `y` and `n` as booleans, so `branches: [on]`
    or `labels: [no]` would silently become true/false; in YAML 1.2 only true/false are.
    """

    class Yaml12Loader(yaml.SafeLoader):
        pass

    Yaml12Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Yaml12Loader.add_implicit_resolver(
        _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Yaml12Loader


class _Converter:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.positions = Positions()
        self.problems: list[SourceProblem] = []
        self.nodes_seen = 0

    def convert(self, node: yaml.Node, path: DocPath) -> Any:
        self.nodes_seen += 1
        if self.nodes_seen > MAX_NODES:
            raise _TooLargeError(node, f"document expands to more than {MAX_NODES} values")
        if len(path) > MAX_DEPTH:
            raise _TooLargeError(
                node, f"nested more than {MAX_DEPTH} levels deep (recursive alias?)"
            )
        self.positions.values[path] = Position.of(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: DocPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "a mapping key must be a plain string")
                continue
            key = str(key_node.value)
            if key in result:
                self._problem(key_node, f"duplicate key {key!r}")
                continue
            self.positions.keys[(*path, key)] = Position.of(key_node.start_mark)
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(SourceProblem(Position.of(node.start_mark), message))


class _TooLargeError(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def parse_document(text: str) -> Document:
    """Parse one YAML document; syntax errors come back as problems, never as exceptions."""
    try:
        loader = _loader_class()(text)  # checks every character up front
    except yaml.reader.ReaderError as error:
        return Document(None, Positions(), (_unprintable(text, error),))
    try:
        root = loader.get_single_node()
        if root is None:
            return Document(None, Positions(), ())
        converter = _Converter(loader)
        data = converter.convert(root, ())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(part for part in (error.context, error.problem) if part)
        return Document(None, Positions(), (SourceProblem(Position.of(mark), message),))
    except _TooLargeError as error:
        problem = SourceProblem(Position.of(error.node.start_mark), error.message)
        return Document(None, Positions(), (problem,))
    except RecursionError:
        # PyYAML composes recursively: thousands of nested brackets exhaust Python's stack.
        problem = SourceProblem(Position(1, 1), "the document is nested too deeply")
        return Document(None, Positions(), (problem,))
    finally:
        loader.dispose()
    return Document(data, converter.positions, tuple(converter.problems))


def _unprintable(text: str, error: yaml.reader.ReaderError) -> SourceProblem:
    line = text.count("\n", 0, error.position) + 1
    column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
    message = f"character U+{error.character:04X} is not allowed in YAML"
    return SourceProblem(Position(line, column), message)
