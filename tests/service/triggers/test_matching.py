"""Matching events to automations, one table per rule.

Rules shared with GitHub Actions cite "Events that trigger workflows" and "Workflow syntax for
GitHub Actions" (docs.github.com/en/actions/reference/workflows-and-actions/...).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jmespath
import pytest

from service.triggers import Config, Identity, MatchResult, match_event

Load = Callable[[str], Config]
Payload = dict[str, Any]

NOBODY = Identity()


@pytest.fixture(scope="module")
def examples(shared_dir: Path) -> Callable[[str], Payload]:
    root = shared_dir / "fixtures" / "github-webhooks" / "payload-examples" / "api.github.com"

    def _example(name: str) -> Payload:
        payload: Payload = json.loads((root / f"{name}.payload.json").read_text())
        return payload

    return _example


def _config(load: Load, on: str, **extra: str) -> Config:
    lines = ["version: 1", "automations:", "  - name: a", f"    on: {on}", "    agent: echo"]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    return load("\n".join(lines) + "\n")


def _match(config: Config, event: str, payload: Mapping[str, Any]) -> MatchResult:
    return match_event(config, event=event, payload=payload, identity=NOBODY)


def _reason(result: MatchResult) -> str | None:
    """None if automation `a` matched, else why not."""
    return None if result.jobs else result.not_matched[0].reason


def _with(payload: Payload, path: str, value: Any) -> Payload:
    """A deep copy of `payload` with the dotted `path` set to `value`."""
    changed = copy.deepcopy(payload)
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    target[last] = value
    return changed


# --- activity types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "event", "action", "reason"),
    [
        # "By default, all activity types trigger workflows that run on this event."
        ("issues", "issues", "closed", None),
        ("issues", "issues", "opened", None),
        ("{issues: {types: [opened, reopened]}}", "issues", "opened", None),
        (
            "{issues: {types: [opened, reopened]}}",
            "issues",
            "closed",
            "event issues: action 'closed' not in types [opened, reopened]",
        ),
        # pull_request: "By default, a workflow only runs when a pull_request event's activity
        # type is opened, synchronize, or reopened."
        ("pull_request", "pull_request", "opened", None),
        ("pull_request", "pull_request", "synchronize", None),
        ("pull_request", "pull_request", "reopened", None),
        (
            "pull_request",
            "pull_request",
            "closed",
            "event pull_request: action 'closed' not in default types "
            "[opened, synchronize, reopened]",
        ),
        ("pull_request_target", "pull_request", "opened", None),
        (
            "pull_request_target",
            "pull_request",
            "labeled",
            "event pull_request_target: action 'labeled' not in default types "
            "[opened, synchronize, reopened]",
        ),
        ("{pull_request: {types: [closed]}}", "pull_request", "closed", None),
        ("{workflow_run: {types: completed}}", "workflow_run", "completed", None),
        ("check_suite", "check_suite", "completed", None),
        (
            "check_suite",
            "check_suite",
            "requested",
            "event check_suite: action 'requested' not in default types [completed]",
        ),
        ("{check_suite: {types: [requested]}}", "check_suite", "requested", None),
        # Events Actions does not know: every action unless `types` narrows them.
        ("star", "star", "deleted", None),
        ("{star: {types: [created]}}", "star", "deleted", "event star: action 'deleted' not in"),
        ("{repository_dispatch: {types: [deploy]}}", "repository_dispatch", "deploy", None),
        ("push", "issues", "opened", "not subscribed to event issues (on: push)"),
    ],
)
def test_activity_types(load: Load, on: str, event: str, action: str, reason: str | None) -> None:
    payload = {"action": action, "sender": {"login": "octocat", "type": "User"}}
    found = _reason(_match(_config(load, on), event, payload))
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(reason)


# --- branches and tags ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "ref", "reason"),
    [
        ("{branches: [main]}", "refs/heads/main", None),
        ("{branches: [main]}", "refs/heads/dev", "branches: branch 'dev' not matched by [main]"),
        ("{branches: ['releases/**', '!releases/**-alpha']}", "refs/heads/releases/1", None),
        (
            "{branches: ['releases/**', '!releases/**-alpha']}",
            "refs/heads/releases/1-alpha",
            "branches: branch 'releases/1-alpha' not matched",
        ),
        ("{branches-ignore: ['mona/octocat']}", "refs/heads/main", None),
        (
            "{branches-ignore: ['mona/octocat']}",
            "refs/heads/mona/octocat",
            "branches-ignore: branch 'mona/octocat' matched",
        ),
        ("{tags: ['v*']}", "refs/tags/v1.0", None),
        ("{tags: ['v*']}", "refs/tags/x1.0", "tags: tag 'x1.0' not matched by [v*]"),
        ("{tags-ignore: ['v*']}", "refs/tags/v1.0", "tags-ignore: tag 'v1.0' matched by [v*]"),
        # "If you define only tags/tags-ignore or only branches/branches-ignore, the workflow
        # won't run for events affecting the undefined Git ref."
        ("{branches: ['**']}", "refs/tags/v1", "push of tag 'v1': only branches are filtered"),
        ("{tags: ['**']}", "refs/heads/main", "push of branch 'main': only tags are filtered"),
        ("{branches: [main], tags: ['v*']}", "refs/tags/v2", None),
        ("{branches: [main], tags: ['v*']}", "refs/heads/main", None),
        # "If you define neither ..., the workflow will run for events affecting either."
        ("", "refs/tags/v1", None),
        ("", "refs/heads/any", None),
    ],
)
def test_push_refs(
    load: Load, examples: Callable[[str], Payload], filters: str, ref: str, reason: str | None
) -> None:
    payload = _with(examples("push/with-new-branch"), "ref", ref)
    found = _reason(_match(_config(load, f"{{push: {filters}}}"), "push", payload))
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(reason)


@pytest.mark.parametrize(
    ("event", "example", "field", "what"),
    [
        # pull_request: "branches ... filter on the base branch"; our other events: head branch.
        ("pull_request", "pull_request/opened", "pull_request.base.ref", "base branch"),
        ("pull_request_target", "pull_request/opened", "pull_request.base.ref", "base branch"),
        ("workflow_run", "workflow_run/completed", "workflow_run.head_branch", "head branch"),
        ("check_run", "check_run/completed", "check_run.check_suite.head_branch", "head branch"),
        ("check_suite", "check_suite/completed", "check_suite.head_branch", "head branch"),
    ],
)
def test_which_branch_each_event_filters(
    load: Load, examples: Callable[[str], Payload], event: str, example: str, field: str, what: str
) -> None:
    types = "[completed]" if event.startswith(("check", "workflow")) else "[opened]"
    config = _config(load, f"{{{event}: {{types: {types}, branches: [main]}}}}")
    webhook = example.split("/")[0]
    assert _reason(_match(config, webhook, _with(examples(example), field, "main"))) is None
    assert _reason(_match(config, webhook, _with(examples(example), field, "dev"))) == (
        f"branches: {what} 'dev' not matched by [main]"
    )
    assert _reason(_match(config, webhook, _with(examples(example), field, None))) == (
        f"branches: the event has no {what}"
    )


# --- paths ----------------------------------------------------------------------------------


def _push(commits: list[dict[str, list[str]]], **fields: Any) -> Payload:
    payload: Payload = {
        "ref": "refs/heads/main",
        "created": False,
        "deleted": False,
        "forced": False,
        "commits": [{"id": str(n), **commit} for n, commit in enumerate(commits)],
        "sender": {"login": "octocat", "type": "User"},
    }
    return payload | fields


@pytest.mark.parametrize(
    ("filters", "payload", "outcome"),
    [
        ("{paths: ['src/**']}", _push([{"added": ["src/a.py"]}]), "match"),
        ("{paths: ['src/**']}", _push([{"modified": ["docs/a.md"]}]), "paths: none of 1"),
        ("{paths: ['src/**']}", _push([{"removed": ["src/old.py"]}]), "match"),
        ("{paths: ['src/**', '!src/gen/**']}", _push([{"added": ["src/gen/x.py"]}]), "paths:"),
        # "if at least one path matches a pattern in the paths filter, the workflow runs"
        (
            "{paths: ['src/**']}",
            _push([{"added": ["docs/a.md"]}, {"modified": ["src/b.py"]}]),
            "match",
        ),
        # paths-ignore: runs unless every changed file is ignored.
        ("{paths-ignore: ['docs/**']}", _push([{"added": ["docs/a.md", "x"]}]), "match"),
        ("{paths-ignore: ['docs/**']}", _push([{"added": ["docs/a.md"]}]), "paths-ignore: all"),
        # The payload cannot tell: the worker asks GitHub.
        ("{paths: ['src/**']}", _push([{"added": ["x"]}] * 20), "pending"),
        ("{paths: ['src/**']}", _push([], created=True), "pending"),
        ("{paths: ['src/**']}", _push([], forced=True), "pending"),
        # "Path filters are not evaluated for pushes of tags."
        ("{paths: ['src/**']}", _push([], ref="refs/tags/v1"), "match"),
        # AND across filters: branches must pass too.
        (
            "{branches: [main], paths: ['src/**']}",
            _push([{"added": ["src/a.py"]}], ref="refs/heads/dev"),
            "branches:",
        ),
        (
            "{branches: [dev], paths: ['src/**']}",
            _push([{"added": ["a"]}], ref="refs/heads/dev"),
            "paths:",
        ),
        (
            "{branches: [dev], paths: ['src/**']}",
            _push([{"added": ["src/a"]}], ref="refs/heads/dev"),
            "match",
        ),
    ],
)
def test_push_paths(load: Load, filters: str, payload: Payload, outcome: str) -> None:
    result = _match(_config(load, f"{{push: {filters}}}"), "push", payload)
    if outcome == "match":
        assert result.jobs
        assert result.jobs[0].pending.paths is None
    elif outcome == "pending":
        assert result.jobs
        assert result.jobs[0].pending.paths is not None
        assert result.jobs[0].pending.paths.patterns == ("src/**",)
    else:
        assert _reason(result) is not None
        assert str(_reason(result)).startswith(outcome)


def test_pull_request_paths_are_always_pending(
    load: Load, examples: Callable[[str], Payload]
) -> None:
    config = _config(load, "{pull_request: {paths-ignore: ['docs/**']}}")
    (job,) = _match(config, "pull_request", examples("pull_request/opened")).jobs
    assert job.pending.paths is not None
    assert job.pending.paths.ignore is True
    assert job.pending.to_json()["paths"] == {"patterns": ["docs/**"], "ignore": True}


# --- if -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        # JMESPath truthiness: false, null, empty string, array and object are false.
        ("`false`", False),
        ("`null`", False),
        ("''", False),
        ("`[]`", False),
        ("`{}`", False),
        ("missing.field", False),
        # ... and everything else is true, including the number 0 and the string "false".
        ("`0`", True),
        ("'false'", True),
        ("`[0]`", True),
        ("issue.number", True),
        ("!contains(issue.labels[].name, 'triaged')", True),
        ("!contains(issue.labels[].name, 'bug')", False),
        ("issue.user.login == 'Codertocat'", True),
    ],
)
def test_if_truthiness(
    load: Load, examples: Callable[[str], Payload], expression: str, matches: bool
) -> None:
    config = _config(load, "issues", **{"if": json.dumps(expression)})
    result = _match(config, "issues", examples("issues/opened"))
    assert bool(result.jobs) is matches
    if not matches:
        assert str(_reason(result)).startswith(f"if: {expression} evaluated to")


def test_if_reasons_show_the_value(load: Load, examples: Callable[[str], Payload]) -> None:
    payload = examples("issues/opened")
    falsy = _config(load, "issues", **{"if": json.dumps("issue.missing")})
    false = _config(load, "issues", **{"if": json.dumps("contains(issue.labels[].name, 'x')")})
    assert (
        _reason(_match(falsy, "issues", payload)) == "if: issue.missing evaluated to null (false)"
    )
    assert _reason(_match(false, "issues", payload)) == (
        "if: contains(issue.labels[].name, 'x') evaluated to false"
    )


def test_if_evaluation_errors_do_not_match(load: Load, examples: Callable[[str], Payload]) -> None:
    # `contains` on null is a type error in JMESPath (labels missing from the payload).
    config = _config(load, "issues", **{"if": json.dumps("contains(nothing, 'x')")})
    reason = _reason(_match(config, "issues", examples("issues/opened")))
    assert reason is not None
    assert reason.startswith("if: error evaluating contains(nothing, 'x'): ")


# --- command --------------------------------------------------------------------------------


def _comment(body: str, action: str = "created") -> Payload:
    return {
        "action": action,
        "comment": {"body": body},
        "sender": {"login": "octocat", "type": "User"},
    }


@pytest.mark.parametrize(
    ("body", "args", "line"),
    [
        ("/fix", "", 1),
        ("/fix the flaky test  ", "the flaky test", 1),
        ("Thanks!\n  /fix please\nbye", "please", 2),
        ("/fix\tall of it", "all of it", 1),
        ("/fix one\r\n/fix two", "one", 1),  # the first matching line wins
        ("```\n/fix in code\n```\n/fix outside", "outside", 4),
        ("~~~python\n/fix in code\n~~~\n/fix after tildes", "after tildes", 4),
        ("````\n```\n/fix still code\n````\n/fix out", "out", 5),  # a shorter fence can't close
        ("> /fix quoted\n/fix mine", "mine", 2),
        ("    /fix indented", "indented", 1),
    ],
)
def test_command_found(load: Load, body: str, args: str, line: int) -> None:
    config = _config(load, "{issue_comment: {command: /fix}}")
    (job,) = _match(config, "issue_comment", _comment(body)).jobs
    assert job.command is not None
    assert (job.command.name, job.command.args, job.command.line) == ("/fix", args, line)


@pytest.mark.parametrize(
    "body",
    [
        "please /fix this",  # not at the start of a line
        "/fixture",  # not a whole word
        "/fix.",
        "/FIX",
        "> /fix",
        ">/fix",
        "```\n/fix\n```",
        "~~~\n/fix",  # an unclosed fence runs to the end
        "",
    ],
)
def test_command_not_found(load: Load, body: str) -> None:
    config = _config(load, "{issue_comment: {command: /fix}}")
    assert _reason(_match(config, "issue_comment", _comment(body))) == (
        "command: no line starts with /fix"
    )


@pytest.mark.parametrize(
    "event", ["issue_comment", "pull_request_review_comment", "discussion_comment"]
)
def test_command_only_on_new_comments(load: Load, event: str) -> None:
    config = _config(load, f"{{{event}: {{command: /fix}}}}")
    assert _match(config, event, _comment("/fix")).jobs
    assert _reason(_match(config, event, _comment("/fix", action="edited"))) == (
        f"event {event}: action 'edited' not in types [created]"
    )


# --- conclusions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "conclusion", "reason"),
    [
        ("workflow_run/completed", "failure", None),
        ("workflow_run/completed", "success", "conclusions: conclusion 'success' not in [failure"),
        ("check_run/completed", "timed_out", None),
        ("check_suite/completed", "failure", None),
        ("check_suite/completed", None, "conclusions: check_suite has no conclusion yet"),
    ],
)
def test_conclusions(
    load: Load,
    examples: Callable[[str], Payload],
    example: str,
    conclusion: str | None,
    reason: str | None,
) -> None:
    event = example.split("/")[0]
    config = _config(load, f"{{{event}: {{conclusions: [failure, timed_out]}}}}")
    payload = _with(examples(example), f"{event}.conclusion", conclusion)
    found = _reason(_match(config, event, payload))
    if reason is None:
        assert found is None
    else:
        assert str(found).startswith(reason)


def test_workflows_filter(load: Load, examples: Callable[[str], Payload]) -> None:
    config = _config(load, "{workflow_run: {workflows: [Build]}}")
    payload = examples("workflow_run/completed")
    assert _match(config, "workflow_run", _with(payload, "workflow_run.name", "Build")).jobs
    assert _reason(_match(config, "workflow_run", _with(payload, "workflow_run.name", "Lint"))) == (
        "workflows: workflow 'Lint' not in [Build]"
    )


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "rendered"),
    [
        ("review-{repository.full_name}-{pull_request.number}", "review-Codertocat/Hello-World-2"),
        ("pr-{pull_request.missing}-x", "pr--x"),  # a missing value renders as empty
        ("{pull_request.draft}", "false"),
        ("{{literal}}-{number}", "{literal}-2"),
        ("{[number, action]}", '[2,"opened"]'),
        # Nothing rendered at all: no group, rather than one group shared by unrelated jobs.
        ("{issue.number}", None),
    ],
)
def test_concurrency_group(
    load: Load, examples: Callable[[str], Payload], group: str, rendered: str | None
) -> None:
    config = _config(
        load,
        "pull_request",
        concurrency=json.dumps({"group": group, "cancel_in_progress": True}),
    )
    (job,) = _match(config, "pull_request", examples("pull_request/opened")).jobs
    assert job.concurrency_group == rendered
    assert job.cancel_in_progress is True


def test_no_concurrency_group_by_default(load: Load, examples: Callable[[str], Payload]) -> None:
    (job,) = _match(
        _config(load, "pull_request"), "pull_request", examples("pull_request/opened")
    ).jobs
    assert (job.concurrency_group, job.cancel_in_progress) == (None, False)


# --- bots and the loop guard ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "bots", "reason"),
    [
        ({"login": "octocat", "type": "User"}, "[]", None),
        ({"login": "dependabot[bot]", "type": "Bot"}, "[]", "sender dependabot[bot] is a bot"),
        ({"login": "dependabot[bot]", "type": "Bot"}, "[dependabot]", None),
        ({"login": "dependabot[bot]", "type": "Bot"}, "['dependabot[bot]']", None),
        ({"login": "Dependabot[bot]", "type": "Bot"}, "[dependabot]", None),
        (
            {"login": "renovate[bot]", "type": "Bot"},
            "[dependabot]",
            "sender renovate[bot] is a bot",
        ),
        # A `[bot]` login is a bot whatever its type says.
        ({"login": "sneaky[bot]", "type": "User"}, "[]", "sender sneaky[bot] is a bot"),
    ],
)
def test_bots_are_ignored_unless_listed(
    load: Load, sender: dict[str, str], bots: str, reason: str | None
) -> None:
    config = _config(load, "issues", bots=bots)
    found = _reason(_match(config, "issues", {"action": "opened", "sender": sender}))
    if reason is None:
        assert found is None
    else:
        assert str(found).startswith(reason)


@pytest.mark.parametrize(
    ("identity", "payload"),
    [
        (
            Identity(logins=frozenset({"hookwise[bot]"})),
            {"action": "opened", "sender": {"login": "hookwise[bot]", "type": "Bot"}},
        ),
        (
            Identity(logins=frozenset({"hookwise-user"})),
            {"action": "opened", "sender": {"login": "Hookwise-User", "type": "User"}},
        ),
        (
            Identity(app_id=42),
            {
                "action": "opened",
                "issue": {"performed_via_github_app": {"id": 42}},
                "sender": {"login": "octocat", "type": "User"},
            },
        ),
    ],
)
def test_own_events_are_always_ignored(load: Load, identity: Identity, payload: Payload) -> None:
    config = _config(load, "issues", bots="[hookwise, hookwise-user]")
    result = match_event(config, event="issues", payload=payload, identity=identity)
    assert result.jobs == ()
    assert "caused by Hookwise itself" in result.not_matched[0].reason


def test_other_apps_are_not_mistaken_for_hookwise(load: Load) -> None:
    payload = {
        "action": "opened",
        "issue": {"performed_via_github_app": {"id": 7}},
        "sender": {"login": "octocat", "type": "User"},
    }
    result = match_event(
        _config(load, "issues"), event="issues", payload=payload, identity=Identity(app_id=42)
    )
    assert result.jobs


# --- the job --------------------------------------------------------------------------------


def test_permission_becomes_a_pending_check_on_the_sender(
    load: Load, examples: Callable[[str], Payload]
) -> None:
    config = _config(load, "{issue_comment: {command: /fix}}", permission="write")
    payload = _with(examples("issue_comment/created"), "comment.body", "/fix it")
    (job,) = _match(config, "issue_comment", payload).jobs
    assert (job.pending.permission, job.pending.login) == ("write", "Codertocat")
    assert job.command is not None
    assert job.command.args == "it"


def test_permission_without_a_sender_does_not_match(load: Load) -> None:
    config = _config(load, "issues", permission="write")
    assert _reason(_match(config, "issues", {"action": "opened"})) == (
        "permission: write required but the event has no sender"
    )


def test_job_options_are_json_and_independent_per_job(
    load: Load, examples: Callable[[str], Payload]
) -> None:
    config = _config(load, "issues", **{"with": "{labels: [bug]}"})
    first = _match(config, "issues", examples("issues/opened")).jobs[0]
    assert json.loads(json.dumps(first.options)) == {"labels": ["bug"], "limit": 3}
    first.options["labels"].append("mutated")  # type: ignore[index]
    second = _match(config, "issues", examples("issues/opened")).jobs[0]
    assert second.options == {"labels": ["bug"], "limit": 3}
    assert (second.automation, second.agent) == ("a", "echo")


def test_every_automation_is_either_a_job_or_not_matched_with_a_reason(load: Load) -> None:
    config = load(
        "version: 1\nautomations:\n"
        "  - {name: one, on: issues, agent: echo}\n"
        "  - {name: two, on: push, agent: echo}\n"
        "  - {name: three, on: issues, agent: echo, enabled: false}\n"
        "  - {name: four, on: [issues, push], agent: echo}\n"
    )
    result = _match(config, "issues", {"action": "opened", "sender": {"login": "o"}})
    assert [job.automation for job in result.jobs] == ["one", "four"]
    assert [(n.automation, n.reason) for n in result.not_matched] == [
        ("two", "not subscribed to event issues (on: push)"),
        ("three", "disabled (enabled: false)"),
    ]


def test_matching_compiles_nothing(
    load: Load, examples: Callable[[str], Payload], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hot path: every pattern and expression was compiled at load.
    config = load(
        "version: 1\nautomations:\n"
        "  - name: review\n"
        "    on: {pull_request: {types: [opened], branches: ['ma*'], paths: ['src/**']}}\n"
        '    if: "!(pull_request.draft)"\n'
        "    concurrency: 'review-{repository.full_name}-{pull_request.number}'\n"
        "    agent: echo\n"
    )

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled while matching")

    monkeypatch.setattr(re, "compile", refuse)
    monkeypatch.setattr(jmespath, "compile", refuse)
    (job,) = _match(config, "pull_request", examples("pull_request/opened")).jobs
    assert job.concurrency_group == "review-Codertocat/Hello-World-2"
