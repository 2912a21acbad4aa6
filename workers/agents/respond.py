"""The `respond` agent: the rule-based bots people install today, configured in YAML.

    - name: welcome
      on: {issues: {types: [opened]}, pull_request: {types: [opened]}}
      agent: respond
      with:
        when: {first_time_contributor: true}
        comment: "Thanks @{{ sender.login }} for your first contribution!"
        labels: [first-timer]

It responds when every `when:` condition holds and, if `rules` are given, at least one rule
matches: a sticky comment rendered from a sandboxed Jinja2 template, and labels. Otherwise it
returns an empty Result whose summary says why. Options are in `respond_options`.

Issue and pull-request text is data: title/body patterns are searched in the text a reader sees
(HTML comments and invisible characters removed), and the template inserts payload values as
text without ever evaluating them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from service.triggers.globs import PatternList
from workers.agents.base import AgentContext, Comment, PermanentError, Result
from workers.agents.respond_options import (
    Conditions,
    MissingInfo,
    RespondOptions,
    Rule,
    render_comment,
    unique_labels,
)
from workers.agents.triage.missing_info import (
    BODY_MAX_CHARS,
    IssueTemplate,
    MissingItem,
    find_missing,
    heading_key,
    parse_markdown_template,
    split_sections,
)
from workers.agents.untrusted import sanitize

# GitHub's author_association values that mean "has not committed to this repository yet".
# FIRST_TIMER: has never committed anywhere on GitHub; FIRST_TIME_CONTRIBUTOR: not to this one.
_FIRST_TIME_ASSOCIATIONS = frozenset({"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"})
# Events whose actor is the author of a comment or review rather than of the issue or PR.
_ACTOR_KEY = {
    "issue_comment": "comment",
    "pull_request_review_comment": "comment",
    "pull_request_review": "review",
}
# Title and body patterns look at this much text; regexes stay cheap on a huge paste.
PATTERN_TEXT_MAX_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class Subject:
    """The issue or pull request an event is about, as far as respond needs it."""

    title: str
    body: str
    labels: tuple[str, ...]
    author_association: str | None
    is_pull_request: bool


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def subject_of(event: str, payload: Mapping[str, Any]) -> Subject | None:
    """The event's issue or pull request; None for events about neither (a push, a release)."""
    item = payload.get("pull_request") or payload.get("issue")
    if not isinstance(item, Mapping):
        return None
    # An issue_comment on a pull request carries the PR as `issue` with a `pull_request` link.
    is_pull_request = "pull_request" in payload or isinstance(item.get("pull_request"), Mapping)
    actor = payload.get(_ACTOR_KEY[event]) if event in _ACTOR_KEY else item
    association = actor.get("author_association") if isinstance(actor, Mapping) else None
    labels = tuple(
        label["name"]
        for label in item.get("labels") or ()
        if isinstance(label, Mapping) and isinstance(label.get("name"), str)
    )
    return Subject(
        title=_text(item.get("title")),
        body=_text(item.get("body")),
        labels=labels,
        author_association=association if isinstance(association, str) else None,
        is_pull_request=is_pull_request,
    )


def is_first_time_contributor(subject: Subject) -> bool:
    """GitHub's `author_association` is about commits, not issues: someone who has only ever
    opened issues is `NONE`, so on an issue `NONE` counts as a first-timer too (which also
    welcomes a repeat reporter who never committed). On a pull request only GitHub's own
    verdicts (FIRST_TIME_CONTRIBUTOR, FIRST_TIMER) count."""
    association = subject.author_association
    if association in _FIRST_TIME_ASSOCIATIONS:
        return True
    return association == "NONE" and not subject.is_pull_request


def body_template(body: str, *, ignore: Sequence[str] = ()) -> IssueTemplate | None:
    """The body's own headings as a template, so the detector reports which of them were left
    empty (only an HTML-comment placeholder, or `_No response_` from an issue form). Headings
    that read as optional ("Additional context", "Screenshots") are not required, as in a real
    template. The repository's template files are not read, so a visible placeholder left
    unchanged is not noticed."""
    ignored = {heading_key(heading) for heading in ignore}
    headings: dict[str, str] = {}
    for heading, _ in split_sections(sanitize(body, max_chars=BODY_MAX_CHARS)):
        key = heading_key(heading)
        if key and key not in ignored:
            headings.setdefault(key, heading)
    if not headings:
        return None
    outline = "\n".join(f"### {heading}" for heading in headings.values())
    return parse_markdown_template(outline, path="issue body")


def missing_information(subject: Subject, options: MissingInfo) -> list[MissingItem]:
    bug_labels = {label.casefold() for label in options.bug_labels}
    is_bug = any(label.casefold() in bug_labels for label in subject.labels)
    template = body_template(subject.body, ignore=options.ignore_sections)
    return find_missing(
        subject.title,
        subject.body,
        templates=(template,) if template else (),
        is_bug=is_bug,
    )


def unmet_conditions(
    conditions: Conditions, *, subject: Subject, missing: Sequence[MissingItem]
) -> list[str]:
    """Why the `when:` conditions do not all hold (empty when they do)."""
    reasons: list[str] = []
    wanted = conditions.first_time_contributor
    if wanted is not None and is_first_time_contributor(subject) != wanted:
        association = subject.author_association or "absent"
        verdict = "not " if wanted else ""
        reasons.append(
            f"first_time_contributor: author_association {association} is "
            f"{verdict}a first-time contributor"
        )
    wanted = conditions.missing_info
    if wanted is not None and bool(missing) != wanted:
        reasons.append(
            f"missing_info: {len(missing)} item(s) missing"
            if missing
            else "missing_info: nothing is missing"
        )
    return reasons


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    labels: tuple[str, ...]
    notes: tuple[str, ...]
    """Why rules that could not be decided did not match (changed files not provided)."""


def _rule_matches(
    rule: Rule, *, title: str, body: str, changed_files: Sequence[str] | None
) -> bool | None:
    """Whether every pattern of the rule matches; None when it needs changed files it lacks."""
    if rule.title is not None and not rule.title.search(title):
        return False
    if rule.body is not None and not rule.body.search(body):
        return False
    if rule.paths is not None:
        if changed_files is None:
            return None
        patterns = PatternList(tuple(rule.paths))
        return any(patterns.matches(path) for path in changed_files)
    return True


def apply_rules(
    rules: Sequence[Rule], *, subject: Subject, changed_files: Sequence[str] | None
) -> RuleOutcome:
    title = sanitize(subject.title, max_chars=1_000)
    body = sanitize(subject.body, max_chars=PATTERN_TEXT_MAX_CHARS)
    labels: list[str] = []
    notes: list[str] = []
    for index, rule in enumerate(rules):
        matched = _rule_matches(rule, title=title, body=body, changed_files=changed_files)
        if matched is None:
            notes.append(f"rules[{index}] needs the changed files, which were not provided")
        elif matched:
            labels.extend(rule.labels)
    return RuleOutcome(labels=tuple(unique_labels(labels)), notes=tuple(notes))


def template_variables(
    context: AgentContext,
    *,
    missing: Sequence[MissingItem],
    labels: Sequence[str],
    first_time_contributor: bool,
) -> dict[str, Any]:
    """The payload's top-level keys (`issue`, `pull_request`, `sender`, `comment`, …) and the
    computed helpers, which win over a payload key of the same name."""
    payload = context.payload
    command = context.command
    helpers: dict[str, Any] = {
        "event": context.event,
        "action": context.action,
        "automation": context.automation,
        "subject": payload.get("pull_request") or payload.get("issue") or {},
        "missing": [{"kind": item.kind, "key": item.key, "ask": item.ask} for item in missing],
        "command": (
            {**command, "argv": str(command.get("args") or "").split()} if command else None
        ),
        "labels_added": list(labels),
        "first_time_contributor": first_time_contributor,
        "changed_files": list(context.changed_files or ()),
    }
    return {**payload, **helpers}


def _render(options: RespondOptions, variables: Mapping[str, Any]) -> str:
    if options.comment is None:
        return ""
    try:
        return render_comment(options.comment, variables).strip()
    # The template is config: a runtime error in it (a sandbox violation, `{{ 1 / 0 }}`,
    # calling an undefined name) is a config bug that retrying will not fix.
    except (TemplateError, TypeError, ValueError, ArithmeticError) as error:
        raise PermanentError(f"respond: the comment template failed: {error}") from error


def _nothing(reasons: Sequence[str]) -> Result:
    return Result(summary="respond: nothing to do (" + "; ".join(reasons) + ")")


def respond(context: AgentContext, options: RespondOptions) -> Result:
    subject = subject_of(context.event, context.payload)
    if subject is None:
        return _nothing([f"a {context.event} event is about no issue or pull request"])
    missing = missing_information(subject, options.missing_info)
    reasons = unmet_conditions(options.when, subject=subject, missing=missing)
    if reasons:
        return _nothing(reasons)
    # An issue changes no files: its path rules simply do not match.
    changed_files = context.changed_files if subject.is_pull_request else ()
    outcome = apply_rules(options.rules, subject=subject, changed_files=changed_files)
    if options.rules and not outcome.labels:
        return _nothing(["no rule matched", *outcome.notes])
    labels = tuple(unique_labels((*options.labels, *outcome.labels)))
    variables = template_variables(
        context,
        missing=missing,
        labels=labels,
        first_time_contributor=is_first_time_contributor(subject),
    )
    body = _render(options, variables)
    if not body and not labels and not options.remove_labels:
        return _nothing(["the comment rendered empty"])
    done = [part for part in ("commented" if body else "", _label_summary(labels, options)) if part]
    return Result(
        summary="respond: " + ", ".join(done) + "".join(f"; {note}" for note in outcome.notes),
        comments=(Comment(body=body, sticky=True),) if body else (),
        labels_add=labels,
        labels_remove=tuple(options.remove_labels),
    )


def _label_summary(labels: Sequence[str], options: RespondOptions) -> str:
    changes = [f"+{label}" for label in labels] + [f"-{label}" for label in options.remove_labels]
    return "labels " + " ".join(changes) if changes else ""


def run(context: AgentContext) -> Result:
    options = context.options
    if not isinstance(options, RespondOptions):
        raise TypeError(f"respond needs RespondOptions, got {type(options).__name__}")
    return respond(context, options)
