"""What every agent receives (`AgentContext`) and returns (`Result`).

An agent is a plain function `(AgentContext) -> Result`. It decides; it does not post. The one
publisher turns a Result into side effects, idempotently, so agents are testable offline and a
retried job never double-posts. A Result is JSON-serialisable and stored on the job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Comment(_Frozen):
    """A comment on the event's issue or pull request. With `sticky`, one comment per automation
    and target is kept and edited in place on re-runs (found by a hidden marker)."""

    body: str
    sticky: bool = True


class InlineComment(_Frozen):
    path: str
    line: int = Field(ge=1)
    side: Literal["LEFT", "RIGHT"] = "RIGHT"
    start_line: int | None = Field(default=None, ge=1)
    body: str


class Review(_Frozen):
    """A pull-request review; at most one per head SHA and automation."""

    commit_sha: str
    body: str
    event: Literal["COMMENT", "REQUEST_CHANGES", "APPROVE"] = "COMMENT"
    comments: tuple[InlineComment, ...] = ()


class Annotation(_Frozen):
    path: str
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    level: Literal["notice", "warning", "failure"] = "failure"
    message: str
    title: str | None = None


class CheckRun(_Frozen):
    name: str
    head_sha: str
    conclusion: Literal["success", "failure", "neutral", "cancelled", "skipped", "action_required"]
    title: str
    summary: str
    text: str | None = None
    annotations: tuple[Annotation, ...] = ()


class Patch(_Frozen):
    """Changes an agent made in its worktree, to be pushed to `branch` and opened as a draft PR."""

    branch: str
    base: str
    title: str
    body: str
    diff: str


class Notification(_Frozen):
    """A JSON POST to a URL outside GitHub (chat, incident tools)."""

    url: str
    payload: dict[str, Any]
    timeout: float = 10.0
    retries: int = 3


class Result(_Frozen):
    summary: str
    labels_add: tuple[str, ...] = ()
    labels_remove: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()
    reactions: tuple[
        Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"], ...
    ] = ()
    review: Review | None = None
    check_run: CheckRun | None = None
    patch: Patch | None = None
    notifications: tuple[Notification, ...] = ()

    @property
    def touches_github(self) -> bool:
        return bool(
            self.labels_add
            or self.labels_remove
            or self.comments
            or self.reactions
            or self.review
            or self.check_run
            or self.patch
        )


class NoOptions(BaseModel):
    """Options of an agent (or an internal publish) that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class AgentContext:
    """Everything an agent may look at. It holds no write token: publishing is not its job."""

    job_id: str
    delivery_id: str
    automation: str
    event: str
    action: str | None
    payload: Mapping[str, Any]
    options: BaseModel
    command: Mapping[str, Any] | None = None
    cancelled: Callable[[], bool] = field(default=lambda: False)
    # A pull request's changed files (renames give both paths), when the worker fetched them
    # (read-only); None when not known. The payload never lists them.
    changed_files: tuple[str, ...] | None = None

    @property
    def repository(self) -> str | None:
        repo = self.payload.get("repository")
        return repo.get("full_name") if isinstance(repo, Mapping) else None


class AgentCancelled(Exception):
    """Raised by an agent that noticed `context.cancelled()`."""


class TransientError(Exception):
    """A failure worth retrying later (network, 5xx, rate limits).

    `retry_after`: the least the remote asked us to wait. `escalate`: the wait doubles with each
    attempt (GitHub's advice when a secondary rate limit keeps coming back)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, escalate: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.escalate = escalate


class PermanentError(Exception):
    """A failure that retrying will not fix (bad options, 4xx from a remote)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
