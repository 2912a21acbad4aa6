"""Pull-request reviews: at most one per automation and head sha, inline comments only where the
diff shows the line, the rest listed in the body."""

from __future__ import annotations

from github.PullRequest import PullRequest

from workers.agents.base import InlineComment, PermanentError, Review
from workers.github.client import github_errors
from workers.github.publishing import markers
from workers.github.publishing.destination import Destination
from workers.github.publishing.diff_lines import (
    CommentableLines,
    inline_payload,
    place_comments,
    review_body,
)


def _commentable_lines(pull: PullRequest) -> CommentableLines:
    with github_errors():
        return CommentableLines.from_patches(
            {item.filename: item.patch for item in pull.get_files()}
        )


def _find(pull: PullRequest, *, marker: str, author: str) -> int | None:
    with github_errors():
        for existing in pull.get_reviews():
            if existing.user.login == author and markers.has_marker(existing.body, marker):
                return int(existing.id)
    return None


def _post(
    pull: PullRequest, review: Review, *, inline: tuple[InlineComment, ...], body: str
) -> int:
    # `commit_id` goes through the raw request: PyGithub wants a Commit object for it, which would
    # cost a GET for nothing.
    payload = {
        "commit_id": review.commit_sha,
        "body": body,
        "event": review.event,
        "comments": [inline_payload(comment) for comment in inline],
    }
    _, data = pull._requester.requestJsonAndCheck("POST", f"{pull.url}/reviews", input=payload)
    return int(data["id"])


def _create(pull: PullRequest, review: Review, *, lines: CommentableLines, marker: str) -> int:
    placement = place_comments(review.comments, lines)
    body = markers.with_marker(review_body(review.body, placement.outside), marker)
    try:
        with github_errors():
            return _post(pull, review, inline=placement.inline, body=body)
    except PermanentError as exc:
        if exc.status != 422 or not placement.inline:
            raise
    # GitHub refused a line we thought was in the diff (the head moved, or it reads the diff
    # differently) and does not say which one: keep every comment, listed in the body instead.
    fallback = markers.with_marker(review_body(review.body, review.comments), marker)
    with github_errors():
        return _post(pull, review, inline=(), body=fallback)


def publish_review(dest: Destination, review: Review) -> None:
    number = dest.number()
    marker = markers.review(dest.automation, commit_sha=review.commit_sha)
    pull = dest.repo.get_pull(number)  # lazy
    dest.ledger.ensure(
        dest.key(target=f"#{number}", slot=f"review:{review.commit_sha}"),
        holder=dest.job_id,
        find=lambda: _find(pull, marker=marker, author=dest.author),
        create=lambda: _create(pull, review, lines=_commentable_lines(pull), marker=marker),
    )
