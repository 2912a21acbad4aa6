"""The `respond` agent on real GitHub payloads, driven through the config loader and the matcher
the way the service and the worker drive it."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from service.triggers.errors import ConfigError
from service.triggers.loader import load_config
from service.triggers.matching import Identity, match_event
from tests.conftest import WEBHOOK_EXAMPLES
from workers.agents.base import AgentContext, PermanentError, Result
from workers.agents.registry import AGENTS, agent_options
from workers.agents.respond import run
from workers.agents.respond_options import MAX_RENDERED_CHARS, RespondOptions

CONFIG = r"""
version: 1
automations:
  - name: welcome
    on: {issues: {types: [opened]}, pull_request: {types: [opened]}}
    agent: respond
    with:
      when: {first_time_contributor: true}
      comment: "Thanks @{{ sender.login }} for your first contribution!"
      labels: [first-timer]
  - name: needs-info
    on: {issues: {types: [opened, edited]}}
    agent: respond
    with:
      when: {missing_info: true}
      comment: "Could you add: {% for m in missing %}\n- {{ m.ask }}{% endfor %}"
      labels: [needs-info]
  - name: label-by-text
    on: {issues: {types: [opened]}, pull_request: {types: [opened]}}
    agent: respond
    with:
      rules:
        - {labels: [bug], title: "(?i)\\b(crash|error|fails?)\\b"}
        - {labels: [docs], paths: ["docs/**"]}
"""

FILLED_BUG_BODY = """### Describe the bug
Saving a file crashes the editor.

### Steps to reproduce
1. Open a file
2. Press Ctrl-S

### Version
2.4.1 on Linux

### Logs
```
Segmentation fault (core dumped)
```
"""


def example(event: str, name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((WEBHOOK_EXAMPLES / event / name).read_bytes())
    return payload


def issue_opened(**issue: Any) -> dict[str, Any]:
    payload = copy.deepcopy(example("issues", "opened.payload.json"))
    payload["issue"].update(issue)
    return payload


def pull_request_opened(**pull_request: Any) -> dict[str, Any]:
    payload = copy.deepcopy(example("pull_request", "opened.payload.json"))
    payload["pull_request"].update(pull_request)
    return payload


def run_matched(
    payload: Mapping[str, Any],
    *,
    event: str,
    config: str = CONFIG,
    changed_files: tuple[str, ...] | None = None,
) -> dict[str, Result]:
    """Every automation that matches, run as the worker runs it: options re-validated from the
    JSON stored with the job, then the registered entry point."""
    loaded = load_config(config, source="hookwise.yml", agents=agent_options())
    matched = match_event(loaded, event=event, payload=payload, identity=Identity())
    results: dict[str, Result] = {}
    for job in matched.jobs:
        spec = AGENTS[job.agent]
        options = spec.options.model_validate(json.loads(json.dumps(job.options)))
        command = job.command
        context = AgentContext(
            job_id=f"job-{job.automation}",
            delivery_id="delivery-1",
            automation=job.automation,
            event=event,
            action=payload.get("action"),
            payload=payload,
            options=options,
            command=(
                {"name": command.name, "args": command.args, "line": command.line}
                if command
                else None
            ),
            changed_files=changed_files,
        )
        results[job.automation] = spec.load()(context)
    return results


def respond_with(
    options: Mapping[str, Any],
    payload: Mapping[str, Any],
    *,
    event: str,
    command: Mapping[str, Any] | None = None,
) -> Result:
    context = AgentContext(
        job_id="job",
        delivery_id="delivery",
        automation="respond-test",
        event=event,
        action=payload.get("action"),
        payload=payload,
        options=RespondOptions.model_validate(options),
        command=command,
    )
    return run(context)


def config_error(with_block: str) -> str:
    text = (
        "version: 1\nautomations:\n  - name: a\n    on: issues\n    agent: respond\n"
        f"    with:\n{with_block}"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(text, source="hookwise.yml", agents=agent_options())
    return str(raised.value)


# --- the three example automations on real payloads ----------------------------------------------


def test_owner_opening_a_filled_issue_gets_nothing() -> None:
    payload = issue_opened(body=FILLED_BUG_BODY, title="Saving works badly")
    results = run_matched(payload, event="issues")
    assert set(results) == {"welcome", "needs-info", "label-by-text"}
    for result in results.values():
        assert not result.touches_github
    assert "author_association OWNER is not a first-time contributor" in results["welcome"].summary
    assert "missing_info: nothing is missing" in results["needs-info"].summary
    assert "no rule matched" in results["label-by-text"].summary


@pytest.mark.parametrize("association", ["FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "NONE"])
def test_first_time_issue_author_is_welcomed(association: str) -> None:
    payload = issue_opened(author_association=association, body=FILLED_BUG_BODY)
    result = run_matched(payload, event="issues")["welcome"]
    login = payload["sender"]["login"]
    assert [comment.body for comment in result.comments] == [
        f"Thanks @{login} for your first contribution!"
    ]
    assert result.comments[0].sticky
    assert result.labels_add == ("first-timer",)


def test_pull_request_from_no_association_is_not_a_first_timer() -> None:
    # On a PR GitHub itself says FIRST_TIME_CONTRIBUTOR; NONE there is not ours to reinterpret.
    none = run_matched(pull_request_opened(author_association="NONE"), event="pull_request")
    first = run_matched(
        pull_request_opened(author_association="FIRST_TIME_CONTRIBUTOR"), event="pull_request"
    )
    assert not none["welcome"].touches_github
    assert first["welcome"].labels_add == ("first-timer",)


def test_issue_form_with_empty_sections_gets_the_needs_info_nudge() -> None:
    body = (
        "### What happened?\n\n_No response_\n\n"
        "### Version\n\n1.2.3\n\n"
        "### Relevant log output\n\n```shell\nTraceback (most recent call last):\n```\n\n"
        "### Anything else?\n\n_No response_\n"
    )
    result = run_matched(issue_opened(body=body, labels=[]), event="issues")["needs-info"]
    assert result.labels_add == ("needs-info",)
    assert result.comments[0].body == (
        "Could you add: \n- The “What happened?” section of the template was left empty or "
        "unchanged; please fill it in."
    )


def test_markdown_template_with_comment_placeholders_gets_the_nudge() -> None:
    body = (
        "**Describe the bug**\n<!-- A clear and concise description. -->\n\n"
        "**To Reproduce**\n<!-- Steps to reproduce the behavior -->\n\n"
        "**Additional context**\n<!-- Add any other context about the problem here. -->\n"
    )
    result = run_matched(issue_opened(body=body, labels=[]), event="issues")["needs-info"]
    body_text = result.comments[0].body
    assert "“Describe the bug”" in body_text
    assert "“To Reproduce”" in body_text
    assert "Additional context" not in body_text  # optional sections are never asked for


def test_bug_label_asks_for_version_reproduction_and_output() -> None:
    # The real payload's issue is labelled `bug` and its body has none of the three.
    payload = example("issues", "opened.payload.json")
    assert [label["name"] for label in payload["issue"]["labels"]] == ["bug"]
    result = run_matched(payload, event="issues")["needs-info"]
    lines = result.comments[0].body.splitlines()[1:]
    assert [line.split()[1] for line in lines] == ["Which", "Please", "Please"]
    assert "version" in lines[0]
    assert "reproduce" in lines[1]
    assert "error message" in lines[2]


def test_edited_issue_is_checked_again() -> None:
    edited = copy.deepcopy(example("issues", "edited.payload.json"))
    edited["issue"]["body"] = "### Expected behaviour\n\n_No response_\n"
    result = run_matched(edited, event="issues")
    assert set(result) == {"needs-info"}
    assert "Expected behaviour" in result["needs-info"].comments[0].body


def test_label_by_title_ignores_text_hidden_in_html_comments() -> None:
    crashing = run_matched(issue_opened(title="Crash when saving"), event="issues")
    hidden = run_matched(
        issue_opened(title="Question", body="<!-- does it crash? fails? -->"), event="issues"
    )
    assert crashing["label-by-text"].labels_add == ("bug",)
    assert crashing["label-by-text"].comments == ()
    assert not hidden["label-by-text"].touches_github


def test_label_by_changed_paths_needs_the_files() -> None:
    payload = pull_request_opened(title="Improve the guide")
    without = run_matched(payload, event="pull_request")["label-by-text"]
    with_docs = run_matched(
        payload, event="pull_request", changed_files=("docs/guide.md", "src/app.py")
    )["label-by-text"]
    with_code = run_matched(payload, event="pull_request", changed_files=("src/app.py",))
    assert not without.touches_github
    assert "rules[1] needs the changed files, which were not provided" in without.summary
    assert with_docs.labels_add == ("docs",)
    assert not with_code["label-by-text"].touches_github


def test_rules_combine_and_dedupe_labels() -> None:
    options = {
        "labels": ["triage", "Triage"],
        "rules": [
            {"labels": ["bug", "TRIAGE"], "title": "(?i)error", "body": "(?i)traceback"},
            {"labels": ["bug"], "body": "Traceback"},
            {"labels": ["area/docs"], "paths": ["docs/**", "!docs/internal/**"]},
        ],
    }
    payload = pull_request_opened(title="Error on save", body="Traceback (most recent call)")
    result = respond_with(options, payload, event="pull_request")
    assert result.labels_add == ("triage", "bug")
    assert result.comments == ()


@pytest.mark.parametrize(
    "path",
    sorted([*WEBHOOK_EXAMPLES.glob("issues/*.json"), *WEBHOOK_EXAMPLES.glob("pull_request/*.json")])
    + sorted(WEBHOOK_EXAMPLES.glob("issue_comment/*.json")),
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_every_real_issue_and_pull_request_payload(path: Any) -> None:
    payload = json.loads(path.read_bytes())
    event = path.parent.name
    options = {
        "comment": "{{ subject.title }} by {{ sender.login }} ({{ event }}.{{ action }})",
        "labels": ["seen"],
    }
    result = respond_with(options, payload, event=event)
    subject = payload.get("pull_request") or payload["issue"]
    expected = f"{subject['title']} by {payload['sender']['login']} ({event}.{payload['action']})"
    assert result.comments[0].body == expected
    assert result.labels_add == ("seen",)
    json.dumps(result.model_dump(mode="json"))  # stored with the job


# --- templates ------------------------------------------------------------------------------------


def test_payload_text_is_rendered_never_evaluated() -> None:
    payload = issue_opened(title="{{ 7 * 7 }} {% raw %}", body="{{ sender.__class__ }}")
    result = respond_with(
        {"comment": "Title: {{ issue.title }} / {{ issue.body }}"}, payload, event="issues"
    )
    assert result.comments[0].body == "Title: {{ 7 * 7 }} {% raw %} / {{ sender.__class__ }}"


def test_undefined_names_render_empty_and_null_renders_empty() -> None:
    payload = issue_opened(body=None)
    result = respond_with(
        {"comment": "[{{ pull_request.user.login }}][{{ nonsense }}][{{ issue.body }}] ok"},
        payload,
        event="issues",
    )
    assert result.comments[0].body == "[][][] ok"


def test_sandbox_violation_fails_the_job_with_the_reason() -> None:
    with pytest.raises(PermanentError, match="unsafe"):
        respond_with(
            {"comment": "{{ issue.title.__class__.__mro__() }}"}, issue_opened(), event="issues"
        )
    with pytest.raises(PermanentError, match="unsafe"):
        respond_with({"comment": "{{ issue.clear() }}"}, issue_opened(), event="issues")


def test_rendered_comment_is_capped() -> None:
    template = "{% for i in range(100000) %}0123456789{% endfor %}"
    result = respond_with({"comment": template}, issue_opened(), event="issues")
    body = result.comments[0].body
    assert len(body) <= MAX_RENDERED_CHARS + 3
    assert body.startswith("0123456789" * 10)
    assert body.endswith("…")


def test_command_arguments_are_available() -> None:
    payload = example("issue_comment", "created.payload.json")
    result = respond_with(
        {
            "comment": (
                "{{ command.name }} for {{ command.argv | join(',') }} by {{ comment.user.login }}"
            )
        },
        payload,
        event="issue_comment",
        command={"name": "/label", "args": "bug  urgent", "line": 1},
    )
    login = payload["comment"]["user"]["login"]
    assert result.comments[0].body == f"/label for bug,urgent by {login}"


def test_comment_author_association_decides_on_comment_events() -> None:
    payload = copy.deepcopy(example("issue_comment", "created.payload.json"))
    payload["comment"]["author_association"] = "FIRST_TIME_CONTRIBUTOR"
    payload["issue"]["author_association"] = "OWNER"
    options = {"when": {"first_time_contributor": True}, "labels": ["x"]}
    assert respond_with(options, payload, event="issue_comment").labels_add == ("x",)
    payload["comment"]["author_association"] = "MEMBER"
    assert not respond_with(options, payload, event="issue_comment").touches_github


def test_labels_added_and_helpers_in_the_template() -> None:
    options = {
        "comment": "Labelled {{ labels_added | join(', ') }}; first={{ first_time_contributor }}",
        "labels": ["triage"],
        "remove_labels": ["stale"],
        "rules": [{"labels": ["bug"], "title": "(?i)crash"}],
    }
    result = respond_with(options, issue_opened(title="crash"), event="issues")
    assert result.comments[0].body == "Labelled triage, bug; first=False"
    assert result.labels_remove == ("stale",)
    assert result.summary == "respond: commented, labels +triage +bug -stale"


def test_missing_info_false_removes_a_stale_label() -> None:
    options = {"when": {"missing_info": False}, "remove_labels": ["needs-info"]}
    filled = respond_with(options, issue_opened(body=FILLED_BUG_BODY), event="issues")
    empty = respond_with(
        options, issue_opened(body="### Version\n\n_No response_\n", labels=[]), event="issues"
    )
    assert filled.labels_remove == ("needs-info",)
    assert not empty.touches_github
    assert "missing_info: 1 item(s) missing" in empty.summary


def test_ignored_and_custom_bug_labels() -> None:
    body = "### Logs\n\n_No response_\n\n### Details\n\nIt is slow.\n"
    options: dict[str, Any] = {
        "when": {"missing_info": True},
        "comment": "{% for m in missing %}{{ m.key }} {% endfor %}",
        "missing_info": {"ignore_sections": ["logs"], "bug_labels": ["Type: Bug"]},
    }
    plain = respond_with(options, issue_opened(body=body, labels=[]), event="issues")
    bug = respond_with(
        options, issue_opened(body=body, labels=[{"name": "type: bug"}]), event="issues"
    )
    assert not plain.touches_github
    assert bug.comments[0].body == "version reproduction error-output"


def test_events_without_an_issue_or_pull_request_do_nothing() -> None:
    result = respond_with({"labels": ["x"]}, example("push", "payload.json"), event="push")
    assert result == Result(
        summary="respond: nothing to do (a push event is about no issue or pull request)"
    )


def test_a_comment_that_renders_blank_posts_nothing() -> None:
    options = {"comment": "{% if first_time_contributor %}Welcome!{% endif %}\n"}
    result = respond_with(options, issue_opened(), event="issues")
    assert not result.touches_github
    assert result.summary == "respond: nothing to do (the comment rendered empty)"


# --- config errors, with their line ----------------------------------------------------------


def test_bad_regex_is_a_config_error_with_its_line() -> None:
    message = config_error("      rules:\n        - {labels: [bug], title: '(crash'}\n")
    assert "hookwise.yml:8:" in message
    assert "automations[0].with.rules[0].title: invalid regular expression '(crash'" in message
    assert "missing ), unterminated subpattern" in message


def test_template_syntax_error_is_a_config_error_with_its_line() -> None:
    message = config_error("      comment: |\n        Hello\n        {% for m in missing %}\n")
    assert "hookwise.yml:7:" in message
    assert "with.comment: template syntax error on line 2 of the template" in message


@pytest.mark.parametrize(
    ("with_block", "expected"),
    [
        ("      labels: [x]\n      when: {first_timer: true}\n", "unknown key 'first_timer'"),
        ("      lables: [x]\n", "unknown key 'lables'; did you mean 'labels'?"),
        (
            "      rules: [{labels: [x]}]\n",
            "a rule needs at least one of `title`, `body` or `paths`",
        ),
        ("      rules: [{labels: [], title: x}]\n", "rules[0].labels"),
        ("      rules: [{labels: [x], paths: ['[docs']}]\n", "path pattern '[docs': unclosed '['"),
        ("      labels: ['" + "x" * 51 + "']\n", "longer than GitHub's 50 characters"),
        ("      labels: ['  ']\n", "a label name cannot be empty"),
        ("      when: {missing_info: true}\n", "respond needs something to do"),
        ("      comment: [not, text]\n", "must be a string (a Jinja2 template)"),
    ],
)
def test_option_errors(with_block: str, expected: str) -> None:
    assert expected in config_error(with_block)


def test_options_round_trip_through_the_stored_json() -> None:
    options = RespondOptions.model_validate(
        {
            "comment": "Hi {{ sender.login }}",
            "rules": [{"labels": ["bug"], "title": "(?i)crash", "paths": ["src/**"]}],
        }
    )
    stored = json.loads(json.dumps(options.model_dump(mode="json")))
    assert stored["comment"] == "Hi {{ sender.login }}"
    assert stored["rules"][0]["title"] == "(?i)crash"
    again = RespondOptions.model_validate(stored)
    assert again.model_dump(mode="json") == stored
    assert again.rules[0].title is not None
    assert again.rules[0].title.search("CRASH")


def test_path_rules_on_an_issue_simply_do_not_match() -> None:
    result = run_matched(issue_opened(title="Crash on save"), event="issues")["label-by-text"]
    assert result.summary == "respond: labels +bug"


def test_review_author_association_decides_on_review_events() -> None:
    payload = copy.deepcopy(example("pull_request_review", "submitted.payload.json"))
    payload["review"]["author_association"] = "FIRST_TIME_CONTRIBUTOR"
    payload["pull_request"]["author_association"] = "OWNER"
    options = {"when": {"first_time_contributor": True}, "labels": ["x"]}
    assert respond_with(options, payload, event="pull_request_review").labels_add == ("x",)


def test_options_say_whether_changed_files_are_needed() -> None:
    by_title = RespondOptions.model_validate({"rules": [{"labels": ["a"], "title": "x"}]})
    by_path = RespondOptions.model_validate(
        {"rules": [{"labels": ["a"], "title": "x"}, {"labels": ["b"], "paths": ["src/**"]}]}
    )
    assert not by_title.needs_changed_files
    assert by_path.needs_changed_files
