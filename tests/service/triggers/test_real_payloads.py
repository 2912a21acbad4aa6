"""Every real webhook payload in ../shared goes through matching without an exception."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from service.triggers import Config, Identity, match_event
from service.triggers import events as event_tables

Load = Callable[[str], Config]


def _payload_files(shared_dir: Path) -> list[Path]:
    root = shared_dir / "fixtures" / "github-webhooks" / "payload-examples" / "api.github.com"
    return sorted(path for path in root.rglob("*.json") if path.is_file())


def _subscribe_to_everything() -> str:
    """One automation per event taking every action, plus some with every kind of filter."""
    lines = ["version: 1", "automations:"]
    for event in sorted(event_tables.KNOWN_EVENTS):
        types = sorted(event_tables.known_types(event))
        filters = f"{{types: [{', '.join(types)}]}}" if types else "null"
        lines += [f"  - name: all-{event}", f"    on: {{{event}: {filters}}}", "    agent: echo"]
    lines += [
        "  - name: filtered",
        "    on:",
        "      push: {branches: ['ma*', '!dev'], paths: ['**.md', '!docs/**']}",
        "      pull_request: {types: [opened, closed], branches-ignore: [gh-pages], paths: [src]}",
        "      issue_comment: {command: /fix}",
        "      workflow_run: {conclusions: [failure, success], branches: ['**']}",
        "      check_run: {conclusions: [success], branches: [main]}",
        "      check_suite: {branches-ignore: [main]}",
        "      issues: {types: [opened, labeled]}",
        "      release: {types: published}",
        "    if: \"sender.type == 'User' || !contains(keys(@), 'issue')\"",
        "    permission: write",
        "    bots: [dependabot]",
        "    concurrency: {group: 'g-{repository.full_name}-{action}-{number}', "
        "cancel_in_progress: true}",
        "    agent: echo",
    ]
    return "\n".join(lines) + "\n"


def test_every_real_payload_matches_without_exceptions(load: Load, shared_dir: Path) -> None:
    config = load(_subscribe_to_everything())
    identity = Identity(logins=frozenset({"hookwise[bot]"}), app_id=1)
    files = _payload_files(shared_dir)
    assert len(files) == 273
    left_out: list[str] = []
    sent_by_bots = 0
    for path in files:
        event = path.parent.name
        payload = json.loads(path.read_text())
        sender = payload.get("sender") or {}
        sent_by_bots += sender.get("type") == "Bot" or sender.get("login", "").endswith("[bot]")
        result = match_event(config, event=event, payload=payload, identity=identity)
        assert len(result.jobs) + len(result.not_matched) == len(config.automations)
        assert all(miss.reason for miss in result.not_matched)
        for job in result.jobs:
            json.dumps({"options": job.options, "pending": job.pending.to_json()})
        if not any(job.automation == f"all-{event}" for job in result.jobs):
            (miss,) = [m for m in result.not_matched if m.automation == f"all-{event}"]
            left_out.append(miss.reason)
    # The catch-all automations take every payload except those sent by bots (none listed).
    assert len(left_out) == sent_by_bots > 0
    assert all(" is a bot not listed in bots" in reason for reason in left_out), left_out


@pytest.mark.parametrize(
    "name", ["pull_request/opened.payload.json", "issue_comment/created.payload.json"]
)
def test_real_payloads_match_their_subscriber(load: Load, shared_dir: Path, name: str) -> None:
    config = load(_subscribe_to_everything())
    root = shared_dir / "fixtures" / "github-webhooks" / "payload-examples" / "api.github.com"
    event = name.split("/")[0]
    result = match_event(
        config, event=event, payload=json.loads((root / name).read_text()), identity=Identity()
    )
    assert [job.automation for job in result.jobs][:1] == [f"all-{event}"]


def test_matching_a_lazily_read_payload_gives_the_same_jobs_and_reasons(
    load: Load, shared_dir: Path
) -> None:
    from service.lazy_json import PayloadParser

    config = load(_subscribe_to_everything())
    parser = PayloadParser()
    for identity in (Identity(), Identity(logins=frozenset({"hookwise[bot]"}), app_id=1)):
        for path in _payload_files(shared_dir):
            data = path.read_bytes()
            event = path.parent.name
            parsed = match_event(config, event=event, payload=json.loads(data), identity=identity)
            lazy = match_event(config, event=event, payload=parser.parse(data), identity=identity)
            assert lazy == parsed, path
