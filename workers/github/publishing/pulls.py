"""Draft pull requests from a branch an agent already pushed: one open PR per head branch."""

from __future__ import annotations

from github import UnknownObjectException
from github.Repository import Repository

from workers.agents.base import Patch, TransientError
from workers.github.client import github_errors
from workers.github.publishing.destination import Destination

_ATTEMPTS = 2


def _find_open(repo: Repository, patch: Patch, *, owner: str) -> int | None:
    with github_errors():
        for pull in repo.get_pulls(state="open", head=f"{owner}:{patch.branch}", base=patch.base):
            return int(pull.number)
    return None


def _create(repo: Repository, patch: Patch) -> int:
    with github_errors():
        created = repo.create_pull(
            base=patch.base, head=patch.branch, title=patch.title, body=patch.body, draft=True
        )
    return int(created.number)


def _update_if_open(repo: Repository, number: int, patch: Patch) -> bool:
    """Bring an open PR's body up to date; False when it was closed or merged meanwhile."""
    pull = repo.get_pull(number)  # lazy
    with github_errors():
        try:
            state = pull.state
        except UnknownObjectException:
            return False
        if state != "open":
            return False
        if pull.body != patch.body:
            pull.edit(body=patch.body)
    return True


def publish_patch(dest: Destination, patch: Patch) -> None:
    key = dest.key(target=f"branch:{patch.branch}", slot=f"pull:{patch.base}")
    owner = dest.target.repository.split("/", 1)[0]
    for _ in range(_ATTEMPTS):
        ensured = dest.ledger.ensure(
            key,
            holder=dest.job_id,
            find=lambda: _find_open(dest.repo, patch, owner=owner),
            create=lambda: _create(dest.repo, patch),
        )
        if ensured.created or _update_if_open(dest.repo, ensured.github_id, patch):
            return
        dest.ledger.forget(key, github_id=ensured.github_id)
    raise TransientError(f"the pull request from {patch.branch} keeps closing; trying again later")
