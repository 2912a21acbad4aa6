"""Filters that need GitHub to decide: resolved by the worker before the agent runs.

The web process must never wait on GitHub, so a pull request's changed files (for `paths`) and the
sender's repository permission (for `permission:`) travel with the job as `PendingChecks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.triggers.events import PERMISSION_LEVELS
from service.triggers.globs import PathFilter

_RANK = {level: rank for rank, level in enumerate(PERMISSION_LEVELS)}


@dataclass(frozen=True, slots=True)
class PendingChecks:
    paths: PathFilter | None = None  # the changed files must pass these globs
    permission: str | None = None  # required level: read|triage|write|maintain|admin
    login: str | None = None  # whose permission (the sender)

    def __post_init__(self) -> None:
        if self.permission is not None:
            if self.permission not in _RANK or self.permission == "none":
                raise ValueError(f"unknown permission level {self.permission!r}")
            if not self.login:
                raise ValueError("a permission check needs the login to check")

    @property
    def empty(self) -> bool:
        return self.paths is None and self.permission is None

    def to_json(self) -> dict[str, Any]:
        return {
            "paths": None if self.paths is None else self.paths.to_json(),
            "permission": self.permission,
            "login": self.login,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingChecks:
        paths = data.get("paths")
        return cls(
            paths=None if paths is None else PathFilter.from_json(paths),
            permission=data.get("permission"),
            login=data.get("login"),
        )


class PendingResolver(Protocol):
    """What the worker's GitHub client answers for one job's event."""

    def changed_files(self) -> Sequence[str]: ...

    def permission(self, login: str) -> str:
        """admin|maintain|write|triage|read|none"""
        ...


def permission_at_least(actual: str, required: str) -> bool:
    if actual not in _RANK:
        raise ValueError(f"unknown permission level {actual!r} from the resolver")
    return _RANK[actual] >= _RANK[required]


def resolve_pending(pending: PendingChecks, *, resolver: PendingResolver) -> str | None:
    """None if every pending check passes; otherwise the reason to skip the job.

    The permission is checked first: it is one small API call, and a refusal there makes the
    (possibly paginated) list of changed files unnecessary.
    """
    if pending.permission is not None and pending.login is not None:
        actual = resolver.permission(pending.login)
        if not permission_at_least(actual, pending.permission):
            return f"sender {pending.login} has {actual} permission; {pending.permission} required"
    if pending.paths is not None:
        return pending.paths.check(resolver.changed_files())
    return None
