"""`.github/hookwise.yml` read from the default branch, merged onto the central config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from service.github_sim.testing import SimHandle
from service.intake import NewDelivery, new_job, record_delivery
from service.store.models import DeliveryState, Job
from service.triggers import Identity, load_config, match_event
from tests.workers.conftest import Receiver
from tests.workers.github.conftest import app_settings, token_settings
from workers.agents.registry import agent_options
from workers.celery_app import create_celery
from workers.github.auth import MemoryTokenCache
from workers.github.client import GitHubFactory
from workers.github.repo_config import RepoConfigs
from workers.jobs import Outcome, run_job
from workers.tasks import RuntimeHolder, _dispatch

CENTRAL = """\
version: 1
automations:
  - name: announce
    on: {issues: {types: [opened]}}
    agent: notify
    with: {url: "RECEIVER"}
"""

REPO_CONFIG = """\
version: 1
disable: [announce]
automations:
  - name: repo-announce
    on: {issues: {types: [opened]}}
    agent: notify
    with: {url: "RECEIVER", retries: 0}
"""


@pytest.fixture
def repo(sim: SimHandle, receiver: Receiver) -> dict[str, object]:
    sim.admin.create_user("acme")
    config = REPO_CONFIG.replace("RECEIVER", receiver.url)
    sim.admin.create_repo("acme", "widgets", files={".github/hookwise.yml": config})
    sim.admin.create_installation("acme")
    return sim.admin.open_issue("acme", "widgets", title="It crashes", author="acme")


def loader(sim: SimHandle, tmp_path: Path) -> RepoConfigs:
    factory = GitHubFactory(token_settings(sim, tmp_path, "alice"), token_cache=MemoryTokenCache())
    return RepoConfigs(factory, agents=agent_options())


def test_config_is_read_from_the_default_branch_only(
    sim: SimHandle, tmp_path: Path, repo: object
) -> None:
    sim.admin.push(
        "acme",
        "widgets",
        branch="sneaky",
        from_branch="main",
        files={".github/hookwise.yml": "version: 1\ndisable: []\nautomations: []\n"},
        author="acme",
    )
    configs = loader(sim, tmp_path)
    loaded = configs.load(repository="acme/widgets", default_branch="main", installation_id=None)
    assert loaded.error is None
    assert loaded.config is not None
    assert [a.name for a in loaded.config.automations] == ["repo-announce"]
    # Cached by ETag: the same object comes back from a 304.
    again = configs.load(repository="acme/widgets", default_branch="main", installation_id=None)
    assert again is loaded


def test_missing_config_means_central_only(sim: SimHandle, tmp_path: Path) -> None:
    sim.admin.create_repo("alice", "plain")
    configs = loader(sim, tmp_path)
    loaded = configs.load(repository="alice/plain", default_branch="main", installation_id=None)
    assert loaded.config is None
    assert loaded.error is None


def test_broken_config_reports_every_error_with_its_line(sim: SimHandle, tmp_path: Path) -> None:
    broken = "version: 1\nautomations:\n  - name: x\n    on: issuez\n    agent: nope\n"
    sim.admin.create_repo("alice", "broken", files={".github/hookwise.yml": broken})
    loaded = loader(sim, tmp_path).load(
        repository="alice/broken", default_branch="main", installation_id=None
    )
    assert loaded.config is None
    assert loaded.error is not None
    assert [(i.line, i.source) for i in loaded.error.issues] == [
        (4, ".github/hookwise.yml"),
        (5, ".github/hookwise.yml"),
    ]


def test_worker_applies_the_repository_config(
    sim: SimHandle,
    tmp_path: Path,
    engine: Engine,
    database_url: str,
    receiver: Receiver,
    repo: dict[str, object],
) -> None:
    central_path = tmp_path / "hookwise.yml"
    central_path.write_text(CENTRAL.replace("RECEIVER", receiver.url))
    settings = token_settings(
        sim, tmp_path, "alice", database_url=database_url, config=central_path
    )
    holder = RuntimeHolder(settings, create_celery(settings))
    runtime = holder.get()
    deliveries = [d for d in sim.admin.deliveries() if d["event"] == "issues"]
    payload = deliveries[-1]["payload"] if deliveries else _issue_payload(sim, repo)
    # As the web process does: central automations only, delivery left for the worker.
    central = load_config(
        CENTRAL.replace("RECEIVER", receiver.url), source="c", agents=agent_options()
    )
    specs = match_event(central, event="issues", payload=payload, identity=Identity()).jobs
    delivery = NewDelivery(
        id="d-repo",
        event="issues",
        action="opened",
        payload=json.dumps(payload).encode(),
        state=DeliveryState.RECEIVED,
        jobs=tuple(new_job(delivery_id="d-repo", spec=spec) for spec in specs),
    )
    with engine.begin() as conn:
        record_delivery(conn, delivery, max_attempts=3)

    added = _dispatch(holder, "d-repo")
    assert len(added) == 1
    with engine.connect() as conn:
        jobs = dict(conn.execute(select(Job.automation, Job.id)).all())
    assert set(jobs) == {"announce", "repo-announce"}
    assert added == [jobs["repo-announce"]]
    assert _dispatch(holder, "d-repo") == []  # dispatched once

    assert run_job(job_id=jobs["announce"], runtime=runtime) is Outcome.SKIPPED
    assert run_job(job_id=jobs["repo-announce"], runtime=runtime) is Outcome.SUCCEEDED
    with engine.connect() as conn:
        reason = conn.execute(select(Job.reason).where(Job.automation == "announce")).scalar()
    assert reason == "disabled by .github/hookwise.yml"
    assert len(receiver.received) == 1


def _issue_payload(
    sim: SimHandle, issue: dict[str, object], *, repo: str = "acme/widgets"
) -> dict[str, object]:
    repository = sim.client(sim.token("alice")).get(f"/repos/{repo}").json()
    return {
        "action": "opened",
        "issue": issue,
        "repository": repository,
        "sender": {"login": "acme", "type": "User"},
    }


def dispatch_twice(engine: Engine, holder: RuntimeHolder, payload: dict[str, object]) -> None:
    """Two `issues` deliveries of the same payload, each dispatched by the worker: no jobs."""
    for delivery_id in ("d-1", "d-2"):
        delivery = NewDelivery(
            id=delivery_id,
            event="issues",
            action="opened",
            payload=json.dumps(payload).encode(),
            state=DeliveryState.RECEIVED,
        )
        with engine.begin() as conn:
            record_delivery(conn, delivery, max_attempts=3)
        assert _dispatch(holder, delivery_id) == []


BROKEN = "version: 1\nautomations:\n  - name: x\n    on: issuez\n    agent: notify\n"


def test_broken_repository_config_is_reported_once_as_a_check_run(
    sim: SimHandle, tmp_path: Path, engine: Engine, database_url: str
) -> None:
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "broken", files={".github/hookwise.yml": BROKEN})
    installation = sim.admin.create_installation("acme")
    issue = sim.admin.open_issue("acme", "broken", title="Hi", author="acme")
    settings = app_settings(sim, tmp_path, database_url=database_url)
    holder = RuntimeHolder(settings, create_celery(settings))
    payload = {
        **_issue_payload(sim, issue, repo="acme/broken"),
        "installation": {"id": installation},
    }
    dispatch_twice(engine, holder, payload)  # two events on the same commit: one report
    api = sim.client(sim.token("alice"))
    head = api.get("/repos/acme/broken/commits/main").json()["sha"]
    runs = api.get(f"/repos/acme/broken/commits/{head}/check-runs").json()["check_runs"]
    assert [(r["name"], r["conclusion"]) for r in runs] == [("hookwise/config", "failure")]
    annotations = api.get(f"/repos/acme/broken/check-runs/{runs[0]['id']}/annotations").json()
    # Line 3: notify needs a `url`; line 4: the misspelt event.
    assert sorted((a["path"], a["start_line"]) for a in annotations) == [
        (".github/hookwise.yml", 3),
        (".github/hookwise.yml", 4),
    ]
    assert any("issuez" in a["message"] for a in annotations)


def test_with_a_token_the_broken_config_is_named_in_a_comment(
    sim: SimHandle, tmp_path: Path, engine: Engine, database_url: str
) -> None:
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "broken", files={".github/hookwise.yml": BROKEN})
    issue = sim.admin.open_issue("acme", "broken", title="Hi", author="acme")
    settings = token_settings(sim, tmp_path, "alice", database_url=database_url)
    holder = RuntimeHolder(settings, create_celery(settings))
    payload = _issue_payload(sim, issue, repo="acme/broken")
    dispatch_twice(engine, holder, payload)
    api = sim.client(sim.token("alice"))
    comments = api.get(f"/repos/acme/broken/issues/{issue['number']}/comments").json()
    assert len(comments) == 1
    assert "line 4, column" in comments[0]["body"]

    # Reported once for the repository: the next issue gets no second copy, and an event about
    # no issue at all (a push) is dispatched without a report rather than failing.
    other = sim.admin.open_issue("acme", "broken", title="Another", author="acme")
    for delivery_id, event, body in (
        ("d-3", "issues", _issue_payload(sim, other, repo="acme/broken")),
        ("d-4", "push", {"ref": "refs/heads/main", "repository": payload["repository"]}),
    ):
        delivery = NewDelivery(
            id=delivery_id,
            event=event,
            action=None if event == "push" else "opened",
            payload=json.dumps(body).encode(),
            state=DeliveryState.RECEIVED,
        )
        with engine.begin() as conn:
            record_delivery(conn, delivery, max_attempts=3)
        assert _dispatch(holder, delivery_id) == []
    assert api.get(f"/repos/acme/broken/issues/{other['number']}/comments").json() == []
    assert len(api.get(f"/repos/acme/broken/issues/{issue['number']}/comments").json()) == 1
