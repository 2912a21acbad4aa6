"""GitHub's REST paths for pull requests, their files, commits, reviews and review comments."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.github_sim import diffs
from service.github_sim.http import json_answer, json_body, paginate
from service.github_sim.models import Repository
from service.github_sim.render import Json
from service.github_sim.routes_common import (
    REPO,
    acting_account,
    principal_of,
    visible_repo,
    world_of,
)
from service.github_sim.world import SimError, World, not_found, validation_failed

router = APIRouter()


# -- pull requests ----------------------------------------------------------------------------
def _wants_diff(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/vnd.github.diff" in accept or "application/vnd.github.v3.diff" in accept


@router.get(REPO + "/pulls")
async def list_pulls(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    state = request.query_params.get("state", "open")
    head = request.query_params.get("head")
    base = request.query_params.get("base")
    pulls = [
        issue
        for issue in sorted(found.issues.values(), key=lambda item: item.number, reverse=True)
        if issue.pull is not None
        and (state == "all" or issue.state == state)
        and (head is None or issue.pull.head_ref == head.split(":", 1)[-1])
        and (base is None or issue.pull.base_ref == base)
    ]
    page, headers = paginate(request, pulls)
    return json_answer(request, [world.pull_json(found, issue) for issue in page], headers=headers)


@router.post(REPO + "/pulls")
async def create_pull(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    body = await json_body(request)
    for required in ("head", "base"):
        if not isinstance(body.get(required), str):
            raise validation_failed("PullRequest", required, "missing_field")
    issue = world.create_pull(
        found,
        actor=acting_account(request),
        title=str(body.get("title") or ""),
        head=body["head"],
        base=body["base"],
        body=body.get("body"),
        draft=bool(body.get("draft", False)),
    )
    return json_answer(
        request,
        world.pull_json(found, issue),
        status=201,
        headers={"Location": f"{world.repo_base(found)}/pulls/{issue.number}"},
    )


@router.get(REPO + "/pulls/{pull_number:int}")
async def get_pull(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    issue = world.find_pull(found, pull_number)
    if _wants_diff(request) and issue.pull is not None:
        return Response(
            diffs.full_diff(issue.pull.files),
            media_type="application/vnd.github.diff; charset=utf-8",
        )
    return json_answer(request, world.pull_json(found, issue))


@router.patch(REPO + "/pulls/{pull_number:int}")
async def update_pull(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    issue = world.find_pull(found, pull_number)
    body = await json_body(request)
    world.update_issue(
        found,
        issue,
        actor=acting_account(request),
        title=body.get("title"),
        body=body.get("body"),
        state=body.get("state"),
    )
    return json_answer(request, world.pull_json(found, issue))


@router.get(REPO + "/pulls/{pull_number:int}/files")
async def list_pull_files(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    pull = world.find_pull(found, pull_number).pull
    if pull is None:
        raise not_found()
    page, headers = paginate(request, pull.files)
    entries = [
        world.renderer.diff_entry(
            repo_base=world.repo_base(found),
            repo_html=world.repo_html(found),
            head_sha=pull.head_sha,
            change=change,
        )
        for change in page
    ]
    return json_answer(request, entries, headers=headers)


@router.get(REPO + "/pulls/{pull_number:int}/commits")
async def list_pull_commits(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    pull = world.find_pull(found, pull_number).pull
    if pull is None:
        raise not_found()
    page, headers = paginate(request, pull.commit_shas)
    commits = [
        world.renderer.commit(
            repo_base=world.repo_base(found),
            repo_html=world.repo_html(found),
            commit=found.commits[sha],
            author=world.account(found.commits[sha].author_id),
        )
        for sha in page
    ]
    return json_answer(request, commits, headers=headers)


def _review_json(world: World, repo: Repository, review_id: int) -> Json:
    review = repo.reviews[review_id]
    author = world.account(review.user_id)
    return world.renderer.review(
        repo_base=world.repo_base(repo),
        repo_html=world.repo_html(repo),
        review=review,
        author=author,
        association=world.association(repo, author),
    )


@router.get(REPO + "/pulls/{pull_number:int}/reviews")
async def list_reviews(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    issue = world.find_pull(found, pull_number)
    viewer = principal_of(request).account
    # A pending review is its author's draft: nobody else sees it.
    reviews = sorted(
        item.id
        for item in found.reviews.values()
        if item.pull_number == issue.number
        and (item.state != "PENDING" or (viewer is not None and item.user_id == viewer.id))
    )
    page, headers = paginate(request, reviews)
    return json_answer(
        request, [_review_json(world, found, item) for item in page], headers=headers
    )


@router.post(REPO + "/pulls/{pull_number:int}/reviews")
async def create_review(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    issue = world.find_pull(found, pull_number)
    body = await json_body(request)
    comments = body.get("comments") or []
    if not isinstance(comments, list) or not all(isinstance(item, dict) for item in comments):
        raise SimError(422, "Unprocessable Entity", ["comments must be a list of objects"])
    review = world.create_review(
        found,
        issue,
        actor=acting_account(request),
        body=str(body.get("body") or ""),
        event=body.get("event"),
        commit_id=body.get("commit_id"),
        comments=comments,
    )
    return json_answer(request, _review_json(world, found, review.id))


@router.delete(REPO + "/pulls/{pull_number:int}/reviews/{review_id:int}")
async def delete_pending_review(
    request: Request, owner: str, repo: str, pull_number: int, review_id: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    issue = world.find_pull(found, pull_number)
    actor = acting_account(request)
    document = _review_json(world, found, review_id) if review_id in found.reviews else None
    world.delete_pending_review(found, issue, actor=actor, review_id=review_id)
    return json_answer(request, document)


def _review_comment_json(world: World, repo: Repository, comment_id: int) -> Json:
    comment = repo.review_comments[comment_id]
    author = world.account(comment.user_id)
    return world.renderer.review_comment(
        repo_base=world.repo_base(repo),
        repo_html=world.repo_html(repo),
        comment=comment,
        author=author,
        association=world.association(repo, author),
    )


@router.get(REPO + "/pulls/{pull_number:int}/comments")
async def list_review_comments(
    request: Request, owner: str, repo: str, pull_number: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    issue = world.find_pull(found, pull_number)
    # Comments of pending reviews are drafts, listed with their review only.
    ids = sorted(
        item.id
        for item in found.review_comments.values()
        if item.pull_number == issue.number
        and not (
            item.review_id in found.reviews and found.reviews[item.review_id].state == "PENDING"
        )
    )
    page, headers = paginate(request, ids)
    return json_answer(
        request, [_review_comment_json(world, found, item) for item in page], headers=headers
    )


@router.post(REPO + "/pulls/{pull_number:int}/comments")
async def create_review_comment(
    request: Request, owner: str, repo: str, pull_number: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    issue = world.find_pull(found, pull_number)
    body = await json_body(request)
    comment = world.create_single_review_comment(
        found, issue, actor=acting_account(request), spec=body
    )
    return json_answer(request, _review_comment_json(world, found, comment.id), status=201)


@router.get(REPO + "/commits/{commit_sha}/pulls")
async def pulls_for_commit(request: Request, owner: str, repo: str, commit_sha: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    pulls = world.pulls_for_commit(found, commit_sha)
    page, headers = paginate(request, pulls)
    return json_answer(request, [world.pull_json(found, issue) for issue in page], headers=headers)


@router.get(REPO + "/commits/{ref}")
async def get_commit(request: Request, owner: str, repo: str, ref: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    commit = found.commits[world.resolve_ref(found, ref)]
    document = world.renderer.commit(
        repo_base=world.repo_base(found),
        repo_html=world.repo_html(found),
        commit=commit,
        author=world.account(commit.author_id),
    )
    parent_tree = found.trees[commit.parents[0]] if commit.parents else {}
    changes = diffs.file_changes(parent_tree, found.trees[commit.sha])
    document["files"] = [
        world.renderer.diff_entry(
            repo_base=world.repo_base(found),
            repo_html=world.repo_html(found),
            head_sha=commit.sha,
            change=change,
        )
        for change in changes
    ]
    additions = sum(change.additions for change in changes)
    deletions = sum(change.deletions for change in changes)
    document["stats"] = {
        "additions": additions,
        "deletions": deletions,
        "total": additions + deletions,
    }
    return json_answer(request, document)
