"""Labels and reactions. Both are naturally idempotent on GitHub (adding a present label or an
existing reaction changes nothing), so they need no ledger; labels are compared first anyway, so a
re-run sends no write at all and emits no `labeled` events."""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from github import GithubException, UnknownObjectException
from github.Issue import Issue
from github.IssueComment import IssueComment
from github.PullRequestComment import PullRequestComment

from workers.github.client import github_errors
from workers.github.publishing.destination import Destination

log = structlog.get_logger(__name__)

DEFAULT_LABEL_COLOR = "ededed"  # GitHub's own colour for labels created without one


def _missing(wanted: Iterable[str], present: Iterable[str]) -> list[str]:
    """`wanted` minus `present`, compared as GitHub compares label names: case-insensitively."""
    have = {name.lower() for name in present}
    missing: list[str] = []
    for name in wanted:
        if name.lower() not in have:
            missing.append(name)
            have.add(name.lower())
    return missing


def _present(wanted: Iterable[str], present: Iterable[str]) -> list[str]:
    by_lower = {name.lower(): name for name in present}
    return [by_lower[name.lower()] for name in wanted if name.lower() in by_lower]


def _create_repo_labels(dest: Destination, names: list[str]) -> None:
    with github_errors():
        existing = [label.name for label in dest.repo.get_labels()]
        for name in _missing(names, existing):
            try:
                dest.repo.create_label(name, DEFAULT_LABEL_COLOR)
            except GithubException as exc:
                # 422 already_exists: another job created it since we listed.
                if exc.status != 422:
                    raise


def publish_labels(dest: Destination, *, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    issue = dest.repo.get_issue(dest.number())  # lazy
    with github_errors():
        current = [label.name for label in issue.get_labels()]
    to_add = _missing(add, current)
    to_remove = _present(remove, current)
    if to_add:
        _create_repo_labels(dest, to_add)
        with github_errors():
            issue.add_to_labels(*to_add)
    for name in to_remove:
        with github_errors():
            try:
                issue.remove_from_labels(name)
            except GithubException as exc:
                if exc.status != 404:  # removed by someone else meanwhile
                    raise


def publish_reactions(dest: Destination, contents: tuple[str, ...]) -> None:
    """React on the comment that triggered the event (a command), else on the issue itself.

    A 404 means the comment was deleted before we got to it: there is nothing left to react on,
    and the job's other outputs still matter, so it is logged and skipped.
    """
    target = dest.target
    reactable: Issue | IssueComment | PullRequestComment
    with github_errors():
        if target.comment_id is not None and target.review_comment:
            pull = dest.repo.get_pull(dest.number())  # lazy
            reactable = pull.get_review_comment(target.comment_id)
        elif target.comment_id is not None:
            reactable = dest.repo.get_issue(dest.number()).get_comment(target.comment_id)
        else:
            reactable = dest.repo.get_issue(dest.number())
        for content in contents:
            try:
                reactable.create_reaction(content)  # 200 for an existing one: idempotent
            except UnknownObjectException:
                log.info("reaction target is gone", comment_id=target.comment_id)
                return
