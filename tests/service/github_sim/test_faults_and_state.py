"""Fault injection, `--state` persistence and the command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.github_sim.server import SimConfig, Simulator
from service.github_sim.testing import SimHandle, run_simulator

ALICE = "alice-token"


def test_server_errors_for_the_next_requests_on_a_path(sim: SimHandle, github: Any) -> None:
    sim.admin.create_repo("alice", "demo")
    sim.admin.inject_fault("error", status=502, count=2, path=r"/issues$", method="POST")
    alice = github(ALICE)
    # Other paths and methods are untouched.
    assert alice.get("/repos/alice/demo/issues").status_code == 200
    statuses = [
        alice.post("/repos/alice/demo/issues", json={"title": "x"}).status_code for _ in range(3)
    ]
    assert statuses == [502, 502, 201]
    assert sim.admin.pending_faults() == []
    sim.admin.inject_fault("error", status=500)
    assert alice.get("/user").status_code == 500
    assert alice.get("/user").status_code == 200


def test_secondary_rate_limit_has_retry_after(sim: SimHandle, github: Any) -> None:
    sim.admin.inject_fault("secondary_rate_limit", retry_after=7)
    limited = github(ALICE).get("/user")
    assert limited.status_code == 403
    assert limited.headers["retry-after"] == "7"
    assert "secondary rate limit" in limited.json()["message"]
    assert int(limited.headers["x-ratelimit-remaining"]) > 0
    sim.admin.inject_fault("secondary_rate_limit", retry_after=None)
    assert "retry-after" not in github(ALICE).get("/user").headers


def test_primary_rate_limit_403_and_429(sim: SimHandle, github: Any) -> None:
    for status in (403, 429):
        sim.admin.inject_fault("primary_rate_limit", status=status, reset_in=120)
        before = int(time.time())
        limited = github(ALICE).get("/user")
        assert limited.status_code == status
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert before + 119 <= int(limited.headers["x-ratelimit-reset"]) <= before + 122
        assert "rate limit exceeded" in limited.json()["message"]


def test_slow_answers(sim: SimHandle, github: Any) -> None:
    sim.admin.inject_fault("slow", delay=1.0, path="^/user$")
    started = time.perf_counter()
    assert github(ALICE).get("/user").status_code == 200
    assert time.perf_counter() - started >= 0.95
    # The fault is used up: the next answer does not wait the second again.
    started = time.perf_counter()
    github(ALICE).get("/user")
    assert time.perf_counter() - started < 0.9


def test_control_plane_is_never_faulted(sim: SimHandle) -> None:
    sim.admin.inject_fault("error", count=5)
    assert sim.admin.health()
    assert len(sim.admin.pending_faults()) == 1
    sim.admin.clear_faults()
    assert sim.admin.pending_faults() == []


@pytest.mark.slow
def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    with run_simulator(users={"alice": ALICE}, state_file=state) as sim:
        sim.admin.create_repo("alice", "kept")
        sim.admin.open_issue("alice", "kept", title="Remember me", author="alice")
        comment = sim.client(ALICE).post(
            "/repos/alice/kept/issues/1/comments", json={"body": "saved"}
        )
        assert comment.status_code == 201
        # Saved after every change, not only at shutdown: a killed simulator loses nothing.
        sim.process.kill()
        sim.process.wait(timeout=10)
    # A new simulator loads the same world (in-process here, to keep the suite fast).
    reloaded = Simulator(SimConfig(public_url="http://sim.invalid", state_file=state))
    repo = reloaded.world.find_repo("alice", "kept")
    assert repo.issues[1].title == "Remember me"
    assert [item.body for item in repo.comments.values()] == ["saved"]
    alice = reloaded.world.require_account("alice")
    assert reloaded.world.create_issue(repo, actor=alice, title="next").number == 2


def test_cli_rejects_a_malformed_user() -> None:
    result = CliRunner().invoke(app, ["github-sim", "--user", "no-equals-sign"])
    assert result.exit_code != 0
    assert "LOGIN=TOKEN" in result.output
