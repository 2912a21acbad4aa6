"""The `notify` agent: a JSON summary of the event for a chat or incident webhook.

    - name: tell-the-team
      on: {issues: {types: [opened]}}
      agent: notify
      with: {url: "https://hooks.slack.com/services/..."}

The body carries repository, event, action, title, html_url, sender, and a Slack-compatible `text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.agents.base import AgentContext, Notification, Result
from workers.agents.registry import NotifyOptions

# Where each event keeps the object a human would click on.
_SUBJECT_KEYS = (
    "pull_request",
    "issue",
    "discussion",
    "check_run",
    "check_suite",
    "workflow_run",
    "workflow_job",
    "release",
    "comment",
    "review",
    "deployment",
)


def _subject(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in _SUBJECT_KEYS:
        value = payload.get(key)
        if isinstance(value, Mapping):
            return value
    return {}


def _text_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def summarize(*, event: str, action: str | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON summary; pure, so it is tested on the real payloads."""
    subject = _subject(payload)
    repository = payload.get("repository")
    sender = payload.get("sender")
    repo_name = _text_of(repository.get("full_name")) if isinstance(repository, Mapping) else None
    sender_login = _text_of(sender.get("login")) if isinstance(sender, Mapping) else None
    title = _text_of(subject.get("title")) or _text_of(subject.get("name"))
    number = subject.get("number")
    html_url = _text_of(subject.get("html_url")) or (
        _text_of(repository.get("html_url")) if isinstance(repository, Mapping) else None
    )
    what = f"{event}.{action}" if action else event
    label = f"#{number} {title}" if isinstance(number, int) and title else title
    text = f"[{repo_name or 'GitHub'}] {what}"
    if label:
        text += f": {label}"
    if sender_login:
        text += f" (by {sender_login})"
    if html_url:
        text += f" <{html_url}>"
    return {
        "repository": repo_name,
        "event": event,
        "action": action,
        "title": title,
        "html_url": html_url,
        "sender": sender_login,
        "text": text,
    }


def run(context: AgentContext) -> Result:
    options = context.options
    if not isinstance(options, NotifyOptions):
        raise TypeError(f"notify needs NotifyOptions, got {type(options).__name__}")
    summary = summarize(event=context.event, action=context.action, payload=context.payload)
    return Result(
        summary=f"notify {options.url.host}: {summary['text']}",
        notifications=(
            Notification(
                url=str(options.url),
                payload=summary,
                timeout=options.timeout,
                retries=options.retries,
            ),
        ),
    )
