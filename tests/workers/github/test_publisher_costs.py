"""What one publish costs in GitHub requests, first run and re-run, as the simulator counts them
(`GET /rate_limit`, itself free). Run with `-s` to see the table docs/publishing.md quotes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.workers.github.conftest import PublishBench, sqlite_only
from workers.agents.base import (
    Annotation,
    CheckRun,
    Comment,
    InlineComment,
    Result,
    Review,
)

pytestmark = pytest.mark.timeout(60)


def requests_used(bench: PublishBench, token: str) -> int:
    response = httpx.get(
        f"{bench.sim.api_url}/rate_limit", headers={"Authorization": f"token {token}"}
    )
    response.raise_for_status()
    return int(response.json()["resources"]["core"]["used"])


@sqlite_only  # the counts do not depend on the database
def test_request_costs_of_first_runs_and_re_runs(bench: PublishBench) -> None:
    source = "".join(f"l{n}\n" for n in range(1, 21))
    bench.sim.admin.push(
        bench.owner, bench.repo, branch="main", files={"src/app.py": source}, author="alice"
    )
    pull = bench.sim.admin.open_pull_request(
        bench.owner,
        bench.repo,
        title="p",
        head="feature",
        author="bob",
        files={"src/app.py": source.replace("l5\n", "L5\n")},
    )
    issue = bench.open_issue()
    sha = pull["head"]["sha"]
    on_issue = {"issue": {"number": issue}}
    on_pull = {"pull_request": {"number": pull["number"]}}
    cases: dict[str, tuple[Result, dict[str, Any]]] = {
        "sticky comment, 2 labels, eyes": (
            Result(
                summary="s",
                comments=(Comment(body="hi"),),
                labels_add=("bug", "triage"),
                reactions=("eyes",),
            ),
            on_issue,
        ),
        "review, 2 inline comments": (
            Result(
                summary="s",
                review=Review(
                    commit_sha=sha,
                    body="r",
                    comments=(
                        InlineComment(path="src/app.py", line=5, body="new"),
                        InlineComment(path="src/app.py", line=5, side="LEFT", body="old"),
                    ),
                ),
            ),
            on_pull,
        ),
        "check run, 120 annotations": (
            Result(
                summary="s",
                check_run=CheckRun(
                    name="lint",
                    head_sha=sha,
                    conclusion="failure",
                    title="t",
                    summary="s",
                    annotations=tuple(
                        Annotation(path="src/app.py", start_line=n, end_line=n, message="m")
                        for n in range(1, 121)
                    ),
                ),
            ),
            on_pull,
        ),
    }
    publisher = bench.publisher()
    token = bench.sim.installation_token(bench.installation_id)  # the same installation's count
    costs: dict[str, tuple[int, int]] = {}
    for name, (result, target) in cases.items():
        runs = []
        for _ in range(2):
            before = requests_used(bench, token)
            publisher.publish(result, context=bench.context(extra=target))
            runs.append(requests_used(bench, token) - before)
        costs[name] = (runs[0], runs[1])
    print("\n| Result | requests, first run | requests, re-run |\n| --- | --- | --- |")
    for name, (first, again) in costs.items():
        print(f"| {name} | {first} | {again} |")
    # A re-run only reads (plus the reaction, which GitHub answers 200 for), always fewer.
    assert all(again < first for first, again in costs.values())
    # 120 annotations: one create carrying 50, then two PATCHes of 50 and 20.
    assert costs["check run, 120 annotations"][0] == 4
