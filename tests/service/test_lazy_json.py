"""Lazily read payloads answer exactly as fully parsed ones do."""

from __future__ import annotations

import gc
from pathlib import Path

import orjson
import pytest
from jmespath.exceptions import JMESPathError

from service.lazy_json import LazyObject, MalformedJSON, PayloadParser, to_python
from service.triggers.expressions import compile_expression
from tests.conftest import WEBHOOK_EXAMPLES

PAYLOADS = sorted(WEBHOOK_EXAMPLES.glob("*/*.json"))

# Every kind of JMESPath node, rooted at the payload, at objects inside it and at arrays.
EXPRESSIONS = [
    "action",
    "sender.login",
    "!pull_request.draft",
    "pull_request.base.ref",
    "pull_request.head.repo.owner.login",
    "repository.owner",
    "repository.topics",
    "issue.labels[].name",
    "!contains(issue.labels[].name, 'bug')",
    "commits[].added[]",
    "commits[0].message",
    "commits[-1].id",
    "commits[:2].id",
    "length(commits)",
    "keys(@)",
    "length(@)",
    "@",
    "repository.*",
    "*.login",
    "[action, sender.type]",
    "{a: action, n: number}",
    "sender.type == 'Bot' || action == 'opened'",
    "issue && issue.state",
    "!issue",
    "repository.owner.login == sender.login",
    "comment.body | length(@)",
    "issue.labels[?name == 'bug'].color",
    "sort_by(commits, &timestamp)[].id",
    "to_string(installation)",
    "repository.owner.[login, id]",
    "repository.owner.{l: login}",
    "sender.length(@)",
    "not_there.length(@)",
    "repository.owner.missing.deeper",
    "workflow_run.pull_requests[].number",
    "type(repository)",
    "values(sender)",
]


def lazy(data: bytes) -> LazyObject:
    return PayloadParser().parse(data)


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_payload_reads_the_same_lazily(path: Path) -> None:
    data = path.read_bytes()
    plain = orjson.loads(data)
    document = lazy(data)
    assert document.to_python() == plain
    assert document == plain
    assert list(document) == list(plain)
    assert len(document) == len(plain)
    for key, value in plain.items():
        assert to_python(document[key]) == value
        assert key in document
    assert document.get("no such key") is None
    assert "no such key" not in document


def _evaluate(expression: str, payload: object) -> object:
    try:
        return compile_expression(expression).search(payload)  # type: ignore[arg-type]
    except JMESPathError as error:
        return type(error)


def test_jmespath_over_a_lazy_payload_answers_as_over_a_parsed_one() -> None:
    compared = 0
    for path in PAYLOADS:
        data = path.read_bytes()
        plain = orjson.loads(data)
        for expression in EXPRESSIONS:
            expected = _evaluate(expression, plain)
            got = _evaluate(expression, lazy(data))
            assert got == expected, (path.name, expression)
            assert not isinstance(got, LazyObject)
            compared += expected is not None
    assert compared > 1000  # most expressions found something in most payloads


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"a": 1} trailing',
        b"[1, 2]",
        b'"a string"',
        b'{"a": NaN}',
        b'{"a": "\xff"}',
        b'{"a": "\\ud800"}',
        b'{"a": 123456789012345678901234567890}',
    ],
)
def test_what_is_not_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedJSON):
        lazy(body)


def test_a_document_still_referenced_does_not_block_the_next_parse() -> None:
    parser = PayloadParser()
    first = parser.parse(b'{"n": 1, "inner": {"x": [1]}}')
    inner = first["inner"]
    second = parser.parse(b'{"n": 2}')
    assert (first["n"], inner["x"], second["n"]) == (1, [1], 2)
    del first, inner, second
    gc.collect()
    assert parser.parse(b'{"n": 3}')["n"] == 3
