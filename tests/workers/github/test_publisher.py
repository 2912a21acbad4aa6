"""The GitHub publisher against the simulator over HTTP, with SQLite and PostgreSQL ledgers."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.store.models import PublishedOutput
from tests.workers.github.conftest import PublishBench, sqlite_only
from workers.agents.base import (
    Annotation,
    CheckRun,
    Comment,
    Patch,
    PermanentError,
    Result,
    Review,
    TransientError,
)
from workers.github.publishing.ledger import InstallationWriteLock, Ledger, OutputKey
from workers.github.publishing.publisher import GitHubPublisher, write_lock_name
from workers.github.publishing.target import target_for

pytestmark = pytest.mark.timeout(60)

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


def comments_on(bench: PublishBench, number: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = bench.get(f"/issues/{number}/comments")
    return result


def forbid_writes(bench: PublishBench) -> None:
    """Any write from now on fails loudly (500, not retried for POST/PATCH); `writes_sent` then
    tells whether one was attempted."""
    for method in WRITE_METHODS:
        bench.sim.admin.inject_fault("error", method=method, path=r"^/repos/", count=100)


def writes_sent(bench: PublishBench) -> int:
    return sum(100 - fault["remaining"] for fault in bench.sim.admin.pending_faults())


# -- comments ---------------------------------------------------------------------------------


def test_sticky_comment_is_posted_once_then_edited_in_place(bench: PublishBench) -> None:
    number = bench.open_issue()
    publisher = bench.publisher()
    first = Result(summary="s", comments=(Comment(body="Thanks for the report!"),))
    publisher.publish(first, context=bench.context(number=number))
    [comment] = comments_on(bench, number)
    assert comment["body"].startswith("Thanks for the report!")
    assert "<!-- hookwise:automation=greet -->" in comment["body"]
    assert comment["user"]["login"] == bench.sim.bot_login

    forbid_writes(bench)
    publisher.publish(first, context=bench.context(number=number))  # a re-run: nothing to do
    assert writes_sent(bench) == 0
    bench.sim.admin.clear_faults()

    second = Result(summary="s", comments=(Comment(body="Updated note"),))
    publisher.publish(second, context=bench.context(number=number))
    [edited] = comments_on(bench, number)
    assert edited["id"] == comment["id"]
    assert edited["body"].startswith("Updated note")


@sqlite_only
def test_sticky_comments_are_per_automation_and_ignore_other_authors(
    bench: PublishBench,
) -> None:
    number = bench.open_issue()
    # A human quoting the marker does not make their comment ours to edit.
    bench.sim.admin.comment(
        bench.owner,
        bench.repo,
        number,
        body="copied <!-- hookwise:automation=greet -->",
        author="bob",
    )
    publisher = bench.publisher()
    result = Result(summary="s", comments=(Comment(body="hello"),))
    publisher.publish(result, context=bench.context(number=number, automation="greet"))
    publisher.publish(result, context=bench.context(number=number, automation="greet-2"))
    bodies = [item["body"] for item in comments_on(bench, number)]
    assert bodies[0] == "copied <!-- hookwise:automation=greet -->"
    assert len(bodies) == 3


@sqlite_only
def test_a_deleted_sticky_comment_is_posted_again(bench: PublishBench) -> None:
    number = bench.open_issue()
    publisher = bench.publisher()
    result = Result(summary="s", comments=(Comment(body="hello"),))
    publisher.publish(result, context=bench.context(number=number))
    [comment] = comments_on(bench, number)
    app = bench.sim.client(bench.sim.installation_token(bench.installation_id))
    app.delete(f"/repos/{bench.full_name}/issues/comments/{comment['id']}").raise_for_status()

    publisher.publish(result, context=bench.context(number=number))
    [again] = comments_on(bench, number)
    assert again["id"] != comment["id"]


def test_a_plain_comment_is_posted_once_per_job(bench: PublishBench) -> None:
    number = bench.open_issue()
    publisher = bench.publisher()
    result = Result(summary="s", comments=(Comment(body="seen", sticky=False),))
    job = bench.context(number=number)
    publisher.publish(result, context=job)
    publisher.publish(result, context=job)  # the same job retried
    assert len(comments_on(bench, number)) == 1
    publisher.publish(result, context=bench.context(number=number))  # another job
    assert len(comments_on(bench, number)) == 2


def test_concurrent_publishers_post_one_sticky_comment(bench: PublishBench) -> None:
    number = bench.open_issue()
    result = Result(summary="s", comments=(Comment(body="one of us"),))
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def run() -> None:
        publisher = bench.publisher()  # as separate worker processes would each have
        start.wait()
        try:
            publisher.publish(result, context=bench.context(number=number))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(comments_on(bench, number)) == 1


def test_concurrent_creates_without_the_write_lock_still_post_once(bench: PublishBench) -> None:
    """The ledger's claim alone serialises creation (the lock's lease may lapse under load)."""
    from workers.github.publishing.publisher import write

    number = bench.open_issue()
    result = Result(summary="s", comments=(Comment(body="one of us"),))
    publisher = bench.publisher()
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def run() -> None:
        dest = publisher.destination(bench.context(number=number))
        start.wait()
        try:
            write(dest, result)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(comments_on(bench, number)) == 1


class CrashAfterCreate(Ledger):
    """Dies like a killed worker: after GitHub created the object, before its id is stored."""

    def record(self, key: OutputKey, *, holder: str, github_id: int) -> None:
        raise KeyboardInterrupt("worker killed")


def _crash_once(
    bench: PublishBench, number: int, job_id: str, *, claim_seconds: float = 60
) -> None:
    crashing = bench.publisher(ledger=CrashAfterCreate(bench.engine, claim_seconds=claim_seconds))
    result = Result(summary="s", comments=(Comment(body="first attempt"),))
    with pytest.raises(KeyboardInterrupt):
        crashing.publish(result, context=bench.context(number=number, job_id=job_id))
    assert len(comments_on(bench, number)) == 1


def _stored(bench: PublishBench) -> list[Any]:
    with bench.engine.connect() as conn:
        return list(
            conn.execute(
                select(PublishedOutput).where(PublishedOutput.repository == bench.full_name)
            )
        )


def test_retry_after_dying_between_create_and_store_finds_the_comment(
    bench: PublishBench,
) -> None:
    number = bench.open_issue()
    job_id = "a" * 32
    _crash_once(bench, number, job_id)
    [row] = _stored(bench)
    assert row.github_id is None
    assert row.claimed_by == job_id

    # The same job, retried: its own claim is taken over at once, the comment found by its marker.
    retried = Result(summary="s", comments=(Comment(body="second attempt"),))
    bench.publisher().publish(retried, context=bench.context(number=number, job_id=job_id))
    [comment] = comments_on(bench, number)
    assert comment["body"].startswith("second attempt")
    [row] = _stored(bench)
    assert row.github_id == comment["id"]
    assert row.claimed_by is None


def test_another_job_waits_while_a_dead_attempt_s_claim_is_live(bench: PublishBench) -> None:
    number = bench.open_issue()
    _crash_once(bench, number, "b" * 32)
    impatient = bench.publisher(ledger=bench.ledger(wait_seconds=0.3))
    result = Result(summary="s", comments=(Comment(body="from another job"),))
    with pytest.raises(TransientError, match="another job is still creating"):
        impatient.publish(result, context=bench.context(number=number))
    assert len(comments_on(bench, number)) == 1


def test_another_job_adopts_the_comment_once_the_dead_claim_expires(bench: PublishBench) -> None:
    number = bench.open_issue()
    _crash_once(bench, number, "c" * 32, claim_seconds=0.2)
    later = bench.publisher(ledger=bench.ledger(wait_seconds=5))
    result = Result(summary="s", comments=(Comment(body="from another job"),))
    later.publish(result, context=bench.context(number=number))
    [comment] = comments_on(bench, number)
    assert comment["body"].startswith("from another job")


def test_a_failed_create_releases_the_claim(bench: PublishBench) -> None:
    number = bench.open_issue()
    result = Result(summary="s", comments=(Comment(body="hello"),))
    bench.sim.admin.inject_fault(
        "secondary_rate_limit", method="POST", path=r"/comments$", retry_after=7
    )
    with pytest.raises(TransientError) as raised:
        bench.publisher().publish(result, context=bench.context(number=number))
    assert raised.value.retry_after == 7
    # Another job need not wait for the failed one's claim to expire.
    patient_enough = bench.publisher(ledger=bench.ledger(wait_seconds=0.5))
    patient_enough.publish(result, context=bench.context(number=number))
    assert len(comments_on(bench, number)) == 1


# -- labels and reactions ---------------------------------------------------------------------


@sqlite_only
def test_labels_are_created_added_and_removed_once(bench: PublishBench) -> None:
    issue = bench.sim.admin.open_issue(
        bench.owner, bench.repo, title="t", author="bob", labels=["stale", "keep"]
    )
    number = int(issue["number"])
    result = Result(summary="s", labels_add=("Bug", "needs-info"), labels_remove=("stale", "gone"))
    publisher = bench.publisher()
    publisher.publish(result, context=bench.context(number=number))
    names = sorted(label["name"] for label in bench.get(f"/issues/{number}/labels"))
    # Label names compare case-insensitively: "Bug" is the repository's existing "bug".
    assert names == ["bug", "keep", "needs-info"]
    repo_labels = [label["name"] for label in bench.get("/labels")]
    assert "needs-info" in repo_labels
    assert "Bug" not in repo_labels

    forbid_writes(bench)
    publisher.publish(result, context=bench.context(number=number))
    assert writes_sent(bench) == 0


@sqlite_only
def test_reactions_go_on_the_triggering_comment_or_the_issue(bench: PublishBench) -> None:
    number = bench.open_issue()
    command = bench.sim.admin.comment(
        bench.owner, bench.repo, number, body="/hookwise triage", author="bob"
    )
    publisher = bench.publisher()
    on_comment = bench.context(
        number=number, event="issue_comment", extra={"comment": {"id": command["id"]}}
    )
    for _ in range(2):
        publisher.publish(Result(summary="s", reactions=("eyes",)), context=on_comment)
        publisher.publish(
            Result(summary="s", reactions=("rocket",)), context=bench.context(number=number)
        )
    comment_reactions = bench.get(f"/issues/comments/{command['id']}/reactions")
    assert [item["content"] for item in comment_reactions] == ["eyes"]
    issue_reactions = bench.get(f"/issues/{number}/reactions")
    assert [item["content"] for item in issue_reactions] == ["rocket"]


@sqlite_only
def test_a_deleted_command_comment_skips_the_reaction_not_the_job(bench: PublishBench) -> None:
    number = bench.open_issue()
    command = bench.sim.admin.comment(bench.owner, bench.repo, number, body="/go", author="bob")
    bob = bench.sim.client(bench.sim.token("bob"))
    bob.delete(f"/repos/{bench.full_name}/issues/comments/{command['id']}").raise_for_status()
    context = bench.context(
        number=number, event="issue_comment", extra={"comment": {"id": command["id"]}}
    )
    result = Result(summary="s", reactions=("eyes",), comments=(Comment(body="on it"),))
    bench.publisher().publish(result, context=context)
    [comment] = comments_on(bench, number)
    assert comment["body"].startswith("on it")


@sqlite_only
def test_two_sticky_comments_are_refused_before_any_write(bench: PublishBench) -> None:
    number = bench.open_issue()
    result = Result(summary="s", labels_add=("x",), comments=(Comment(body="a"), Comment(body="b")))
    with pytest.raises(PermanentError, match="at most one sticky comment"):
        bench.publisher().publish(result, context=bench.context(number=number))
    assert comments_on(bench, number) == []
    assert bench.get(f"/issues/{number}/labels") == []


# -- check runs -------------------------------------------------------------------------------


def _annotations(count: int) -> tuple[Annotation, ...]:
    return tuple(
        Annotation(path="src/app.py", start_line=n, end_line=n, message=f"problem {n}")
        for n in range(1, count + 1)
    )


def _head(bench: PublishBench) -> str:
    return str(bench.get("/commits/main")["sha"])


def test_check_run_with_more_than_50_annotations(bench: PublishBench) -> None:
    sha = _head(bench)
    check = CheckRun(
        name="hookwise/lint",
        head_sha=sha,
        conclusion="failure",
        title="120 problems",
        summary="Found 120 problems",
        text="details",
        annotations=_annotations(120),
    )
    publisher = bench.publisher()
    context = bench.context(number=None, event="push")
    publisher.publish(Result(summary="s", check_run=check), context=context)
    runs = bench.get(f"/commits/{sha}/check-runs")["check_runs"]
    assert [(run["name"], run["conclusion"]) for run in runs] == [("hookwise/lint", "failure")]
    run = runs[0]
    assert run["output"]["annotations_count"] == 120
    assert run["output"]["summary"] == "Found 120 problems"
    listed = bench.get(f"/check-runs/{run['id']}/annotations", per_page=100) + bench.get(
        f"/check-runs/{run['id']}/annotations", per_page=100, page=2
    )
    assert [item["message"] for item in listed] == [f"problem {n}" for n in range(1, 121)]

    forbid_writes(bench)
    publisher.publish(Result(summary="s", check_run=check), context=context)
    assert writes_sent(bench) == 0
    bench.sim.admin.clear_faults()

    fixed = check.model_copy(update={"conclusion": "success", "title": "fixed"})
    publisher.publish(Result(summary="s", check_run=fixed), context=context)
    [updated] = bench.get(f"/commits/{sha}/check-runs")["check_runs"]
    assert updated["id"] == run["id"]
    assert (updated["conclusion"], updated["output"]["title"]) == ("success", "fixed")
    assert updated["output"]["annotations_count"] == 120


def test_check_run_interrupted_between_annotation_batches_is_completed(
    bench: PublishBench,
) -> None:
    sha = _head(bench)
    check = CheckRun(
        name="ci",
        head_sha=sha,
        conclusion="failure",
        title="t",
        summary="s",
        annotations=_annotations(130),
    )
    context = bench.context(number=None, event="push")
    # The second PATCH of annotations fails: 100 of 130 are on GitHub.
    bench.sim.admin.inject_fault("slow", method="PATCH", path=r"/check-runs/\d+$", delay=0)
    bench.sim.admin.inject_fault("error", method="PATCH", path=r"/check-runs/\d+$", status=502)
    with pytest.raises(TransientError):
        bench.publisher().publish(Result(summary="s", check_run=check), context=context)
    bench.publisher().publish(Result(summary="s", check_run=check), context=context)
    [run] = bench.get(f"/commits/{sha}/check-runs")["check_runs"]
    assert run["output"]["annotations_count"] == 130


def test_a_check_run_created_by_a_dead_attempt_is_found_by_name(bench: PublishBench) -> None:
    sha = _head(bench)
    check = CheckRun(
        name="ci", head_sha=sha, conclusion="success", title="t", summary="s", annotations=()
    )
    context = bench.context(number=None, event="push")
    crashing = bench.publisher(ledger=CrashAfterCreate(bench.engine))
    with pytest.raises(KeyboardInterrupt):
        crashing.publish(Result(summary="s", check_run=check), context=context)
    done = check.model_copy(update={"summary": "finished"})
    bench.publisher().publish(Result(summary="s", check_run=done), context=context)
    [run] = bench.get(f"/commits/{sha}/check-runs")["check_runs"]
    assert run["output"]["summary"] == "finished"
    assert run["app"]["id"] == bench.sim.app_id


# -- draft pull requests ----------------------------------------------------------------------


def test_patch_opens_one_draft_pull_request_and_updates_its_body(bench: PublishBench) -> None:
    bench.sim.admin.push(
        bench.owner,
        bench.repo,
        branch="hookwise/fix-typo",
        from_branch="main",
        files={"README.md": "# Demo\n"},
        author="alice",
    )
    number = bench.open_issue()
    patch = Patch(branch="hookwise/fix-typo", base="main", title="Fix typo", body="v1", diff="")
    publisher = bench.publisher()
    publisher.publish(Result(summary="s", patch=patch), context=bench.context(number=number))
    publisher.publish(Result(summary="s", patch=patch), context=bench.context(number=number))
    updated = patch.model_copy(update={"body": "v2"})
    publisher.publish(Result(summary="s", patch=updated), context=bench.context(number=number))
    [pull] = bench.get("/pulls", state="all")
    assert pull["draft"] is True
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["body"]) == (
        "hookwise/fix-typo",
        "main",
        "v2",
    )


@sqlite_only
def test_patch_adopts_an_open_pull_request_from_the_same_head(bench: PublishBench) -> None:
    existing = bench.sim.admin.open_pull_request(
        bench.owner,
        bench.repo,
        title="Manual fix",
        head="hookwise/fix",
        author="alice",
        files={"README.md": "# Demo\n"},
    )
    patch = Patch(branch="hookwise/fix", base="main", title="Fix", body="explained", diff="")
    bench.publisher().publish(Result(summary="s", patch=patch), context=bench.context())
    [pull] = bench.get("/pulls", state="all")
    assert (pull["number"], pull["body"], pull["draft"]) == (existing["number"], "explained", False)


def test_a_review_posted_by_a_dead_attempt_is_found_by_its_marker(bench: PublishBench) -> None:
    pull = bench.sim.admin.open_pull_request(
        bench.owner, bench.repo, title="p", head="f", author="bob", files={"a.txt": "a\n"}
    )
    context = bench.context(extra={"pull_request": {"number": pull["number"]}})
    review = Review(commit_sha=pull["head"]["sha"], body="Looks good.")
    with pytest.raises(KeyboardInterrupt):
        bench.publisher(ledger=CrashAfterCreate(bench.engine)).publish(
            Result(summary="s", review=review), context=context
        )
    bench.publisher().publish(Result(summary="s", review=review), context=context)
    assert len(bench.get(f"/pulls/{pull['number']}/reviews")) == 1


# -- targets and the write lock ---------------------------------------------------------------


@sqlite_only
def test_check_event_without_pull_requests_asks_github_for_the_pull(bench: PublishBench) -> None:
    pull = bench.sim.admin.open_pull_request(
        bench.owner,
        bench.repo,
        title="feature",
        head="feature",
        author="bob",
        files={"src/app.py": "print('hi')\n"},
    )
    sha = pull["head"]["sha"]
    payload_extra = {"check_run": {"head_sha": sha, "pull_requests": []}}
    context = bench.context(number=None, event="check_run", extra=payload_extra)
    assert target_for(context.event, context.payload).number is None
    bench.publisher().publish(
        Result(summary="s", comments=(Comment(body="CI failed: see below"),)), context=context
    )
    assert len(comments_on(bench, int(pull["number"]))) == 1


def test_writes_to_one_installation_wait_for_the_lock(bench: PublishBench) -> None:
    number = bench.open_issue()
    context = bench.context(number=number)
    name = write_lock_name(target_for(context.event, context.payload))
    assert name == f"github-write:{bench.installation_id}"
    result = Result(summary="s", comments=(Comment(body="hello"),))
    with InstallationWriteLock(bench.engine, name=name, holder="d" * 32):
        busy = GitHubPublisher(factory=bench.factory, engine=bench.engine, wait_seconds=0.3)
        with pytest.raises(TransientError, match="another job is writing"):
            busy.publish(result, context=context)
        assert comments_on(bench, number) == []
        # The lock's own holder (the same job, retried after a crash) gets straight in.
        same_job = bench.context(number=number, job_id="d" * 32)
        bench.publisher().publish(result, context=same_job)
    bench.publisher().publish(result, context=context)
    assert len(comments_on(bench, number)) == 1


@sqlite_only
def test_token_mode_posts_as_the_token_s_user(bench: PublishBench, tmp_path: Path) -> None:
    from tests.workers.github.conftest import token_settings
    from workers.github.auth import MemoryTokenCache
    from workers.github.client import GitHubFactory

    bench.sim.admin.set_permission(bench.owner, bench.repo, "hookwise-user", "write")
    number = bench.open_issue()
    factory = GitHubFactory(token_settings(bench.sim, tmp_path), token_cache=MemoryTokenCache())
    publisher = GitHubPublisher(factory=factory, engine=bench.engine)
    context = bench.context(number=number)
    no_installation = replace(context, payload={**context.payload, "installation": None})
    result = Result(summary="s", comments=(Comment(body="via a token"),), labels_add=("bug",))
    for _ in range(2):
        publisher.publish(result, context=no_installation)
    [comment] = comments_on(bench, number)
    assert comment["user"]["login"] == "hookwise-user"
    assert [label["name"] for label in bench.get(f"/issues/{number}/labels")] == ["bug"]
    factory.close()
