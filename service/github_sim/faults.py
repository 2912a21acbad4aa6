"""Injected faults and GitHub's rate-limit bookkeeping: pure decisions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

FaultKind = Literal["error", "secondary_rate_limit", "primary_rate_limit", "slow"]

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
PRIMARY_MESSAGE = "API rate limit exceeded for installation."
DOCS = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"


class FaultSpec(BaseModel):
    """What the control plane accepts: the next `count` matching requests get this fault."""

    kind: FaultKind
    count: int = Field(default=1, ge=1)
    path: str | None = None
    """A regular expression searched in the request path; None matches every API path."""
    method: str | None = None
    status: int = 500
    """For `error`: 500, 502, 503...; for `primary_rate_limit`: 403 or 429."""
    retry_after: int | None = 60
    """For `secondary_rate_limit`: the `retry-after` header in seconds (None omits it)."""
    reset_in: int = 60
    """For `primary_rate_limit`: seconds until `x-ratelimit-reset`."""
    delay: float = 2.0
    """For `slow`: seconds to wait before answering normally."""


@dataclass
class FaultRule:
    spec: FaultSpec
    remaining: int
    pattern: re.Pattern[str] | None

    def matches(self, method: str, path: str) -> bool:
        if self.spec.method is not None and self.spec.method.upper() != method.upper():
            return False
        return self.pattern is None or self.pattern.search(path) is not None


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)

    def add(self, spec: FaultSpec) -> None:
        pattern = re.compile(spec.path) if spec.path else None
        self.rules.append(FaultRule(spec=spec, remaining=spec.count, pattern=pattern))

    def clear(self) -> None:
        self.rules.clear()

    def take(self, method: str, path: str) -> FaultSpec | None:
        """Consume one use of the first rule matching this request."""
        for rule in self.rules:
            if rule.remaining > 0 and rule.matches(method, path):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self.rules.remove(rule)
                return rule.spec
        return None

    def pending(self) -> list[dict[str, object]]:
        return [{**rule.spec.model_dump(), "remaining": rule.remaining} for rule in self.rules]


@dataclass
class RateWindow:
    limit: int
    used: int
    reset: int


@dataclass
class RateLimits:
    """GitHub's primary limit per caller: an hourly window of `limit` requests."""

    authenticated_limit: int = 5000
    anonymous_limit: int = 60
    windows: dict[str, RateWindow] = field(default_factory=dict)

    def window(self, key: str, *, now: int) -> RateWindow:
        limit = self.anonymous_limit if key == "anonymous" else self.authenticated_limit
        window = self.windows.get(key)
        if window is None or window.reset <= now:
            window = RateWindow(limit=limit, used=0, reset=now + 3600)
            self.windows[key] = window
        return window

    def count(self, key: str, *, now: int) -> RateWindow:
        window = self.window(key, now=now)
        window.used += 1
        return window


def rate_headers(window: RateWindow, *, remaining: int | None = None) -> dict[str, str]:
    left = max(window.limit - window.used, 0) if remaining is None else remaining
    return {
        "x-ratelimit-limit": str(window.limit),
        "x-ratelimit-remaining": str(left),
        "x-ratelimit-reset": str(window.reset),
        "x-ratelimit-used": str(window.used),
        "x-ratelimit-resource": "core",
    }
