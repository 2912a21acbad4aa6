from __future__ import annotations

import pytest

from service.triggers import ConfigError, Identity, load_config, match_event
from service.triggers.merge import merge_configs
from workers.agents.registry import agent_options

CENTRAL = """\
version: 1
automations:
  - name: announce
    on: {issues: {types: [opened]}}
    agent: notify
    with: {url: "https://chat.example/central"}
  - name: audit
    locked: true
    on: {issues: {types: [opened]}}
    agent: notify
    with: {url: "https://audit.example/"}
"""


def load(text: str, source: str = "repo") -> object:
    return load_config(text, source=source, agents=agent_options())


def names(config: object) -> list[str]:
    return [a.name for a in config.automations]  # type: ignore[attr-defined]


def test_repository_adds_tunes_and_disables() -> None:
    central = load(CENTRAL, "central")
    repo = load(
        "version: 1\n"
        "disable: [announce]\n"
        "automations:\n"
        "  - name: repo-only\n"
        "    on: {issues: {types: [closed]}}\n"
        "    agent: notify\n"
        '    with: {url: "https://chat.example/repo"}\n'
    )
    merged = merge_configs(central, repo)  # type: ignore[arg-type]
    assert names(merged.config) == ["audit", "repo-only"]
    assert merged.notes == ()


def test_replacing_an_automation_tunes_it() -> None:
    central = load(CENTRAL, "central")
    repo = load(
        "version: 1\nautomations:\n"
        "  - name: announce\n"
        "    on: {issues: {types: [opened, reopened]}}\n"
        "    agent: notify\n"
        '    with: {url: "https://chat.example/team", retries: 0}\n'
    )
    merged = merge_configs(central, repo)  # type: ignore[arg-type]
    announce = merged.config.automation("announce")
    assert announce is not None
    assert announce.options["url"] == "https://chat.example/team"
    assert announce.triggers[0].types == ("opened", "reopened")


def test_locked_automations_stay_and_the_repository_is_told() -> None:
    central = load(CENTRAL, "central")
    repo = load(
        "version: 1\ndisable: [audit, nothing]\nautomations:\n"
        "  - name: audit\n    on: push\n    agent: notify\n"
        '    with: {url: "https://evil.example/"}\n'
    )
    merged = merge_configs(central, repo)  # type: ignore[arg-type]
    audit = merged.config.automation("audit")
    assert audit is not None
    assert audit.options["url"] == "https://audit.example/"
    assert merged.notes == (
        "automation 'audit' is locked by the central config",
        "automation 'audit' is locked by the central config",
        "disable: no central automation named 'nothing'",
    )


def test_merged_config_matches_events() -> None:
    central = load(CENTRAL, "central")
    repo = load("version: 1\ndisable: [announce]\nautomations: []\n")
    merged = merge_configs(central, repo)  # type: ignore[arg-type]
    payload = {"action": "opened", "sender": {"login": "a", "type": "User"}, "issue": {}}
    result = match_event(merged.config, event="issues", payload=payload, identity=Identity())
    assert [j.automation for j in result.jobs] == ["audit"]


def test_disable_must_be_names() -> None:
    with pytest.raises(ConfigError, match="disable"):
        load("version: 1\ndisable: [{a: 1}]\nautomations: []\n")
