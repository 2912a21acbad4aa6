"""Which events exist, their activity types, and which filters apply to which event.

Two sources, copied here so that nothing is read at run time (tests check both tables against the
originals):

* `ACTIONS_ACTIVITY_TYPES`: GitHub Actions' "Events that trigger workflows", as encoded in the
  workflow schema that check-jsonschema vendors (SchemaStore). An automation on one of these events
  without `types` gets Actions' default: every listed type, except `pull_request` and
  `pull_request_target`, which default to opened, synchronize and reopened, and `check_suite`,
  for which Actions supports only completed.
* `WEBHOOK_ACTIONS`: every webhook event GitHub sends and its `action` values (octokit/webhooks).
  Events that Actions does not know (installation, star, member, …) can be subscribed to as well;
  without `types` they match any action.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PULL_REQUEST_DEFAULT_TYPES = ("opened", "synchronize", "reopened")

_PULL_REQUEST_TYPES = (
    "assigned",
    "unassigned",
    "labeled",
    "unlabeled",
    "opened",
    "edited",
    "closed",
    "reopened",
    "synchronize",
    "converted_to_draft",
    "ready_for_review",
    "locked",
    "unlocked",
    "review_requested",
    "review_request_removed",
    "auto_merge_enabled",
    "auto_merge_disabled",
)

ACTIONS_ACTIVITY_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "branch_protection_rule": ("created", "edited", "deleted"),
        "check_run": ("created", "rerequested", "completed", "requested_action"),
        "check_suite": ("completed", "requested", "rerequested"),
        "discussion": (
            "created",
            "edited",
            "deleted",
            "transferred",
            "pinned",
            "unpinned",
            "labeled",
            "unlabeled",
            "locked",
            "unlocked",
            "category_changed",
            "answered",
            "unanswered",
        ),
        "discussion_comment": ("created", "edited", "deleted"),
        "issue_comment": ("created", "edited", "deleted"),
        "issues": (
            "opened",
            "edited",
            "deleted",
            "transferred",
            "pinned",
            "unpinned",
            "closed",
            "reopened",
            "assigned",
            "unassigned",
            "labeled",
            "unlabeled",
            "locked",
            "unlocked",
            "milestoned",
            "demilestoned",
            "typed",
            "untyped",
            "field_added",
            "field_removed",
        ),
        "label": ("created", "edited", "deleted"),
        "merge_group": ("checks_requested",),
        "milestone": ("created", "closed", "opened", "edited", "deleted"),
        "project": ("created", "updated", "closed", "reopened", "edited", "deleted"),
        "project_card": ("created", "moved", "converted", "edited", "deleted"),
        "project_column": ("created", "updated", "moved", "deleted"),
        "pull_request": (
            *_PULL_REQUEST_TYPES,
            "milestoned",
            "demilestoned",
            "enqueued",
            "dequeued",
        ),
        "pull_request_review": ("submitted", "edited", "dismissed"),
        "pull_request_review_comment": ("created", "edited", "deleted"),
        "pull_request_target": _PULL_REQUEST_TYPES,
        "registry_package": ("published", "updated"),
        "release": (
            "published",
            "unpublished",
            "created",
            "edited",
            "deleted",
            "prereleased",
            "released",
        ),
        # The schema lists no types for `watch`; Actions' documentation names one, `started`.
        "watch": ("started",),
        "workflow_run": ("requested", "completed", "in_progress"),
    }
)

WEBHOOK_ACTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "branch_protection_configuration": ("disabled", "enabled"),
        "branch_protection_rule": ("created", "deleted", "edited"),
        "check_run": ("completed", "created", "requested_action", "rerequested"),
        "check_suite": ("completed", "requested", "rerequested"),
        "code_scanning_alert": (
            "appeared_in_branch",
            "closed_by_user",
            "created",
            "fixed",
            "reopened",
            "reopened_by_user",
        ),
        "commit_comment": ("created",),
        "create": (),
        "custom_property": ("created", "deleted"),
        "custom_property_values": ("updated",),
        "delete": (),
        "dependabot_alert": ("created", "dismissed", "fixed", "reintroduced", "reopened"),
        "deploy_key": ("created", "deleted"),
        "deployment": ("created",),
        "deployment_protection_rule": ("requested",),
        "deployment_review": ("approved", "rejected", "requested"),
        "deployment_status": ("created",),
        "discussion": (
            "answered",
            "category_changed",
            "created",
            "deleted",
            "edited",
            "labeled",
            "locked",
            "pinned",
            "transferred",
            "unanswered",
            "unlabeled",
            "unlocked",
            "unpinned",
        ),
        "discussion_comment": ("created", "deleted", "edited"),
        "fork": (),
        "github_app_authorization": ("revoked",),
        "gollum": (),
        "installation": ("created", "deleted", "new_permissions_accepted", "suspend", "unsuspend"),
        "installation_repositories": ("added", "removed"),
        "installation_target": ("renamed",),
        "issue_comment": ("created", "deleted", "edited"),
        "issues": (
            "assigned",
            "closed",
            "deleted",
            "demilestoned",
            "edited",
            "labeled",
            "locked",
            "milestoned",
            "opened",
            "pinned",
            "reopened",
            "transferred",
            "unassigned",
            "unlabeled",
            "unlocked",
            "unpinned",
        ),
        "label": ("created", "deleted", "edited"),
        "marketplace_purchase": (
            "cancelled",
            "changed",
            "pending_change",
            "pending_change_cancelled",
            "purchased",
        ),
        "member": ("added", "edited", "removed"),
        "membership": ("added", "removed"),
        "merge_group": ("checks_requested", "destroyed"),
        "meta": ("deleted",),
        "milestone": ("closed", "created", "deleted", "edited", "opened"),
        "org_block": ("blocked", "unblocked"),
        "organization": ("deleted", "member_added", "member_invited", "member_removed", "renamed"),
        "package": ("published", "updated"),
        "page_build": (),
        "ping": (),
        "project": ("closed", "created", "deleted", "edited", "reopened"),
        "project_card": ("converted", "created", "deleted", "edited", "moved"),
        "project_column": ("created", "deleted", "edited", "moved"),
        "projects_v2_item": (
            "archived",
            "converted",
            "created",
            "deleted",
            "edited",
            "reordered",
            "restored",
        ),
        "public": (),
        "pull_request": (
            "assigned",
            "auto_merge_disabled",
            "auto_merge_enabled",
            "closed",
            "converted_to_draft",
            "demilestoned",
            "dequeued",
            "edited",
            "enqueued",
            "labeled",
            "locked",
            "milestoned",
            "opened",
            "ready_for_review",
            "reopened",
            "review_request_removed",
            "review_requested",
            "synchronize",
            "unassigned",
            "unlabeled",
            "unlocked",
        ),
        "pull_request_review": ("dismissed", "edited", "submitted"),
        "pull_request_review_comment": ("created", "deleted", "edited"),
        "pull_request_review_thread": ("resolved", "unresolved"),
        "push": (),
        "registry_package": ("published", "updated"),
        "release": (
            "created",
            "deleted",
            "edited",
            "prereleased",
            "published",
            "released",
            "unpublished",
        ),
        "repository": (
            "archived",
            "created",
            "deleted",
            "edited",
            "privatized",
            "publicized",
            "renamed",
            "transferred",
            "unarchived",
        ),
        "repository_dispatch": (),
        "repository_import": (),
        "repository_vulnerability_alert": ("create", "dismiss", "reopen", "resolve"),
        "secret_scanning_alert": ("created", "reopened", "resolved", "revoked"),
        "secret_scanning_alert_location": ("created",),
        "security_advisory": ("performed", "published", "updated", "withdrawn"),
        "sponsorship": (
            "cancelled",
            "created",
            "edited",
            "pending_cancellation",
            "pending_tier_change",
            "tier_changed",
        ),
        "star": ("created", "deleted"),
        "status": (),
        "team": ("added_to_repository", "created", "deleted", "edited", "removed_from_repository"),
        "team_add": (),
        "watch": ("started",),
        "workflow_dispatch": (),
        "workflow_job": ("completed", "in_progress", "queued", "waiting"),
        "workflow_run": ("completed", "in_progress", "requested"),
    }
)

# Actions-only names and the webhook event that carries them. `pull_request_target` differs from
# `pull_request` only in which commit an Actions workflow runs on; Hookwise always reads its config
# from the default branch, so both names subscribe to the `pull_request` webhook.
WEBHOOK_EVENT_FOR = MappingProxyType({"pull_request_target": "pull_request"})

# `repository_dispatch` carries the caller's `event_type` as its action: any string is valid.
FREE_FORM_TYPES = frozenset({"repository_dispatch"})

KNOWN_EVENTS = frozenset(WEBHOOK_ACTIONS) | frozenset(ACTIONS_ACTIVITY_TYPES)


def webhook_event(event: str) -> str:
    """The X-GitHub-Event that an `on:` event name subscribes to."""
    return WEBHOOK_EVENT_FOR.get(event, event)


def known_types(event: str) -> frozenset[str]:
    """Activity types an automation may list for `event` (Actions' and the webhook's)."""
    return frozenset(ACTIONS_ACTIVITY_TYPES.get(event, ())) | frozenset(
        WEBHOOK_ACTIONS.get(webhook_event(event), ())
    )


# Actions documents check_suite with one supported type: "Although only the completed activity
# type is supported, specifying the activity type will keep your workflow specific if more
# activity types are added in the future." The webhook also sends requested and rerequested; they
# may be listed explicitly.
CHECK_SUITE_DEFAULT_TYPES = ("completed",)


def default_types(event: str) -> tuple[str, ...] | None:
    """The types an automation without `types` matches, as Actions; None means every action."""
    if event in ("pull_request", "pull_request_target"):
        return PULL_REQUEST_DEFAULT_TYPES
    if event == "check_suite":
        return CHECK_SUITE_DEFAULT_TYPES
    return ACTIONS_ACTIVITY_TYPES.get(event)


def accepts_types(event: str) -> bool:
    return event in FREE_FORM_TYPES or bool(known_types(event))


# Filters beyond `types`, and the events each applies to.
FILTER_EVENTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "branches": frozenset(
            {
                "pull_request",
                "pull_request_target",
                "push",
                "workflow_run",
                "check_run",
                "check_suite",
            }
        ),
        "tags": frozenset({"push"}),
        "paths": frozenset({"pull_request", "pull_request_target", "push"}),
        "command": frozenset(
            {"issue_comment", "pull_request_review_comment", "discussion_comment"}
        ),
        "conclusions": frozenset({"check_run", "check_suite", "workflow_run"}),
        "workflows": frozenset({"workflow_run"}),
    }
)

CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
)

PERMISSION_LEVELS = ("none", "read", "triage", "write", "maintain", "admin")
