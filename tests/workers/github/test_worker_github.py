"""The worker resolves GitHub-dependent filters and the loop guard against the simulator."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from service.github_sim.testing import SimHandle
from service.store.models import Job
from tests.conftest import WEBHOOK_EXAMPLES
from tests.workers.conftest import Receiver, add_job
from tests.workers.github.conftest import token_settings
from workers.celery_app import create_celery
from workers.jobs import Outcome, run_job
from workers.tasks import build_worker_runtime

ISSUE = json.loads((WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_bytes())
COMMENTED = json.loads((WEBHOOK_EXAMPLES / "issue_comment" / "created.payload.json").read_bytes())


def reason(engine: Engine, job_id: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(Job.reason).where(Job.id == job_id)).scalar_one())


@pytest.fixture
def world(sim: SimHandle) -> SimHandle:
    sim.admin.create_user("Codertocat")
    sim.admin.create_repo("Codertocat", "Hello-World")
    sim.admin.create_user("octo-reader")
    sim.admin.set_permission("Codertocat", "Hello-World", "octo-reader", "read")
    return sim


@pytest.mark.parametrize(
    ("sender", "outcome", "why"),
    [
        ("Codertocat", Outcome.SUCCEEDED, None),  # the owner: admin
        ("octo-reader", Outcome.SKIPPED, "sender octo-reader has read permission; write required"),
        ("stranger", Outcome.SKIPPED, "sender stranger has none permission; write required"),
    ],
)
def test_permission_is_checked_through_the_api(
    world: SimHandle,
    tmp_path: Path,
    engine: Engine,
    database_url: str,
    receiver: Receiver,
    sender: str,
    outcome: Outcome,
    why: str | None,
) -> None:
    settings = token_settings(world, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    payload = {**ISSUE, "sender": {**ISSUE["sender"], "login": sender}}
    job_id = add_job(
        engine,
        options={"url": receiver.url},
        pending={"paths": None, "permission": "write", "login": sender},
        payload=json.dumps(payload).encode(),
    )
    assert run_job(job_id=job_id, runtime=runtime) is outcome
    if why:
        assert reason(engine, job_id) == why


def test_permissions_are_cached_briefly(world: SimHandle, tmp_path: Path) -> None:
    from workers.github.auth import MemoryTokenCache
    from workers.github.client import GitHubFactory
    from workers.github.resolver import GitHubResolver, PermissionCache

    factory = GitHubFactory(token_settings(world, tmp_path), token_cache=MemoryTokenCache())
    cache = PermissionCache(ttl=1.0)

    def permission() -> str:
        # A resolver per event, as the worker builds them; the cache is the worker's.
        resolver = GitHubResolver(
            factory.for_installation(None), event="issues", payload=ISSUE, permissions=cache
        )
        return resolver.permission("octo-reader")

    assert permission() == "read"
    world.admin.set_permission("Codertocat", "Hello-World", "octo-reader", "write")
    # A burst of commands costs one API call: GitHub is not asked again, even when it is down.
    world.admin.inject_fault("error", status=503, path="/permission$", count=5)
    assert [permission() for _ in range(3)] == ["read"] * 3
    world.admin.clear_faults()
    time.sleep(1.1)
    assert permission() == "write"  # briefly: a change shows once the entry expires


def test_events_caused_by_hookwise_itself_are_skipped(
    world: SimHandle, tmp_path: Path, engine: Engine, database_url: str
) -> None:
    settings = token_settings(world, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    payload = {**ISSUE, "sender": {**ISSUE["sender"], "login": "hookwise-user"}}
    job_id = add_job(engine, payload=json.dumps(payload).encode())
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SKIPPED
    assert reason(engine, job_id) == "event caused by Hookwise itself (hookwise-user)"


def test_github_outage_during_checks_reschedules_the_job(
    world: SimHandle, tmp_path: Path, engine: Engine, database_url: str
) -> None:
    settings = token_settings(world, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    world.admin.inject_fault("error", status=503, path="/permission$", count=20)
    job_id = add_job(engine, pending={"paths": None, "permission": "write", "login": "Codertocat"})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.RETRY
    assert "GitHub 503" in reason(engine, job_id)


def test_denied_command_gets_a_short_reply(
    world: SimHandle, tmp_path: Path, engine: Engine, database_url: str
) -> None:
    issue = world.admin.open_issue("Codertocat", "Hello-World", title="Bug", author="Codertocat")
    settings = token_settings(world, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    payload = {
        **ISSUE,
        "issue": {**ISSUE["issue"], "number": issue["number"]},
        "sender": {**ISSUE["sender"], "login": "octo-reader"},
    }
    job_id = add_job(
        engine,
        pending={"paths": None, "permission": "write", "login": "octo-reader"},
        payload=json.dumps(payload).encode(),
    )
    with engine.begin() as conn:
        from sqlalchemy import update

        conn.execute(update(Job).values(command={"name": "/fix", "args": "", "line": 1}))
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SKIPPED
    comments = world.client(world.token("alice")).get(
        f"/repos/Codertocat/Hello-World/issues/{issue['number']}/comments"
    )
    bodies = [c["body"] for c in comments.json()]
    assert len(bodies) == 1
    assert "@octo-reader `/fix` can only be used by people with write access" in bodies[0]


def test_a_command_gets_eyes_as_soon_as_its_job_starts(
    world: SimHandle, tmp_path: Path, engine: Engine, database_url: str, receiver: Receiver
) -> None:
    issue = world.admin.open_issue("Codertocat", "Hello-World", title="Bug", author="Codertocat")
    command = world.admin.comment(
        "Codertocat", "Hello-World", issue["number"], body="/notify please", author="Codertocat"
    )
    settings = token_settings(world, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    payload = {
        **COMMENTED,
        "issue": {**COMMENTED["issue"], "number": issue["number"]},
        "comment": {**COMMENTED["comment"], "id": command["id"], "body": "/notify please"},
    }
    job_id = add_job(
        engine,
        options={"url": receiver.url},
        pending={"paths": None, "permission": "write", "login": "Codertocat"},
        payload=json.dumps(payload).encode(),
        event="issue_comment",
        action="created",
    )
    with engine.begin() as conn:
        conn.execute(update(Job).values(command={"name": "/notify", "args": "please", "line": 1}))
    reactions = f"/repos/Codertocat/Hello-World/issues/comments/{command['id']}/reactions"
    api = world.client(world.token("alice"))
    # The agent fails (its receiver answers 400), yet the 👀 is there: it came when the job
    # started, not with the agent's result.
    receiver.statuses = [400]
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.FAILED
    found = api.get(reactions).json()
    assert [(r["content"], r["user"]["login"]) for r in found] == [("eyes", "hookwise-user")]
    # Run again (an operator's retry): GitHub keeps the one reaction.
    with engine.begin() as conn:
        conn.execute(update(Job).values(state="queued", not_before=None))
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SUCCEEDED
    assert [r["content"] for r in api.get(reactions).json()] == ["eyes"]


def test_primary_rate_limit_waits_in_the_database_not_in_celery(
    world: SimHandle, tmp_path: Path, engine: Engine, database_url: str
) -> None:
    settings = token_settings(world, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    world.admin.inject_fault("primary_rate_limit", path="/permission$", reset_in=900)
    job_id = add_job(engine, pending={"paths": None, "permission": "write", "login": "Codertocat"})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.RETRY
    table = Job.__table__
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == job_id)).one()
    assert row.state == "queued"
    wait = (row.not_before - row.updated_at).total_seconds()
    assert 880 <= wait <= 1000
    # Not handed to Celery as a countdown: the reconciler publishes it once it is due.
    assert row.enqueued_at is None


def test_agents_that_ask_get_the_pull_requests_changed_files(
    sim: SimHandle, tmp_path: Path, engine: Engine, database_url: str
) -> None:
    from tests.workers.github.conftest import app_settings
    from workers.agents.respond_options import RespondOptions

    sim.admin.set_app_webhook("http://127.0.0.1:9/unreachable", secret="x")
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "widgets")
    sim.admin.create_installation("acme")
    pull = sim.admin.open_pull_request(
        "acme",
        "widgets",
        title="Guide",
        head="docs-guide",
        author="acme",
        files={"docs/guide.md": "# Guide\n"},
    )
    assert sim.admin.wait_for_deliveries(timeout=20)
    payload = next(
        d["payload"] for d in sim.admin.deliveries(target="app") if d["event"] == "pull_request"
    )
    settings = app_settings(sim, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    options = RespondOptions.model_validate(
        {
            "rules": [
                {"labels": ["docs"], "paths": ["docs/**"]},
                {"labels": ["code"], "paths": ["src/**"]},
            ]
        }
    )
    job_id = add_job(
        engine,
        agent="respond",
        options=options.model_dump(mode="json"),
        payload=json.dumps(payload).encode(),
        event="pull_request",
    )
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SUCCEEDED
    api = sim.client(sim.token("alice"))
    issue = api.get(f"/repos/acme/widgets/issues/{pull['number']}").json()
    labels = [label["name"] for label in issue["labels"]]
    assert labels == ["docs"]


@pytest.mark.parametrize(
    ("patterns", "outcome"), [(["docs/**"], Outcome.SUCCEEDED), (["src/**"], Outcome.SKIPPED)]
)
def test_paths_filter_resolves_the_pull_requests_changed_files(
    sim: SimHandle,
    tmp_path: Path,
    engine: Engine,
    database_url: str,
    receiver: Receiver,
    patterns: list[str],
    outcome: Outcome,
) -> None:
    from service.triggers import Identity, load_config, match_event
    from tests.workers.github.conftest import app_settings
    from workers.agents.registry import agent_options

    sim.admin.set_app_webhook("http://127.0.0.1:9/unreachable", secret="x")
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "widgets")
    sim.admin.create_installation("acme")
    sim.admin.open_pull_request(
        "acme",
        "widgets",
        title="Guide",
        head="docs-guide",
        author="acme",
        files={"docs/guide.md": "# Guide\n"},
    )
    assert sim.admin.wait_for_deliveries(timeout=20)
    payload = next(
        d["payload"] for d in sim.admin.deliveries(target="app") if d["event"] == "pull_request"
    )
    config = load_config(
        "version: 1\nautomations:\n  - name: docs\n"
        f"    on: {{pull_request: {{paths: {json.dumps(patterns)}}}}}\n"
        f'    agent: notify\n    with: {{url: "{receiver.url}"}}\n',
        source="t",
        agents=agent_options(),
    )
    (spec,) = match_event(config, event="pull_request", payload=payload, identity=Identity()).jobs
    assert spec.pending.paths is not None  # the web process cannot know a PR's files
    settings = app_settings(sim, tmp_path, database_url=database_url)
    runtime = build_worker_runtime(settings, celery=create_celery(settings))
    job_id = add_job(
        engine,
        options=dict(spec.options),
        pending=spec.pending.to_json(),
        payload=json.dumps(payload).encode(),
        event="pull_request",
    )
    assert run_job(job_id=job_id, runtime=runtime) is outcome
    assert len(receiver.received) == (1 if outcome is Outcome.SUCCEEDED else 0)
