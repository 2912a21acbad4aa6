"""Event → the jobs it starts. Pure and precompiled: this runs in the web process per delivery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.triggers.commands import CommandMatch
from service.triggers.config import Automation, Config, EventTrigger
from service.triggers.globs import PathFilter
from service.triggers.pending import PendingChecks

# GitHub's docs cap a push's `commits` at 20 for timeline events (webhooks may carry more); a list
# that long may be incomplete, and asking the API in the worker is cheap and exact.
PUSH_COMMITS_CAP = 20


@dataclass(frozen=True, slots=True)
class Identity:
    """Who Hookwise itself is, so that it never reacts to its own actions (loop guard)."""

    logins: frozenset[str] = frozenset()  # e.g. {"hookwise[bot]"} or the token's user login
    app_id: int | None = None  # events with performed_via_github_app.id == app_id are ours
    # GitHub logins are case-insensitive.
    _folded_logins: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = frozenset(login.lower() for login in self.logins)
        object.__setattr__(self, "_folded_logins", folded)

    def is_own_login(self, login: str) -> bool:
        return login.lower() in self._folded_logins


@dataclass(frozen=True, slots=True)
class JobSpec:
    automation: str
    agent: str
    options: Mapping[str, Any]  # the validated `with:` block, JSON-serialisable
    concurrency_group: str | None
    cancel_in_progress: bool
    command: CommandMatch | None
    pending: PendingChecks


@dataclass(frozen=True, slots=True)
class NotMatched:
    automation: str
    reason: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    jobs: tuple[JobSpec, ...]
    not_matched: tuple[NotMatched, ...]


@dataclass(frozen=True, slots=True)
class _EventFacts:
    """What every automation looks at, extracted once per event."""

    event: str
    action: str | None
    payload: Mapping[str, Any]
    sender_login: str | None
    sender_is_bot: bool


def match_event(
    config: Config, *, event: str, payload: Mapping[str, Any], identity: Identity
) -> MatchResult:
    """Which automations run for this event, and for every other one, why not."""
    own = _caused_by_hookwise(payload, identity)
    if own is not None:
        return MatchResult(
            jobs=(),
            not_matched=tuple(NotMatched(a.name, own) for a in config.automations),
        )
    facts = _facts(event, payload)
    jobs: list[JobSpec] = []
    not_matched: list[NotMatched] = []
    subscribed = config.triggers_for(event)
    for automation in config.automations:
        outcome = _match_automation(automation, subscribed.get(automation.name, ()), facts)
        if isinstance(outcome, JobSpec):
            jobs.append(outcome)
        else:
            not_matched.append(NotMatched(automation.name, outcome))
    return MatchResult(jobs=tuple(jobs), not_matched=tuple(not_matched))


def _facts(event: str, payload: Mapping[str, Any]) -> _EventFacts:
    sender = payload.get("sender")
    login = sender.get("login") if isinstance(sender, Mapping) else None
    is_bot = isinstance(sender, Mapping) and (
        sender.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]"))
    )
    action = payload.get("action")
    return _EventFacts(
        event=event,
        action=action if isinstance(action, str) else None,
        payload=payload,
        sender_login=login if isinstance(login, str) else None,
        sender_is_bot=is_bot,
    )


def _caused_by_hookwise(payload: Mapping[str, Any], identity: Identity) -> str | None:
    sender = payload.get("sender")
    login = sender.get("login") if isinstance(sender, Mapping) else None
    if isinstance(login, str) and identity.is_own_login(login):
        return f"event caused by Hookwise itself (sender {login}); always ignored"
    if identity.app_id is None:
        return None
    # Comments, issues and PRs that an app creates name it in `performed_via_github_app`.
    for value in payload.values():
        if isinstance(value, Mapping):
            app = value.get("performed_via_github_app")
            if isinstance(app, Mapping) and app.get("id") == identity.app_id:
                return f"event caused by Hookwise itself (app {identity.app_id}); always ignored"
    return None


def _match_automation(
    automation: Automation, triggers: tuple[EventTrigger, ...], facts: _EventFacts
) -> JobSpec | str:
    if not automation.enabled:
        return "disabled (enabled: false)"
    if not triggers:
        listed = ", ".join(automation.events)
        return f"not subscribed to event {facts.event} (on: {listed})"
    reasons: list[str] = []
    for trigger in triggers:
        outcome = _match_trigger(trigger, facts)
        if isinstance(outcome, str):
            reasons.append(outcome)
            continue
        refusal = _check_automation(automation, facts)
        if refusal is not None:
            return refusal
        command, paths = outcome
        return _job(automation, facts, command=command, paths=paths)
    return "; ".join(reasons)


def _check_automation(automation: Automation, facts: _EventFacts) -> str | None:
    if facts.sender_is_bot:
        login = facts.sender_login or "unknown"
        if login.lower().removesuffix("[bot]") not in automation.bots:
            return f"sender {login} is a bot not listed in bots"
    if automation.condition is not None:
        refusal = automation.condition.check(facts.payload)
        if refusal is not None:
            return refusal
    if automation.permission is not None and facts.sender_login is None:
        return f"permission: {automation.permission} required but the event has no sender"
    return None


def _job(
    automation: Automation,
    facts: _EventFacts,
    *,
    command: CommandMatch | None,
    paths: PathFilter | None,
) -> JobSpec:
    template = automation.concurrency_group
    # A group that renders to nothing at all (every placeholder missing) would put unrelated jobs
    # in one group, where cancel_in_progress cancels them: no group instead.
    group = template.render(facts.payload) if template is not None else ""
    return JobSpec(
        automation=automation.name,
        agent=automation.agent,
        options=automation.options,
        concurrency_group=group or None,
        cancel_in_progress=automation.cancel_in_progress,
        command=command,
        pending=PendingChecks(
            paths=paths,
            permission=automation.permission,
            login=facts.sender_login if automation.permission is not None else None,
        ),
    )


_TriggerMatch = tuple[CommandMatch | None, PathFilter | None]


def _match_trigger(trigger: EventTrigger, facts: _EventFacts) -> _TriggerMatch | str:
    """(command, pending paths) if the trigger matches; otherwise why not."""
    if not trigger.accepts_action(facts.action):
        kind = "default types" if trigger.types_are_default else "types"
        listed = ", ".join(trigger.types or ())
        return f"event {trigger.event}: action {facts.action!r} not in {kind} [{listed}]"
    refusal = _check_refs(trigger, facts.payload) or _check_run_filters(trigger, facts.payload)
    if refusal is not None:
        return refusal
    outcome = _check_paths(trigger, facts.payload)
    if isinstance(outcome, str):
        return outcome
    command = None
    if trigger.command is not None:
        comment = facts.payload.get("comment")
        body = comment.get("body") if isinstance(comment, Mapping) else None
        command = trigger.command.find(body) if isinstance(body, str) else None
        if command is None:
            return f"command: no line starts with {trigger.command.name}"
    return command, outcome


def _get(payload: Mapping[str, Any], *keys: str) -> Any:
    value: Any = payload
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _branch_of(trigger: EventTrigger, payload: Mapping[str, Any]) -> tuple[Any, str]:
    """The branch a `branches` filter looks at for this event, and what to call it."""
    if trigger.webhook_event == "pull_request":
        return _get(payload, "pull_request", "base", "ref"), "base branch"
    if trigger.webhook_event == "workflow_run":
        return _get(payload, "workflow_run", "head_branch"), "head branch"
    if trigger.webhook_event == "check_run":
        return _get(payload, "check_run", "check_suite", "head_branch"), "head branch"
    return _get(payload, "check_suite", "head_branch"), "head branch"


def _check_refs(trigger: EventTrigger, payload: Mapping[str, Any]) -> str | None:
    if trigger.branches is None and trigger.tags is None:
        return None
    if trigger.webhook_event == "push":
        return _check_push_ref(trigger, payload)
    assert trigger.branches is not None  # tags apply to push only
    branch, what = _branch_of(trigger, payload)
    if not isinstance(branch, str):
        return f"{trigger.branches.key}: the event has no {what}"
    return trigger.branches.check(ref=branch, what=what)


def _check_push_ref(trigger: EventTrigger, payload: Mapping[str, Any]) -> str | None:
    # Actions: with only branch filters a tag push does not run, with only tag filters a branch
    # push does not run, and with both each kind of ref is checked against its own filter.
    ref = payload.get("ref")
    ref = ref if isinstance(ref, str) else ""
    if ref.startswith("refs/heads/"):
        if trigger.branches is None:
            return f"push of branch {ref.removeprefix('refs/heads/')!r}: only tags are filtered"
        return trigger.branches.check(ref=ref.removeprefix("refs/heads/"), what="branch")
    if ref.startswith("refs/tags/"):
        if trigger.tags is None:
            return f"push of tag {ref.removeprefix('refs/tags/')!r}: only branches are filtered"
        return trigger.tags.check(ref=ref.removeprefix("refs/tags/"), what="tag")
    return f"push of {ref!r}: neither a branch nor a tag"


def _check_run_filters(trigger: EventTrigger, payload: Mapping[str, Any]) -> str | None:
    if trigger.conclusions is not None:
        conclusion = _get(payload, trigger.webhook_event, "conclusion")
        if conclusion not in trigger.conclusions:
            listed = ", ".join(sorted(trigger.conclusions))
            if conclusion is None:
                return (
                    f"conclusions: {trigger.webhook_event} has no conclusion yet (want [{listed}])"
                )
            return f"conclusions: conclusion {conclusion!r} not in [{listed}]"
    if trigger.workflows is not None:
        name = _get(payload, "workflow_run", "name")
        if name not in trigger.workflows:
            listed = ", ".join(sorted(trigger.workflows))
            return f"workflows: workflow {name!r} not in [{listed}]"
    return None


def _check_paths(trigger: EventTrigger, payload: Mapping[str, Any]) -> PathFilter | str | None:
    """None if no path filter applies, the filter if GitHub must be asked, or a refusal."""
    if trigger.paths is None:
        return None
    if trigger.webhook_event != "push":
        return trigger.paths  # a pull request's files come from the API, in the worker
    ref = payload.get("ref")
    if isinstance(ref, str) and ref.startswith("refs/tags/"):
        return None  # Actions does not evaluate path filters for tag pushes
    commits = payload.get("commits")
    commits = commits if isinstance(commits, list) else []
    if len(commits) >= PUSH_COMMITS_CAP:
        return trigger.paths
    if not commits and (payload.get("forced") or payload.get("created")):
        return trigger.paths  # the pushed commits exist already: the payload lists none
    files: dict[str, None] = {}
    for commit in commits:
        for key in ("added", "modified", "removed"):
            for path in _get(commit, key) or ():
                files[path] = None
    return trigger.paths.check(list(files))
