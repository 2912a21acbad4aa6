"""The GitHub publisher: turns a Result into GitHub writes, each idempotent.

Order matters for what a reader sees first, not for correctness: the 👀 reaction (the command was
picked up), the comments, labels, the review, the check run, and the draft pull request. Every
write to one installation happens under a lock shared by all worker processes, and every GitHub
call goes through `github_errors()`: rate limits and 5xx reschedule the job, other 4xx fail it.
"""

from __future__ import annotations

from sqlalchemy import Engine

from workers.agents.base import AgentContext, PermanentError, Result
from workers.github.client import GitHubFactory
from workers.github.publishing import ledger as ledger_module
from workers.github.publishing.checks import publish_check_run
from workers.github.publishing.comments import publish_comment
from workers.github.publishing.destination import Destination
from workers.github.publishing.labels import publish_labels, publish_reactions
from workers.github.publishing.ledger import InstallationWriteLock, Ledger
from workers.github.publishing.pulls import publish_patch
from workers.github.publishing.reviews import publish_review
from workers.github.publishing.target import Target, target_for


def write_lock_name(target: Target) -> str:
    installation = "token" if target.installation_id is None else str(target.installation_id)
    return f"github-write:{installation}"


class GitHubPublisher:
    def __init__(
        self,
        *,
        factory: GitHubFactory,
        engine: Engine,
        ledger: Ledger | None = None,
        lock_seconds: float = ledger_module.LOCK_SECONDS,
        wait_seconds: float = ledger_module.WAIT_SECONDS,
    ) -> None:
        self._factory = factory
        self._engine = engine
        self._ledger = ledger or Ledger(engine, wait_seconds=wait_seconds)
        self._lock_seconds = lock_seconds
        self._wait_seconds = wait_seconds

    def destination(self, context: AgentContext) -> Destination:
        """Where `context`'s outputs go, with a client for its installation (no request yet)."""
        target = target_for(context.event, context.payload)
        gh = self._factory.for_installation(target.installation_id)
        identity = self._factory.identity
        return Destination(
            repo=gh.withLazy(True).get_repo(target.repository),
            target=target,
            automation=context.automation,
            job_id=context.job_id,
            author=identity.login,
            ledger=self._ledger,
            app_id=identity.app_id,
        )

    def publish(self, result: Result, *, context: AgentContext) -> None:
        if not result.touches_github:
            return
        dest = self.destination(context)
        lock = InstallationWriteLock(
            self._engine,
            name=write_lock_name(dest.target),
            holder=context.job_id,
            lease_seconds=self._lock_seconds,
            wait_seconds=self._wait_seconds,
        )
        with lock:
            write(dest, result)


def check_publishable(result: Result) -> None:
    """Refuse, before any write, what cannot be published idempotently."""
    if sum(1 for comment in result.comments if comment.sticky) > 1:
        # Both would be the one sticky comment of this automation and overwrite each other.
        raise PermanentError("a Result may carry at most one sticky comment")


def write(dest: Destination, result: Result) -> None:
    """Every GitHub output of `result`, in the order a reader should see them."""
    check_publishable(result)
    if result.reactions:
        publish_reactions(dest, result.reactions)
    for index, comment in enumerate(result.comments):
        publish_comment(dest, comment, index=index)
    if result.labels_add or result.labels_remove:
        publish_labels(dest, add=result.labels_add, remove=result.labels_remove)
    if result.review is not None:
        publish_review(dest, result.review)
    if result.check_run is not None:
        publish_check_run(dest, result.check_run)
    if result.patch is not None:
        publish_patch(dest, result.patch)
