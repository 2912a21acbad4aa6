from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, select

from service.settings import Settings
from service.store.models import Job, JobDurationBucket, JobState
from tests.workers.conftest import Receiver, add_job
from workers.agents.base import AgentContext, Comment, Result
from workers.agents.registry import AGENTS
from workers.celery_app import create_celery
from workers.jobs import Outcome, WorkerRuntime, run_job
from workers.publish import ResultPublisher


class NoOptions(BaseModel):
    pass


@dataclass(frozen=True)
class InlineAgent:
    """An agent spec whose function is given directly (registry entries name a module path)."""

    function: Callable[[AgentContext], Result]
    options: type[BaseModel] = NoOptions

    def load(self) -> Callable[[AgentContext], Result]:
        return self.function


@pytest.fixture
def runtime(worker_settings: Settings, engine: Engine) -> Iterator[WorkerRuntime]:
    http = httpx.Client()
    yield WorkerRuntime(
        settings=worker_settings,
        engine=engine,
        celery=create_celery(worker_settings),
        publisher=ResultPublisher(http=http, github=None),
        worker_name="test-worker",
    )
    http.close()


def job(engine: Engine, job_id: str) -> Any:
    table = Job.__table__
    with engine.connect() as conn:
        return conn.execute(select(table).where(table.c.id == job_id)).one()


def test_notify_posts_the_summary_once(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    job_id = add_job(engine, options={"url": receiver.url})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SUCCEEDED
    # The same message delivered again: the job is done, the agent does not run again.
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.NOT_CLAIMED
    assert len(receiver.received) == 1
    sent = receiver.received[0]
    assert sent["repository"] == "Codertocat/Hello-World"
    assert sent["event"] == "issues"
    assert sent["action"] == "opened"
    assert sent["title"] == "Spelling error in the README file"
    assert sent["html_url"] == "https://github.com/Codertocat/Hello-World/issues/1"
    assert sent["sender"] == "Codertocat"
    assert "#1 Spelling error in the README file" in sent["text"]
    assert receiver.headers[0]["Idempotency-Key"] == job_id
    row = job(engine, job_id)
    assert row.state == JobState.SUCCEEDED
    assert row.result["notifications"][0]["payload"] == sent
    with engine.connect() as conn:
        count = conn.execute(
            select(JobDurationBucket.value).where(
                JobDurationBucket.agent == "notify", JobDurationBucket.le == "+Inf"
            )
        ).scalar_one()
    assert count == 1.0


def test_5xx_is_retried_within_the_attempt(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    receiver.statuses = [502, 503]
    job_id = add_job(engine, options={"url": receiver.url, "retries": 3})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SUCCEEDED
    assert len(receiver.received) == 1


def test_persistent_5xx_reschedules_the_job(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 10
    job_id = add_job(engine, options={"url": receiver.url, "retries": 1})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.RETRY
    row = job(engine, job_id)
    assert row.state == JobState.QUEUED
    assert row.not_before is not None
    assert "HTTP 500" in row.reason


def test_a_slow_receiver_times_out_and_is_retried(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    # The first POST outlives its timeout; the retry within the attempt goes through. Both carry
    # the job id, so the receiver can drop the one it answered too late.
    receiver.delays = [6.0]
    job_id = add_job(engine, options={"url": receiver.url, "timeout": 0.3, "retries": 1})
    started = time.monotonic()
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SUCCEEDED
    assert time.monotonic() - started < 5  # gave up on the slow answer instead of waiting
    assert {headers["Idempotency-Key"] for headers in receiver.headers} == {job_id}


def test_a_receiver_that_never_answers_in_time_reschedules_the_job(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    receiver.delays = [3.0, 3.0]
    job_id = add_job(engine, options={"url": receiver.url, "timeout": 0.3, "retries": 1})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.RETRY
    row = job(engine, job_id)
    assert row.state == JobState.QUEUED
    assert "ReadTimeout" in row.reason


def test_4xx_fails_the_job_with_the_reason(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    receiver.statuses = [404]
    job_id = add_job(engine, options={"url": receiver.url + "/T000/B000/credential"})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.FAILED
    reason = job(engine, job_id).reason
    assert "HTTP 404" in reason
    # The reason names the host only: a chat webhook's path is its credential.
    assert receiver.url.removesuffix("/hook") in reason
    assert "credential" not in reason


def test_last_attempt_fails_instead_of_rescheduling(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 10
    job_id = add_job(engine, options={"url": receiver.url, "retries": 0}, max_attempts=1)
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.FAILED
    assert "gave up after 1 attempts" in job(engine, job_id).reason


class StandInResolver:
    """Answers what the GitHub client will answer in production."""

    def __init__(self, *, files: Sequence[str] = (), permissions: dict[str, str]) -> None:
        self.files = list(files)
        self.permissions = permissions

    def changed_files(self) -> Sequence[str]:
        return self.files

    def permission(self, login: str) -> str:
        return self.permissions.get(login, "none")


@pytest.mark.parametrize(
    ("permission", "outcome"), [("read", Outcome.SKIPPED), ("admin", Outcome.SUCCEEDED)]
)
def test_pending_permission_is_resolved_before_the_agent_runs(
    runtime: WorkerRuntime,
    engine: Engine,
    receiver: Receiver,
    permission: str,
    outcome: Outcome,
) -> None:
    resolver = StandInResolver(permissions={"Codertocat": permission})
    runtime.resolvers = lambda *, event, payload: resolver
    pending = {"paths": None, "permission": "write", "login": "Codertocat"}
    job_id = add_job(engine, options={"url": receiver.url}, pending=pending)
    assert run_job(job_id=job_id, runtime=runtime) is outcome
    if outcome is Outcome.SKIPPED:
        assert job(engine, job_id).reason == "sender Codertocat has read permission; write required"
        assert receiver.received == []


@pytest.mark.parametrize(
    ("paths", "files", "reason"),
    [
        ({"patterns": ["src/**"], "ignore": False}, ["src/app.py", "README.md"], None),
        (
            {"patterns": ["src/**"], "ignore": False},
            ["docs/a.md"],
            "paths: none of 1 changed file matched by [src/**]",
        ),
        (
            {"patterns": ["docs/**"], "ignore": True},
            ["docs/a.md", "docs/b.md"],
            "paths-ignore: all 2 changed files matched by [docs/**]",
        ),
    ],
)
def test_pending_paths_are_resolved_before_the_agent_runs(
    runtime: WorkerRuntime,
    engine: Engine,
    receiver: Receiver,
    paths: dict[str, Any],
    files: list[str],
    reason: str | None,
) -> None:
    resolver = StandInResolver(files=files, permissions={})
    runtime.resolvers = lambda *, event, payload: resolver
    pending = {"paths": paths, "permission": None, "login": None}
    job_id = add_job(engine, options={"url": receiver.url}, pending=pending)
    outcome = run_job(job_id=job_id, runtime=runtime)
    if reason is None:
        assert outcome is Outcome.SUCCEEDED
        assert len(receiver.received) == 1
    else:
        assert outcome is Outcome.SKIPPED
        row = job(engine, job_id)
        assert (row.state, row.reason) == (JobState.SKIPPED, reason)
        assert receiver.received == []


def test_operator_retry_runs_the_same_job_again_as_the_next_attempt(
    runtime: WorkerRuntime, engine: Engine, receiver: Receiver
) -> None:
    from service.control import retry_job
    from service.store.db import session_factory

    receiver.statuses = [404]
    job_id = add_job(engine, options={"url": receiver.url})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.FAILED
    with session_factory(engine)() as session:
        retry_job(session, job_id=job_id, extra_attempts=3)
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SUCCEEDED
    row = job(engine, job_id)
    assert (row.id, row.state, row.attempts) == (job_id, JobState.SUCCEEDED, 2)
    assert len(receiver.received) == 1


def test_pending_checks_without_github_skip_with_reason(
    runtime: WorkerRuntime, engine: Engine
) -> None:
    pending = {"paths": None, "permission": "write", "login": "Codertocat"}
    job_id = add_job(engine, pending=pending)
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.SKIPPED
    assert "no GitHub access" in job(engine, job_id).reason


def test_running_agent_sees_cancellation(runtime: WorkerRuntime, engine: Engine) -> None:
    started = threading.Event()

    def patient(context: AgentContext) -> Result:
        started.set()
        deadline = time.monotonic() + 10
        while not context.cancelled() and time.monotonic() < deadline:
            time.sleep(0.02)
        return Result(summary="stopped" if context.cancelled() else "never cancelled")

    runtime.agents = {**AGENTS, "patient": InlineAgent(patient)}
    job_id = add_job(engine, agent="patient", options={})
    outcome: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: outcome.append(run_job(job_id=job_id, runtime=runtime))
    )
    thread.start()
    assert started.wait(5)
    from service.control import cancel_job
    from service.store.db import session_factory

    with session_factory(engine)() as session:
        cancel_job(session, job_id=job_id)
    thread.join(10)
    assert outcome == [Outcome.CANCELLED]
    assert job(engine, job_id).state == JobState.CANCELLED


def test_agent_bug_fails_the_job_with_the_error(runtime: WorkerRuntime, engine: Engine) -> None:
    def broken(context: AgentContext) -> Result:
        raise KeyError("title")

    runtime.agents = {**AGENTS, "broken": InlineAgent(broken)}
    job_id = add_job(engine, agent="broken", options={})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.FAILED
    assert job(engine, job_id).reason == "agent error: KeyError: 'title'"


def test_github_result_without_credentials_fails_clearly(
    runtime: WorkerRuntime, engine: Engine
) -> None:
    def commenter(context: AgentContext) -> Result:
        return Result(summary="hi", comments=(Comment(body="hello"),))

    runtime.agents = {**AGENTS, "commenter": InlineAgent(commenter)}
    job_id = add_job(engine, agent="commenter", options={})
    assert run_job(job_id=job_id, runtime=runtime) is Outcome.FAILED
    assert "no GitHub credentials" in job(engine, job_id).reason
