"""What one publish call writes through: the repository, the target, the ledger, who we are."""

from __future__ import annotations

from dataclasses import dataclass, field

from github.Repository import Repository

from workers.agents.base import PermanentError
from workers.github.client import github_errors
from workers.github.publishing.ledger import Ledger, OutputKey
from workers.github.publishing.target import Target


@dataclass
class Destination:
    repo: Repository
    """A lazy PyGithub repository: building it costs no request."""
    target: Target
    automation: str
    job_id: str
    author: str
    """Hookwise's own login: only its own comments and reviews are ever found and edited."""
    ledger: Ledger
    app_id: int | None = None
    """The App Hookwise runs as (None with a token): check runs of other Apps are not ours."""
    _number: int | None = field(default=None, init=False)

    def number(self) -> int:
        """The issue or pull request the outputs go to, asking GitHub for a check or workflow
        event whose payload names no pull request (fork PRs)."""
        if self._number is None:
            self._number = self.target.number or self._pull_for_head()
        return self._number

    def _pull_for_head(self) -> int:
        sha = self.target.head_sha
        if sha is not None:
            with github_errors():
                for pull in self.repo.get_commit(sha).get_pulls():
                    return int(pull.number)
        raise PermanentError("this event has no issue or pull request to post to")

    def key(self, *, target: str, slot: str) -> OutputKey:
        return OutputKey(
            repository=self.target.repository,
            target=target,
            automation=self.automation,
            slot=slot,
        )
