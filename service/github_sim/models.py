"""The simulator's state as pydantic models, so the whole world serialises to one JSON file."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AccountType = Literal["User", "Organization", "Bot"]
Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
ReactionContent = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]
REACTION_CONTENTS: tuple[ReactionContent, ...] = (
    "+1",
    "-1",
    "laugh",
    "confused",
    "heart",
    "hooray",
    "rocket",
    "eyes",
)


class Account(BaseModel):
    id: int
    login: str
    type: AccountType = "User"
    name: str | None = None
    email: str | None = None
    created_at: datetime


class Label(BaseModel):
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


class Reaction(BaseModel):
    id: int
    user_id: int
    content: ReactionContent
    created_at: datetime


class IssueComment(BaseModel):
    id: int
    issue_number: int
    body: str
    user_id: int
    created_at: datetime
    updated_at: datetime
    reactions: list[Reaction] = Field(default_factory=list)


class FileChange(BaseModel):
    """One file of a pull request's diff, with its unified-diff hunk text as GitHub's `patch`."""

    filename: str
    status: Literal["added", "removed", "modified", "renamed"]
    patch: str
    additions: int
    deletions: int
    previous_filename: str | None = None


class Commit(BaseModel):
    sha: str
    tree_sha: str
    message: str
    author_id: int
    parents: list[str] = Field(default_factory=list)
    timestamp: datetime


class PullData(BaseModel):
    id: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    files: list[FileChange] = Field(default_factory=list)
    commit_shas: list[str] = Field(default_factory=list)


class Issue(BaseModel):
    """An issue, or the issue half of a pull request (GitHub numbers both from one sequence)."""

    id: int
    number: int
    title: str
    body: str | None = None
    user_id: int
    state: Literal["open", "closed"] = "open"
    state_reason: str | None = None
    label_names: list[str] = Field(default_factory=list)
    assignee_ids: list[int] = Field(default_factory=list)
    locked: bool = False
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    reactions: list[Reaction] = Field(default_factory=list)
    pull: PullData | None = None


class Review(BaseModel):
    id: int
    pull_number: int
    user_id: int
    body: str
    state: Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "PENDING"]
    commit_id: str
    submitted_at: datetime | None


class ReviewComment(BaseModel):
    id: int
    pull_number: int
    review_id: int | None
    user_id: int
    body: str
    path: str
    position: int
    line: int | None
    side: Literal["LEFT", "RIGHT"]
    start_line: int | None = None
    start_side: Literal["LEFT", "RIGHT"] | None = None
    commit_id: str
    diff_hunk: str
    in_reply_to_id: int | None = None
    created_at: datetime
    updated_at: datetime


class Annotation(BaseModel):
    path: str
    start_line: int
    end_line: int
    start_column: int | None = None
    end_column: int | None = None
    annotation_level: Literal["notice", "warning", "failure"]
    title: str | None = None
    message: str
    raw_details: str | None = None


class CheckRun(BaseModel):
    id: int
    name: str
    head_sha: str
    status: Literal["queued", "in_progress", "completed"] = "queued"
    conclusion: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output_title: str | None = None
    output_summary: str | None = None
    output_text: str | None = None
    annotations: list[Annotation] = Field(default_factory=list)
    app_owned: bool = True
    check_suite_id: int
    created_at: datetime


class WorkflowJob(BaseModel):
    id: int
    run_id: int
    name: str
    status: Literal["queued", "in_progress", "completed"] = "queued"
    conclusion: str | None = None
    log: str = ""
    started_at: datetime
    completed_at: datetime | None = None


class WorkflowRun(BaseModel):
    id: int
    name: str
    path: str
    workflow_id: int
    run_number: int
    event: str = "push"
    head_branch: str
    head_sha: str
    status: Literal["queued", "in_progress", "completed"] = "queued"
    conclusion: str | None = None
    actor_id: int
    check_suite_id: int
    jobs: list[WorkflowJob] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class Hook(BaseModel):
    id: int
    url: str
    secret: str | None = None
    content_type: str = "json"
    events: list[str] = Field(default_factory=lambda: ["push"])
    active: bool = True
    created_at: datetime
    updated_at: datetime
    last_status_code: int | None = None


class Repository(BaseModel):
    id: int
    owner_id: int
    name: str
    description: str | None = None
    private: bool = False
    default_branch: str = "main"
    homepage: str | None = None
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    branches: dict[str, str] = Field(default_factory=dict)
    """Branch name to head commit sha."""
    trees: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Commit sha to the full file tree at that commit (path to text)."""
    commits: dict[str, Commit] = Field(default_factory=dict)
    labels: list[Label] = Field(default_factory=list)
    issues: dict[int, Issue] = Field(default_factory=dict)
    comments: dict[int, IssueComment] = Field(default_factory=dict)
    reviews: dict[int, Review] = Field(default_factory=dict)
    review_comments: dict[int, ReviewComment] = Field(default_factory=dict)
    check_runs: dict[int, CheckRun] = Field(default_factory=dict)
    workflow_runs: dict[int, WorkflowRun] = Field(default_factory=dict)
    hooks: dict[int, Hook] = Field(default_factory=dict)
    collaborators: dict[str, Permission] = Field(default_factory=dict)
    next_number: int = 1


class Installation(BaseModel):
    id: int
    account_id: int
    repository_selection: Literal["all", "selected"] = "all"
    repository_ids: list[int] = Field(default_factory=list)
    created_at: datetime


class AppHook(BaseModel):
    url: str | None = None
    secret: str | None = None
    events: list[str] = Field(default_factory=list)
    """Events the App subscribes to; empty means every event the simulator emits."""


class InstallationToken(BaseModel):
    token: str
    installation_id: int
    expires_at: datetime
    repository_ids: list[int] | None = None
    """The repositories this token was narrowed to at issue time; None means the installation's."""


class Delivery(BaseModel):
    """One attempt to deliver a webhook, as GitHub records it (redeliveries keep the guid)."""

    id: int
    guid: str
    target: str
    """`app` for the App's webhook, else `hook:<id>`."""
    url: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    request_headers: dict[str, str]
    payload: str
    redelivery: bool = False
    delivered_at: datetime
    status_code: int = 0
    status: str = "pending"
    duration: float = 0.0
    response_headers: dict[str, str] = Field(default_factory=dict)
    response_body: str = ""


class WorldData(BaseModel):
    """Everything the simulator knows; what `--state FILE` persists."""

    accounts: dict[int, Account] = Field(default_factory=dict)
    user_tokens: dict[str, int] = Field(default_factory=dict)
    """Personal access token to account id."""
    repositories: dict[int, Repository] = Field(default_factory=dict)
    installations: dict[int, Installation] = Field(default_factory=dict)
    installation_tokens: dict[str, InstallationToken] = Field(default_factory=dict)
    org_admins: dict[int, list[str]] = Field(default_factory=dict)
    """Organization id to the logins that administer it (and so may create its repositories)."""
    app_hook: AppHook = Field(default_factory=AppHook)
    deliveries: list[Delivery] = Field(default_factory=list)
    next_id: int = 1000
