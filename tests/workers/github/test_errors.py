"""Each GitHub failure, injected in the simulator, becomes the right job-runner decision."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from github import Github

from service.github_sim.testing import SimHandle
from tests.workers.github.conftest import token_settings
from workers.agents.base import PermanentError, TransientError
from workers.github.auth import MemoryTokenCache
from workers.github.client import GitHubFactory, github_errors


@pytest.fixture
def gh(sim: SimHandle, tmp_path: Path) -> Github:
    sim.admin.create_repo("alice", "demo")
    factory = GitHubFactory(token_settings(sim, tmp_path, "alice"), token_cache=MemoryTokenCache())
    return factory.for_installation(None)


def test_primary_rate_limit_waits_until_the_reset(sim: SimHandle, gh: Github) -> None:
    sim.admin.inject_fault("primary_rate_limit", path="/repos/alice/demo$", reset_in=600)
    with pytest.raises(TransientError, match="primary rate limit") as caught, github_errors():
        gh.get_repo("alice/demo")
    assert caught.value.retry_after is not None
    assert 590 <= caught.value.retry_after <= 612


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (None, 60.0)])
def test_secondary_rate_limit_honours_retry_after(
    sim: SimHandle, gh: Github, retry_after: int | None, expected: float
) -> None:
    sim.admin.inject_fault("secondary_rate_limit", path="/issues$", retry_after=retry_after)
    repo = gh.get_repo("alice/demo")
    with pytest.raises(TransientError, match="secondary rate limit") as caught, github_errors():
        repo.create_issue(title="hello")
    assert caught.value.retry_after == expected


def test_a_passing_5xx_on_a_read_is_retried_in_place(sim: SimHandle, gh: Github) -> None:
    sim.admin.inject_fault("error", status=502, path="/repos/alice/demo$")
    with github_errors():
        assert gh.get_repo("alice/demo").full_name == "alice/demo"
    assert sim.admin.pending_faults() == []


def test_persistent_5xx_is_transient(sim: SimHandle, gh: Github) -> None:
    sim.admin.inject_fault("error", status=503, path="/repos/alice/demo$", count=10)
    with pytest.raises(TransientError, match="GitHub 503"), github_errors():
        gh.get_repo("alice/demo")


def test_a_5xx_on_a_write_is_not_repeated_blindly(sim: SimHandle, gh: Github) -> None:
    repo = gh.get_repo("alice/demo")
    sim.admin.inject_fault("error", status=502, path="/issues$", method="POST")
    with pytest.raises(TransientError, match="GitHub 502"), github_errors():
        repo.create_issue(title="once")
    # The job runner retries the whole job later; here nothing was posted twice.
    assert [i.title for i in repo.get_issues()] == []


def test_other_4xx_fail_with_githubs_message(sim: SimHandle, gh: Github) -> None:
    with pytest.raises(PermanentError, match="GitHub 404: Not Found") as caught, github_errors():
        gh.get_repo("alice/missing")
    assert caught.value.status == 404


def test_slow_answers_time_out_as_transient(sim: SimHandle, tmp_path: Path) -> None:
    sim.admin.create_repo("alice", "slow")
    settings = token_settings(sim, tmp_path, "alice", github_timeout_seconds=1)
    gh = GitHubFactory(settings, token_cache=MemoryTokenCache()).for_installation(None)
    sim.admin.inject_fault("slow", path="/repos/alice/slow$", delay=3.0, count=5)
    started = time.monotonic()
    with pytest.raises(TransientError, match="unreachable"), github_errors():
        gh.get_repo("alice/slow")
    assert time.monotonic() - started < 15
