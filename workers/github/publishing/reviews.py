"""Pull-request reviews: at most one per automation and head sha, inline comments only where the
diff shows the line, the rest listed in the body."""

from __future__ import annotations

from collections.abc import Callable

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


def _delete_pending(pull: PullRequest, review_id: int) -> None:
    pull._requester.requestJsonAndCheck("DELETE", f"{pull.url}/reviews/{review_id}")


def _find(pull: PullRequest, *, marker: str, author: str) -> int | None:
    found: int | None = None
    with github_errors():
        for existing in pull.get_reviews():
            if existing.user.login != author:
                continue
            if existing.state == "PENDING":
                # A draft a probe of ours left behind (its worker died before deleting it). GitHub
                # takes no new review from us while it exists, so it goes first.
                _delete_pending(pull, int(existing.id))
            elif found is None and markers.has_marker(existing.body, marker):
                found = int(existing.id)
    return found


def _post(
    pull: PullRequest,
    review: Review,
    *,
    inline: tuple[InlineComment, ...],
    body: str,
    pending: bool = False,
) -> int:
    # `commit_id` goes through the raw request: PyGithub wants a Commit object for it, which would
    # cost a GET for nothing. Without `event` GitHub keeps the review as a pending draft.
    payload: dict[str, object] = {
        "commit_id": review.commit_sha,
        "body": body,
        "comments": [inline_payload(comment) for comment in inline],
    }
    if not pending:
        payload["event"] = review.event
    _, data = pull._requester.requestJsonAndCheck("POST", f"{pull.url}/reviews", input=payload)
    return int(data["id"])


def _accepted(pull: PullRequest, review: Review, comments: tuple[InlineComment, ...]) -> bool:
    """Whether GitHub places every one of `comments`, asked with a pending review: a draft only
    we can see, and deleted at once. GitHub validates its comments as it would a real review's."""
    try:
        with github_errors():
            draft = _post(pull, review, inline=comments, body="", pending=True)
    except PermanentError as exc:
        if exc.status != 422:
            raise
        return False
    with github_errors():
        _delete_pending(pull, draft)
    return True


Comments = tuple[InlineComment, ...]


def split_refused(
    comments: Comments, *, accepts: Callable[[Comments], bool]
) -> tuple[Comments, Comments]:
    """(accepted, refused), each in the original order, of comments GitHub refused together:
    each half is asked again, a half it accepts is kept whole, a refused one is halved again, so
    one bad comment among n costs about 2·log2(n) probes."""
    if len(comments) <= 1:
        return (), comments
    middle = len(comments) // 2
    accepted: Comments = ()
    refused: Comments = ()
    for half in (comments[:middle], comments[middle:]):
        if accepts(half):
            accepted += half
        else:
            half_accepted, half_refused = split_refused(half, accepts=accepts)
            accepted += half_accepted
            refused += half_refused
    return accepted, refused


def _create(pull: PullRequest, review: Review, *, lines: CommentableLines, marker: str) -> int:
    placement = place_comments(review.comments, lines)
    body = markers.with_marker(review_body(review.body, placement.outside), marker)
    try:
        with github_errors():
            return _post(pull, review, inline=placement.inline, body=body)
    except PermanentError as exc:
        if exc.status != 422 or not placement.inline:
            raise
    # GitHub refused a line we thought was in the diff (the head moved after the files were
    # listed, or it reads the diff differently) and does not say which one: find the refused
    # comments with pending reviews, post the others inline and list the refused in the body.
    accepted, refused = split_refused(
        placement.inline, accepts=lambda some: _accepted(pull, review, some)
    )
    moved = markers.with_marker(review_body(review.body, (*placement.outside, *refused)), marker)
    try:
        with github_errors():
            return _post(pull, review, inline=accepted, body=moved)
    except PermanentError as exc:
        if exc.status != 422 or not accepted:
            raise
    # The diff moved again between the probes and the post: every comment goes in the body.
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
