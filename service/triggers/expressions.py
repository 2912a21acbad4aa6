"""JMESPath over webhook payloads: `if:` conditions and `{expr}` placeholders in concurrency groups.

Everything is compiled when the config is loaded; unknown functions and wrong argument counts, which
the jmespath library only notices while evaluating, are checked then too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import jmespath
from jmespath import functions as jmespath_functions
from jmespath.exceptions import JMESPathError, ParseError
from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter

from service.lazy_json import LazyObject, to_python


class ExpressionError(ValueError):
    """An expression that cannot be compiled."""


def _function_calls(node: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    if node.get("type") == "function_expression":
        yield str(node["value"]), len(node["children"])
    for child in node.get("children", ()):
        if isinstance(child, Mapping):
            yield from _function_calls(child)


def _check_function(name: str, argument_count: int) -> None:
    table: Mapping[str, Any] = jmespath_functions.Functions.FUNCTION_TABLE
    if name not in table:
        known = ", ".join(sorted(table))
        raise ExpressionError(f"unknown function {name}(); JMESPath has {known}")
    signature = table[name]["signature"]
    variadic = bool(signature) and bool(signature[-1].get("variadic"))
    if variadic and argument_count < len(signature):
        raise ExpressionError(f"{name}() takes at least {len(signature)} arguments")
    if not variadic and argument_count != len(signature):
        plural = "argument" if len(signature) == 1 else "arguments"
        raise ExpressionError(f"{name}() takes {len(signature)} {plural}, got {argument_count}")


def hoist_negation(node: Mapping[str, Any]) -> dict[str, Any]:
    """Make a leading `!` negate the whole path, as in GitHub Actions expressions.

    JMESPath binds `!` tighter than `.` and `[]`, so `!pull_request.draft` would be
    `(!pull_request).draft`: a field of a boolean, always null, never true. Nobody means that, and
    the form is what Actions users write (and what our own documentation shows), so the tree is
    rewritten to `!(pull_request.draft)`.
    """
    children = [
        hoist_negation(child) if isinstance(child, Mapping) else child
        for child in node.get("children", ())
    ]
    rewritten = {**node, "children": children}
    if (
        node.get("type") in ("subexpression", "index_expression")
        and children
        and isinstance(children[0], Mapping)
        and children[0].get("type") == "not_expression"
    ):
        operand = children[0]["children"][0]
        return {
            "type": "not_expression",
            "children": [{**rewritten, "children": [operand, *children[1:]]}],
        }
    return rewritten


class PayloadInterpreter(TreeInterpreter):
    """JMESPath's interpreter, for payloads read lazily (`service.lazy_json`).

    A chain of field names steps into the document without converting it; whatever a chain, or
    `@`, hands to anything else (a comparison, a function, a projection, the caller) is a plain
    dict. Every other node either passes its input on to its children or treats an object the
    way it treats a dict, so the result is the same as over a fully parsed payload.
    """

    def visit_subexpression(self, node: Any, value: Any) -> Any:
        result = value
        for child in node["children"]:
            if child["type"] == "field" and isinstance(result, LazyObject):
                result = result.get(child["value"])
            else:
                result = self.visit(child, result)
        return to_python(result)

    def visit_field(self, node: Any, value: Any) -> Any:
        return to_python(super().visit_field(node, value))

    def visit_current(self, node: Any, value: Any) -> Any:
        return to_python(value)

    def visit_identity(self, node: Any, value: Any) -> Any:
        return to_python(value)


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled JMESPath expression with its own interpreter.

    `ParsedResult.search` builds a fresh interpreter, with an empty dispatch cache, on every call;
    keeping one per expression makes evaluation about a third cheaper on this hot path.
    """

    source: str
    compiled: ParsedResult
    interpreter: TreeInterpreter

    def search(self, payload: Mapping[str, Any]) -> Any:
        return to_python(self.interpreter.visit(self.compiled.parsed, payload))


def compile_expression(text: str) -> Expression:
    """Compile a JMESPath expression or raise ExpressionError saying where it is wrong."""
    try:
        compiled = jmespath.compile(text)
    except ParseError as error:
        position = int(error.lex_position) + 1
        raise ExpressionError(
            f"invalid JMESPath {text!r} at character {position}: {error.msg}"
        ) from error
    except JMESPathError as error:
        raise ExpressionError(f"invalid JMESPath {text!r}: {error}") from error
    for name, argument_count in _function_calls(compiled.parsed):
        _check_function(name, argument_count)
    compiled = ParsedResult(text, cast(Any, hoist_negation(compiled.parsed)))
    return Expression(source=text, compiled=compiled, interpreter=PayloadInterpreter())


def is_truthy(value: Any) -> bool:
    """JMESPath's truthiness: false, null and empty strings, arrays and objects are false.

    Unlike Python, the number 0 is true.
    """
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


@dataclass(frozen=True, slots=True)
class Condition:
    """An `if:` expression."""

    source: str
    compiled: Expression

    @classmethod
    def compile(cls, source: str) -> Condition:
        return cls(source=source, compiled=compile_expression(source))

    def check(self, payload: Mapping[str, Any]) -> str | None:
        """None if the condition holds; otherwise why not."""
        try:
            value = self.compiled.search(payload)
        except JMESPathError as error:
            return f"if: error evaluating {self.source}: {error}"
        if is_truthy(value):
            return None
        falsy = "" if value is False else " (false)"
        return f"if: {self.source} evaluated to {json.dumps(value)}{falsy}"


def _render_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # the common case (issue and PR numbers), without json.dumps
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Template:
    """A string with `{expression}` placeholders; `{{` and `}}` are literal braces.

    A placeholder whose value is missing renders as the empty string.
    """

    source: str
    parts: tuple[str | Expression, ...]

    @classmethod
    def compile(cls, source: str) -> Template:
        return cls(source=source, parts=tuple(_template_parts(source)))

    def render(self, payload: Mapping[str, Any]) -> str:
        rendered: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                rendered.append(part)
                continue
            try:
                rendered.append(_render_value(part.search(payload)))
            except JMESPathError:
                rendered.append("")
        return "".join(rendered)


def _template_parts(source: str) -> Iterator[str | Expression]:
    literal: list[str] = []
    index = 0
    while index < len(source):
        char = source[index]
        if source.startswith(("{{", "}}"), index):
            literal.append(char)
            index += 2
        elif char == "}":
            raise ExpressionError(f"unmatched '}}' at character {index + 1} (write '}}}}')")
        elif char == "{":
            end = _closing_brace(source, index)
            if literal:
                yield "".join(literal)
                literal = []
            yield compile_expression(source[index + 1 : end].strip())
            index = end + 1
        else:
            literal.append(char)
            index += 1
    if literal:
        yield "".join(literal)


def _closing_brace(source: str, start: int) -> int:
    # JMESPath itself uses braces (multi-select hashes), so nesting is counted.
    depth = 0
    for index in range(start, len(source)):
        if source[index] == "{":
            depth += 1
        elif source[index] == "}":
            depth -= 1
            if depth == 0:
                if index == start + 1:
                    raise ExpressionError(f"empty placeholder '{{}}' at character {start + 1}")
                return index
    raise ExpressionError(f"unclosed '{{' at character {start + 1}")
