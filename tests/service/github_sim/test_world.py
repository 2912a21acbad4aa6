"""The pure core without HTTP: state changes, the events they queue, permissions, fault plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.github_sim.deliveries import plan_deliveries, sign
from service.github_sim.faults import FaultPlan, FaultSpec, RateLimits
from service.github_sim.models import WorldData
from service.github_sim.render import Renderer
from service.github_sim.world import AppConfig, SimError, World


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> World:
    return World(
        data=WorldData(),
        renderer=Renderer(api="http://sim.invalid", html="http://sim.invalid/_html"),
        app=AppConfig(app_id=7, installation_token_ttl=timedelta(minutes=5)),
        clock=Clock(),
    )


def test_changes_queue_the_events_github_would_send(world: World) -> None:
    alice = world.ensure_account("alice")
    bob = world.ensure_account("bob")
    repo = world.create_repository(owner=alice, name="demo", actor=alice)
    issue = world.create_issue(repo, actor=bob, title="Bug", labels=["bug"])
    world.update_issue(repo, issue, actor=bob, title="Bug!")
    world.update_issue(repo, issue, actor=bob, title="Bug!")  # no change, no event
    events = [(item.event, item.action) for item in world.drain_outbox()]
    assert events == [("repository", "created"), ("issues", "opened"), ("issues", "edited")]
    # Bob may not triage, so his labels were dropped, as GitHub drops them.
    assert issue.label_names == []
    assert world.drain_outbox() == []


def test_app_deliveries_only_for_installed_repositories(world: World) -> None:
    alice = world.ensure_account("alice")
    carol = world.ensure_account("carol")
    world.data.app_hook.url = "http://receiver.invalid/hook"
    world.data.app_hook.secret = "s"
    installed = world.create_repository(owner=alice, name="in", actor=alice)
    other = world.create_repository(owner=carol, name="out", actor=carol)
    world.create_installation(account=alice, repository_names=None)
    world.drain_outbox()
    world.create_issue(installed, actor=carol, title="a")
    world.create_issue(other, actor=carol, title="b")
    planned = [plan_deliveries(world, item) for item in world.drain_outbox()]
    assert [len(item) for item in planned] == [1, 0]
    delivery = planned[0][0]
    assert delivery.installation_id is not None
    assert delivery.request_headers["X-Hub-Signature-256"] == sign("s", delivery.payload.encode())


def test_permissions_and_author_association(world: World) -> None:
    alice = world.ensure_account("alice")
    bob = world.ensure_account("bob")
    repo = world.create_repository(owner=alice, name="demo", actor=alice)
    assert world.permission(repo, alice) == "admin"
    assert world.permission(repo, bob) == "read"
    assert world.association(repo, bob, for_pull=True) == "FIRST_TIME_CONTRIBUTOR"
    world.set_permission(repo, "bob", "triage")
    assert world.association(repo, bob) == "COLLABORATOR"
    with pytest.raises(SimError) as refused:
        world.require_write(repo, bob)
    assert refused.value.status == 403


def test_installation_tokens_expire_on_the_clock(world: World) -> None:
    alice = world.ensure_account("alice")
    installation = world.create_installation(account=alice, repository_names=None)
    issued = world.issue_installation_token(installation, "ghs_x")
    assert issued.expires_at == world.now() + timedelta(minutes=5)
    with pytest.raises(SimError):
        world.issue_installation_token(installation, "ghs_y", repository_names=["missing"])


def test_fault_plan_consumes_rules_in_order() -> None:
    plan = FaultPlan()
    plan.add(FaultSpec(kind="error", count=2, path=r"^/repos/", method="POST"))
    plan.add(FaultSpec(kind="slow", count=1))
    assert plan.take("GET", "/repos/a/b") is not None  # the second rule matches any request
    assert plan.take("GET", "/repos/a/b") is None
    assert [plan.take("POST", "/repos/a/b") is not None for _ in range(3)] == [True, True, False]


def test_rate_windows_reset_after_an_hour() -> None:
    limits = RateLimits()
    first = limits.count("user:1", now=1000)
    limits.count("user:1", now=1001)
    assert (first.used, first.reset) == (2, 4600)
    assert limits.count("user:1", now=4600).used == 1
    assert limits.window("anonymous", now=1000).limit == 60
