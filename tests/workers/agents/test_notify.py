from __future__ import annotations

import json

import pytest

from tests.conftest import WEBHOOK_EXAMPLES
from workers.agents.base import AgentContext
from workers.agents.notify import run, summarize
from workers.agents.registry import NotifyOptions

EXAMPLES = sorted(WEBHOOK_EXAMPLES.glob("*/*.json"))
KEYS = {"repository", "event", "action", "title", "html_url", "sender", "text"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_summary_of_every_real_payload(path: object) -> None:
    payload = json.loads(path.read_bytes())  # type: ignore[attr-defined]
    event = path.parent.name  # type: ignore[attr-defined]
    summary = summarize(event=event, action=payload.get("action"), payload=payload)
    assert set(summary) == KEYS
    assert event in summary["text"]
    json.dumps(summary)  # serialisable as sent


def test_pull_request_summary() -> None:
    payload = json.loads((WEBHOOK_EXAMPLES / "pull_request" / "opened.payload.json").read_bytes())
    summary = summarize(event="pull_request", action="opened", payload=payload)
    number = payload["pull_request"]["number"]
    assert summary["title"] == payload["pull_request"]["title"]
    assert summary["html_url"] == payload["pull_request"]["html_url"]
    assert summary["text"].startswith(
        f"[{payload['repository']['full_name']}] pull_request.opened: #{number}"
    )


def test_run_returns_a_notification_not_a_post() -> None:
    payload = json.loads((WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes())
    context = AgentContext(
        job_id="j",
        delivery_id="d",
        automation="a",
        event="issues",
        action="opened",
        payload=payload,
        options=NotifyOptions.model_validate({"url": "https://chat.example/hook"}),
    )
    result = run(context)
    assert not result.touches_github
    (notification,) = result.notifications
    assert notification.url == "https://chat.example/hook"
    assert notification.payload["sender"] == "Codertocat"
