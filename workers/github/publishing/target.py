"""Where an event's outputs go: repository, installation, and the issue or pull request number.

Pure: reads the webhook payload only. Check and workflow events name their pull requests in the
payload, but GitHub leaves that list empty for pull requests from forks; then the head sha is kept
so the publisher can ask GitHub (`GET /repos/{o}/{r}/commits/{sha}/pulls`) when it needs a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workers.agents.base import PermanentError

# The payload key holding the object whose `pull_requests` and `head_sha` an event carries.
_CHECK_EVENTS = {
    "check_run": "check_run",
    "check_suite": "check_suite",
    "workflow_run": "workflow_run",
}


@dataclass(frozen=True, slots=True)
class Target:
    repository: str
    installation_id: int | None
    number: int | None
    """The issue or pull request, when the payload names it."""
    head_sha: str | None = None
    """For check and workflow events without a pull request in the payload."""
    comment_id: int | None = None
    """The comment that triggered the event (a command), for reactions."""
    review_comment: bool = False
    """Whether `comment_id` is a pull-request review comment (its reactions live elsewhere)."""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(event: str, payload: Mapping[str, Any]) -> int | None:
    for key in ("issue", "pull_request"):
        number = _int_or_none(_mapping(payload.get(key)).get("number"))
        if number is not None:
            return number
    if event in _CHECK_EVENTS:
        pulls = _mapping(payload.get(_CHECK_EVENTS[event])).get("pull_requests") or []
        for pull in pulls:
            number = _int_or_none(_mapping(pull).get("number"))
            if number is not None:
                return number
    return _int_or_none(payload.get("number"))


def target_for(event: str, payload: Mapping[str, Any]) -> Target:
    """The outputs' destination for one delivery; a payload without a repository is refused."""
    repository = _mapping(payload.get("repository")).get("full_name")
    if not isinstance(repository, str) or "/" not in repository:
        raise PermanentError("event has no repository to publish to")
    installation = _int_or_none(_mapping(payload.get("installation")).get("id"))
    head_sha = None
    if event in _CHECK_EVENTS:
        sha = _mapping(payload.get(_CHECK_EVENTS[event])).get("head_sha")
        head_sha = sha if isinstance(sha, str) else None
    comment = _mapping(payload.get("comment"))
    return Target(
        repository=repository,
        installation_id=installation,
        number=_number(event, payload),
        head_sha=head_sha,
        comment_id=_int_or_none(comment.get("id")),
        review_comment=event == "pull_request_review_comment",
    )
