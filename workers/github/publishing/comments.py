"""Comments on the event's issue or pull request: sticky (one per automation, edited in place) or
once per job. Both carry a hidden marker, so a retry finds what an earlier attempt posted."""

from __future__ import annotations

from github import UnknownObjectException
from github.Issue import Issue

from workers.agents.base import Comment, TransientError
from workers.github.client import github_errors
from workers.github.publishing import markers
from workers.github.publishing.destination import Destination

# A stored id can turn stale (someone deleted the comment): look it up again at most this often.
_ATTEMPTS = 2


def _find(issue: Issue, *, marker: str, author: str) -> int | None:
    with github_errors():
        for existing in issue.get_comments():
            if existing.user.login == author and markers.has_marker(existing.body, marker):
                return int(existing.id)
    return None


def _create(issue: Issue, body: str) -> int:
    with github_errors():
        return int(issue.create_comment(body).id)


def _edit_if_changed(issue: Issue, comment_id: int, *, body: str, marker: str) -> bool:
    """Bring the stored comment up to date; False when it is gone or no longer ours."""
    comment = issue.get_comment(comment_id)  # lazy: the GET happens on first attribute access
    with github_errors():
        try:
            current = comment.body
        except UnknownObjectException:
            return False
        if not markers.has_marker(current, marker):
            return False
        if current != body:
            comment.edit(body)
    return True


def publish_comment(dest: Destination, comment: Comment, *, index: int) -> None:
    number = dest.number()
    if comment.sticky:
        marker = markers.sticky_comment(dest.automation)
        slot = "comment"
    else:
        marker = markers.job_comment(dest.automation, job_id=dest.job_id, index=index)
        slot = f"comment:{dest.job_id}:{index}"
    body = markers.with_marker(comment.body, marker)
    key = dest.key(target=f"#{number}", slot=slot)
    issue = dest.repo.get_issue(number)  # lazy
    for _ in range(_ATTEMPTS):
        ensured = dest.ledger.ensure(
            key,
            holder=dest.job_id,
            find=lambda: _find(issue, marker=marker, author=dest.author),
            create=lambda: _create(issue, body),
        )
        if ensured.created or _edit_if_changed(issue, ensured.github_id, body=body, marker=marker):
            return
        dest.ledger.forget(key, github_id=ensured.github_id)
    raise TransientError(f"the comment for {key} keeps disappearing; trying again later")
