"""The event tables against their sources.

Actions' activity types and defaults come from GitHub's "Events that trigger workflows" page as
encoded in the workflow schema that check-jsonschema vendors (SchemaStore's github-workflow.json,
each event carrying a `$comment` link to the documentation). The webhook events and actions come
from octokit/webhooks' schemas in ../shared.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.triggers import events


def _workflow_schema() -> dict[str, Any]:
    resource = (
        importlib.resources.files("check_jsonschema")
        / "builtin_schemas"
        / "vendor"
        / "github-workflows.json"
    )
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema


def _types_definitions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        types = node.get("properties", {}).get("types")
        if isinstance(types, dict) and "items" in types:
            yield types
        for value in node.values():
            yield from _types_definitions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _types_definitions(value)


def _actions_events() -> dict[str, dict[str, Any]]:
    on = _workflow_schema()["properties"]["on"]
    mapping_form = next(alt for alt in on["oneOf"] if alt.get("type") == "object")
    result: dict[str, dict[str, Any]] = mapping_form["properties"]
    return result


ACTIONS_EVENTS = _actions_events()
# Actions-only events Hookwise cannot receive: nothing sends them as webhooks.
NOT_WEBHOOKS = {"schedule", "workflow_call"}


def _schema_types(event: str) -> tuple[list[str], list[str]] | None:
    found = list(_types_definitions(ACTIONS_EVENTS[event]))
    if not found:
        return None
    return found[0]["items"]["enum"], found[0]["default"]


@pytest.mark.parametrize("event", sorted(set(ACTIONS_EVENTS) - NOT_WEBHOOKS))
def test_activity_types_and_defaults_follow_actions(event: str) -> None:
    documented = _schema_types(event)
    if documented is None:
        # No activity types documented in the schema: `types` is rejected, except where the
        # webhook has actions (deployment: created) or Actions documents one the schema omits.
        assert event not in events.ACTIONS_ACTIVITY_TYPES or event == "watch"
        assert events.default_types(event) in (None, ("started",))
        return
    allowed, default = documented
    assert set(events.ACTIONS_ACTIVITY_TYPES[event]) == set(allowed)
    assert set(allowed) <= events.known_types(event)
    if event in ("pull_request", "pull_request_target"):
        assert (
            events.default_types(event) == tuple(default) == ("opened", "synchronize", "reopened")
        )
    elif event == "check_suite":
        # "Although only the completed activity type is supported, ..." (the schema lists the
        # webhook's requested and rerequested too; they stay valid when listed).
        assert events.default_types(event) == ("completed",)
    else:
        # "By default, all activity types trigger workflows that run on this event."
        assert set(events.default_types(event) or ()) == set(allowed)


def test_schema_defaults_are_all_types_except_pull_requests_and_workflow_run() -> None:
    # The schema's own defaults agree with "all types" everywhere but pull requests (documented
    # exception) and workflow_run, whose schema default predates the in_progress type.
    differing = {
        event
        for event in set(ACTIONS_EVENTS) - NOT_WEBHOOKS
        if (found := _schema_types(event)) is not None and set(found[0]) != set(found[1])
    }
    assert differing == {"pull_request", "pull_request_target", "workflow_run"}


def _webhook_folders(shared_dir: Path) -> dict[str, set[str]]:
    schemas = shared_dir / "fixtures" / "github-webhooks" / "payload-schemas" / "api.github.com"
    folders: dict[str, set[str]] = {}
    for folder in sorted(schemas.iterdir()):
        if folder.is_dir() and folder.name != "common":
            names = {path.name.removesuffix(".schema.json") for path in folder.iterdir()}
            folders[folder.name] = names - {"event"}
    return folders


def test_every_webhook_event_and_action_is_known(shared_dir: Path) -> None:
    folders = _webhook_folders(shared_dir)
    assert len(folders) >= 60
    assert {event: set(actions) for event, actions in events.WEBHOOK_ACTIONS.items()} == folders


@pytest.mark.parametrize(
    "event", ["push", "create", "delete", "fork", "gollum", "status", "public"]
)
def test_events_without_activity_types_take_no_types(event: str) -> None:
    assert not events.accepts_types(event)


def test_every_actions_event_hookwise_can_receive_is_known() -> None:
    assert set(ACTIONS_EVENTS) - NOT_WEBHOOKS <= events.KNOWN_EVENTS
    assert not NOT_WEBHOOKS & events.KNOWN_EVENTS


def test_repository_dispatch_types_are_free_form() -> None:
    assert events.accepts_types("repository_dispatch")
    assert events.default_types("repository_dispatch") is None
