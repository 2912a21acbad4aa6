"""Filters the worker resolves with GitHub's help, against a stand-in resolver."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from service.triggers import PathFilter, PendingChecks, PendingResolver, resolve_pending


class StandInResolver:
    """Answers like the worker's GitHub client would, and records what it was asked."""

    def __init__(self, *, files: Sequence[str] = (), permissions: dict[str, str] | None = None):
        self.files = list(files)
        self.permissions = permissions or {}
        self.asked: list[str] = []

    def changed_files(self) -> Sequence[str]:
        self.asked.append("files")
        return self.files

    def permission(self, login: str) -> str:
        self.asked.append(f"permission:{login}")
        return self.permissions.get(login, "none")


def _resolver(resolver: StandInResolver) -> PendingResolver:
    return resolver  # checks, statically, that the stand-in implements the Protocol


@pytest.mark.parametrize(
    ("required", "actual", "reason"),
    [
        ("write", "admin", None),
        ("write", "maintain", None),
        ("write", "write", None),
        ("write", "triage", "sender alice has triage permission; write required"),
        ("write", "read", "sender alice has read permission; write required"),
        ("write", "none", "sender alice has none permission; write required"),
        ("read", "read", None),
        ("triage", "read", "sender alice has read permission; triage required"),
        ("maintain", "write", "sender alice has write permission; maintain required"),
        ("admin", "maintain", "sender alice has maintain permission; admin required"),
    ],
)
def test_permission_levels(required: str, actual: str, reason: str | None) -> None:
    resolver = StandInResolver(permissions={"alice": actual})
    pending = PendingChecks(permission=required, login="alice")
    assert resolve_pending(pending, resolver=_resolver(resolver)) == reason
    assert resolver.asked == ["permission:alice"]


@pytest.mark.parametrize(
    ("paths", "files", "reason"),
    [
        (PathFilter(("src/**",)), ["src/app.py", "README.md"], None),
        (
            PathFilter(("src/**",)),
            ["README.md"],
            "paths: none of 1 changed file matched by [src/**]",
        ),
        (PathFilter(("docs/**",), ignore=True), ["docs/a.md", "src/b.py"], None),
        (
            PathFilter(("docs/**",), ignore=True),
            ["docs/a.md", "docs/b.md"],
            "paths-ignore: all 2 changed files matched by [docs/**]",
        ),
    ],
)
def test_paths(paths: PathFilter, files: list[str], reason: str | None) -> None:
    resolver = StandInResolver(files=files)
    assert resolve_pending(PendingChecks(paths=paths), resolver=_resolver(resolver)) == reason


def test_permission_refusal_skips_the_files_request() -> None:
    resolver = StandInResolver(files=["src/a.py"], permissions={"bob": "read"})
    pending = PendingChecks(paths=PathFilter(("src/**",)), permission="write", login="bob")
    assert resolve_pending(pending, resolver=_resolver(resolver)) == (
        "sender bob has read permission; write required"
    )
    assert resolver.asked == ["permission:bob"]


def test_both_checks_pass() -> None:
    resolver = StandInResolver(files=["src/a.py"], permissions={"bob": "admin"})
    pending = PendingChecks(paths=PathFilter(("src/**",)), permission="write", login="bob")
    assert resolve_pending(pending, resolver=_resolver(resolver)) is None
    assert resolver.asked == ["permission:bob", "files"]


def test_nothing_pending_asks_nothing() -> None:
    resolver = StandInResolver()
    assert PendingChecks().empty
    assert resolve_pending(PendingChecks(), resolver=_resolver(resolver)) is None
    assert resolver.asked == []


def test_unknown_permission_from_the_resolver_is_an_error() -> None:
    resolver = StandInResolver(permissions={"bob": "owner"})
    with pytest.raises(ValueError, match="unknown permission level 'owner'"):
        resolve_pending(PendingChecks(permission="write", login="bob"), resolver=resolver)


@pytest.mark.parametrize(
    "pending",
    [
        PendingChecks(),
        PendingChecks(permission="maintain", login="carol"),
        PendingChecks(paths=PathFilter(("a/**", "!a/b/**"))),
        PendingChecks(paths=PathFilter(("docs/**",), ignore=True), permission="read", login="d"),
    ],
)
def test_json_round_trip(pending: PendingChecks) -> None:
    data = json.loads(json.dumps(pending.to_json()))
    assert PendingChecks.from_json(data) == pending


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"permission": "owner", "login": "x"}, "unknown permission level"),
        ({"permission": "none", "login": "x"}, "unknown permission level"),
        ({"permission": "write"}, "needs the login"),
    ],
)
def test_invalid_pending_checks_are_refused(kwargs: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PendingChecks(**kwargs)
