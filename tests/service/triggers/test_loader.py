"""Loading configs: what is accepted, and every kind of error with its line and column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from service.triggers import Config, ConfigError, ConfigIssue, load_config_file

Load = Callable[[str], Config]
Errors = Callable[[str], list[str]]

ARCHITECTURE_EXAMPLE = """\
version: 1
automations:
  - name: triage-issues
    on:
      issues: {types: [opened, reopened]}
    if: "!contains(issue.labels[].name, 'triaged')"    # JMESPath over the payload
    agent: echo
    with: {labels: [bug, feature, question]}
  - name: review-prs
    on:
      pull_request:
        types: [opened, synchronize, ready_for_review]
        branches: [main]
        paths: ["src/**", "!docs/**"]
    if: "!(pull_request.draft)"
    agent: echo
    concurrency:
      group: "review-{repository.full_name}-{pull_request.number}"
      cancel_in_progress: true
  - name: diagnose-ci
    on:
      workflow_run: {types: [completed], conclusions: [failure]}
    agent: echo
  - name: fix-on-command
    on:
      issue_comment: {types: [created], command: /fix}
    permission: write
    agent: echo
"""


def test_the_architecture_example_loads(load: Load) -> None:
    config = load(ARCHITECTURE_EXAMPLE)
    assert [a.name for a in config.automations] == [
        "triage-issues",
        "review-prs",
        "diagnose-ci",
        "fix-on-command",
    ]
    review = config.automations[1]
    assert review.line == 9
    assert review.triggers[0].paths is not None
    assert review.cancel_in_progress is True
    assert review.triggers[0].types == ("opened", "synchronize", "ready_for_review")
    assert config.automations[0].options == {"labels": ["bug", "feature", "question"], "limit": 3}
    assert config.automations[3].permission == "write"


def test_on_is_read_as_a_string_not_yaml_boolean(load: Load) -> None:
    text = "version: 1\nautomations:\n  - {name: a, on: push, agent: echo}\n"
    # The YAML 1.1 quirk that GitHub Actions works around too:
    assert True in yaml.safe_load(text)["automations"][0]
    assert load(text).automations[0].events == ("push",)


def test_yaml_1_2_booleans_as_in_actions(load: Load) -> None:
    # YAML 1.1 would read these branch names as booleans and the config would fail to load.
    config = load(
        "version: 1\nautomations:\n"
        "  - {name: a, on: {push: {branches: [on, off, yes, no]}}, agent: echo, enabled: true}\n"
    )
    trigger = config.automations[0].triggers[0]
    assert trigger.branches is not None
    assert trigger.branches.patterns.patterns == ("on", "off", "yes", "no")
    assert config.automations[0].enabled is True


@pytest.mark.parametrize(
    ("on", "events"),
    [
        ("push", ("push",)),
        ("[push, issues]", ("push", "issues")),
        ("{push: null, issues: {types: opened}}", ("push", "issues")),
        ("{push: , pull_request_target: }", ("push", "pull_request_target")),
    ],
)
def test_on_forms(load: Load, on: str, events: tuple[str, ...]) -> None:
    config = load(f"version: 1\nautomations:\n  - name: a\n    on: {on}\n    agent: echo\n")
    assert config.automations[0].events == events


def test_a_string_is_accepted_where_a_list_is_expected(load: Load) -> None:
    config = load(
        "version: 1\nautomations:\n  - name: a\n    on: {push: {branches: main}}\n"
        "    agent: echo\n    bots: dependabot\n"
    )
    trigger = config.automations[0].triggers[0]
    assert trigger.branches is not None
    assert trigger.branches.patterns.patterns == ("main",)
    assert config.automations[0].bots == frozenset({"dependabot"})


def test_concurrency_accepts_actions_forms(load: Load) -> None:
    config = load(
        "version: 1\nautomations:\n"
        "  - {name: a, on: push, agent: echo, concurrency: 'g-{ref}'}\n"
        "  - {name: b, on: push, agent: echo, concurrency: {group: g, cancel-in-progress: true}}\n"
    )
    first, second = config.automations
    assert first.concurrency_group is not None
    assert first.concurrency_group.source == "g-{ref}"
    assert first.cancel_in_progress is False
    assert second.cancel_in_progress is True


def test_disabled_and_empty_configs_load(load: Load) -> None:
    assert load("version: 1\nautomations: []\n").automations == ()
    config = load(
        "version: 1\nautomations:\n  - {name: a, on: push, agent: echo, enabled: false}\n"
    )
    assert config.automations[0].enabled is False


def _one(body: str) -> str:
    return "version: 1\nautomations:\n  - name: a\n" + body


# (config text, expected "line:column: message" prefixes) — one row per kind of error.
ERROR_CASES = [
    pytest.param("version: 1\nautomations: [\n", ["3:1: while parsing a flow node"], id="syntax"),
    pytest.param("version: 1\n\tautomations: []\n", ["2:1: "], id="tab-indentation"),
    pytest.param("", ["1:1: empty config"], id="empty"),
    pytest.param("- 1\n", ["1:1: the config must be a mapping"], id="not-a-mapping"),
    pytest.param("automations: []\n", ["1:1: missing required key 'version'"], id="no-version"),
    pytest.param(
        "version: 2\nautomations: []\n", ["1:10: version: Input should be 1"], id="version"
    ),
    pytest.param(
        "version: 1\nautomation: []\n",
        [
            "1:1: missing required key 'automations'",
            "2:1: automation: unknown key 'automation'; did you mean 'automations'?",
        ],
        id="top-level-typo",
    ),
    pytest.param(
        _one("    on: push\n    agent: echo\n    permision: write\n"),
        ["6:5: automations[0].permision: unknown key 'permision'; did you mean 'permission'?"],
        id="unknown-key",
    ),
    pytest.param(
        _one("    on: push\n"),
        ["3:5: automations[0]: missing required key 'agent'"],
        id="missing-agent",
    ),
    pytest.param(
        _one("    on: push\n    agent: echo\n  - name: a\n    on: push\n    agent: echo\n"),
        ["6:11: automations[1].name: duplicate automation name 'a' (first defined at line 3)"],
        id="duplicate-name",
    ),
    pytest.param(
        _one("    on: push\n    on: issues\n    agent: echo\n"),
        ["5:5: duplicate key 'on'"],
        id="duplicate-key",
    ),
    pytest.param(
        "version: 1\nautomations:\n  - name: a b\n    on: push\n    agent: echo\n",
        ["3:11: automations[0].name: a name is 1-100 letters"],
        id="bad-name",
    ),
    pytest.param(
        _one("    on: push\n    agent: tirage\n"),
        ["5:12: automations[0].agent: unknown agent 'tirage' (known agents: echo)"],
        id="unknown-agent",
    ),
    pytest.param(
        _one("    on: push\n    agent: echo\n    with: {limit: many, colour: red}\n"),
        [
            "6:19: automations[0].with.limit: Input should be a valid integer",
            "6:25: automations[0].with.colour: unknown key 'colour'",
        ],
        id="invalid-with",
    ),
    pytest.param(
        _one("    on: isues\n    agent: echo\n"),
        ["4:9: automations[0].on: unknown event 'isues'; did you mean 'issues'?"],
        id="unknown-event",
    ),
    pytest.param(
        _one("    on:\n      schedule: {}\n    agent: echo\n"),
        ["5:7: automations[0].on.schedule: unknown event 'schedule'"],
        id="actions-only-event",
    ),
    pytest.param(
        _one("    on: {issues: {types: [opened, clsoed]}}\n    agent: echo\n"),
        [
            "4:35: automations[0].on.issues.types[1]: unknown activity type 'clsoed' for issues; "
            "did you mean 'closed'?"
        ],
        id="unknown-type",
    ),
    pytest.param(
        _one("    on: {star: {types: [zzz]}}\n    agent: echo\n"),
        [
            "4:25: automations[0].on.star.types[0]: unknown activity type 'zzz' for star "
            "(known: created, deleted)"
        ],
        id="unknown-type-no-suggestion",
    ),
    pytest.param(
        _one("    on: {push: {types: [created]}}\n    agent: echo\n"),
        ["4:17: automations[0].on.push.types: push has no activity types; remove 'types'"],
        id="types-on-push",
    ),
    pytest.param(
        _one("    on: {issues: {branches: [main]}}\n    agent: echo\n"),
        ["4:19: automations[0].on.issues.branches: 'branches' does not apply to issues"],
        id="filter-not-for-event",
    ),
    pytest.param(
        _one("    on: {pull_request: {tags: [v1]}}\n    agent: echo\n"),
        ["4:25: automations[0].on.pull_request.tags: 'tags' does not apply to pull_request"],
        id="tags-only-on-push",
    ),
    pytest.param(
        _one(
            "    on:\n      push:\n        branches: [main]\n        branches-ignore: [dev]\n"
            "    agent: echo\n"
        ),
        ["7:9: automations[0].on.push.branches-ignore: use either 'branches' or 'branches-ignore'"],
        id="branches-and-ignore",
    ),
    pytest.param(
        _one("    on: {push: {paths: [a], paths-ignore: [b]}}\n    agent: echo\n"),
        ["4:29: automations[0].on.push.paths-ignore: use either 'paths' or 'paths-ignore'"],
        id="paths-and-ignore",
    ),
    pytest.param(
        _one("    on: {push: {tags: ['v[1-9']}}\n    agent: echo\n"),
        ["4:24: automations[0].on.push.tags[0]: invalid pattern 'v[1-9': unclosed '['"],
        id="bad-glob",
    ),
    pytest.param(
        _one("    on: {push: {branches: []}}\n    agent: echo\n"),
        ["4:17: automations[0].on.push.branches: 'branches' is empty and would never match"],
        id="empty-list",
    ),
    pytest.param(
        _one("    on: push\n    if: \"contains(a, 'b'\"\n    agent: echo\n"),
        ["5:9: automations[0].if: invalid JMESPath \"contains(a, 'b'\" at character"],
        id="if-syntax",
    ),
    pytest.param(
        _one("    on: push\n    if: \"contain(a, 'b')\"\n    agent: echo\n"),
        ["5:9: automations[0].if: unknown function contain()"],
        id="if-unknown-function",
    ),
    pytest.param(
        _one('    on: push\n    if: "contains(a)"\n    agent: echo\n'),
        ["5:9: automations[0].if: contains() takes 2 arguments, got 1"],
        id="if-arity",
    ),
    pytest.param(
        _one("    on: {issue_comment: {command: fix}}\n    agent: echo\n"),
        ["4:35: automations[0].on.issue_comment.command: command 'fix' must be a slash and a word"],
        id="bad-command",
    ),
    pytest.param(
        _one(
            "    on: {issue_comment: {command: /fix, types: [created, edited]}}\n    agent: echo\n"
        ),
        ["4:58: automations[0].on.issue_comment.types[1]: 'command' only matches new comments"],
        id="command-not-created",
    ),
    pytest.param(
        _one("    on: {issues: {command: /fix}}\n    agent: echo\n"),
        ["4:19: automations[0].on.issues.command: 'command' does not apply to issues"],
        id="command-wrong-event",
    ),
    pytest.param(
        _one("    on: {workflow_run: {conclusions: [failed]}}\n    agent: echo\n"),
        [
            "4:39: automations[0].on.workflow_run.conclusions[0]: unknown conclusion 'failed'; "
            "did you mean 'failure'?"
        ],
        id="bad-conclusion",
    ),
    pytest.param(
        _one("    on: push\n    agent: echo\n    permission: writer\n"),
        ["6:17: automations[0].permission: Input should be 'read', 'triage', 'write'"],
        id="bad-permission",
    ),
    pytest.param(
        _one("    on: push\n    agent: echo\n    concurrency: {group: 'g-{ref'}\n"),
        ["6:26: automations[0].concurrency.group: unclosed '{' at character 3"],
        id="bad-concurrency-template",
    ),
    pytest.param(
        _one("    on: push\n    agent: echo\n    concurrency: 'g-{a[}'\n"),
        ["6:18: automations[0].concurrency.group: invalid JMESPath 'a['"],
        id="bad-concurrency-expression",
    ),
    pytest.param(
        _one("    on: push\n    agent: echo\n    enabled: maybe\n"),
        ["6:14: automations[0].enabled: Input should be a valid boolean"],
        id="wrong-type",
    ),
    pytest.param(
        "version: 1\nautomations:\n  - just-a-string\n",
        ["3:5: automations[0]: an automation must be a mapping"],
        id="automation-not-mapping",
    ),
    pytest.param(
        _one("    on: {push: [main]}\n    agent: echo\n"),
        ["4:16: automations[0].on.push: the filters of push must be a mapping"],
        id="filter-not-mapping",
    ),
    pytest.param(
        _one("    on: {push: {branch: [main]}}\n    agent: echo\n"),
        ["4:17: automations[0].on.push.branch: unknown key 'branch'; did you mean 'branches'?"],
        id="filter-typo",
    ),
    pytest.param(
        _one("    on: {push: {paths: ['!docs/**', '!*.md']}}\n    agent: echo\n"),
        ["4:17: automations[0].on.push.paths: 'paths' lists only '!' patterns, so it never"],
        id="only-negations",
    ),
    pytest.param(
        "a: &a [*a]\n",
        ["1:4: nested more than 64 levels deep"],
        id="recursive-alias",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERROR_CASES)
def test_errors_have_line_and_column(errors: Errors, text: str, expected: list[str]) -> None:
    found = errors(text)
    assert len(found) == len(expected), found
    for message, prefix in zip(found, expected, strict=True):
        assert message.startswith(prefix), (message, prefix)


def test_every_problem_is_reported_at_once(errors: Errors) -> None:
    found = errors(
        "version: 2\n"
        "automations:\n"
        "  - name: a\n"
        "    on: {issues: {types: [opend]}, isues: }\n"
        "    if: 'a['\n"
        "    agent: tirage\n"
        "    permision: write\n"
        "  - name: a\n"
        "    on: push\n"
        "    agent: echo\n"
        "    with: {limit: x}\n"
    )
    assert [message.split(": ")[0] for message in found] == [
        "1:10",
        "4:27",
        "4:36",
        "5:9",
        "6:12",
        "7:5",
        "8:11",
        "11:19",
    ]


def test_config_error_renders_one_issue_per_line() -> None:
    error = ConfigError([ConfigIssue("b.yml", 2, 1, "second"), ConfigIssue("b.yml", 1, 5, "first")])
    assert str(error) == "b.yml:1:5: first\nb.yml:2:1: second"


def test_load_config_file_reports_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    with pytest.raises(ConfigError) as caught:
        load_config_file(missing, agents={})
    (issue,) = caught.value.issues
    assert (issue.source, issue.line, issue.column) == (str(missing), 1, 1)
    assert "cannot read config" in issue.message


def test_load_config_file_uses_the_path_as_source(tmp_path: Path) -> None:
    path = tmp_path / "hookwise.yml"
    path.write_text("version: 1\nautomations:\n  - {name: a, on: pusj, agent: x}\n")
    with pytest.raises(ConfigError) as caught:
        load_config_file(path, agents={})
    assert {issue.source for issue in caught.value.issues} == {str(path)}
    assert str(caught.value).startswith(f"{path}:3:")
