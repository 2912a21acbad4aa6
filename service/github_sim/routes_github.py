"""GitHub's REST paths: thin translations between HTTP and `World` methods."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from service.github_sim import diffs
from service.github_sim.auth import Principal, requires_authentication
from service.github_sim.deliveries import redelivery_of
from service.github_sim.http import cursor_paginate, json_answer, json_body, paginate
from service.github_sim.models import Account, Delivery, Repository
from service.github_sim.render import Json, iso
from service.github_sim.server import Simulator, simulator_of
from service.github_sim.world import SimError, World, blob_sha, not_found, validation_failed

github_router = APIRouter()
REPO = "/repos/{owner}/{repo}"


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _actor(request: Request) -> Account:
    """The account a write acts as; App JWTs may only call `/app` endpoints."""
    principal = _principal(request)
    if principal.kind == "anonymous":
        raise requires_authentication()
    if principal.account is None:
        raise SimError(403, "Resource not accessible by integration")
    return principal.account


def _world(request: Request) -> World:
    return simulator_of(request).world


def _repo(request: Request, owner: str, repo: str, *, write: bool = False) -> Repository:
    """Find a repository the caller may see (404 otherwise, as GitHub hides private ones)."""
    world = _world(request)
    found = world.find_repo(owner, repo)
    principal = _principal(request)
    if principal.kind == "installation" and principal.token is not None:
        covered = any(item.id == found.id for item in world.token_repos(principal.token))
        if not covered and (found.private or write):
            raise (
                not_found()
                if found.private
                else SimError(403, "Resource not accessible by integration")
            )
        return found
    if principal.kind == "app":
        raise SimError(403, "Resource not accessible by integration")
    if found.private and (
        principal.account is None or world.permission(found, principal.account) == "none"
    ):
        raise not_found()
    if write:
        _actor(request)
    return found


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as error:
        raise validation_failed("Query", name, "invalid") from error


# -- users and repositories -------------------------------------------------------------------
@github_router.get("/user")
async def get_user(request: Request) -> Response:
    principal = _principal(request)
    if principal.kind == "anonymous":
        raise requires_authentication()
    if principal.kind != "user" or principal.account is None:
        raise SimError(403, "Resource not accessible by integration")
    world = _world(request)
    account = principal.account
    owned = sum(1 for repo in world.data.repositories.values() if repo.owner_id == account.id)
    return json_answer(request, world.renderer.private_user(account, public_repos=owned))


@github_router.get("/users/{username}")
async def get_account(request: Request, username: str) -> Response:
    world = _world(request)
    account = world.require_account(username)
    owned = sum(1 for repo in world.data.repositories.values() if repo.owner_id == account.id)
    return json_answer(request, world.renderer.public_user(account, public_repos=owned))


async def _create_repo(request: Request, owner: Account) -> Response:
    world = _world(request)
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise validation_failed("Repository", "name", "missing_field")
    repo = world.create_repository(
        owner=owner,
        name=name,
        actor=_actor(request),
        description=body.get("description"),
        private=bool(body.get("private", False)),
        files={"README.md": f"# {name}\n"} if body.get("auto_init") else {},
    )
    return json_answer(request, world.repo_json(repo), status=201)


@github_router.post("/user/repos")
async def create_user_repo(request: Request) -> Response:
    principal = _principal(request)
    if principal.kind != "user" or principal.account is None:
        raise (
            requires_authentication()
            if principal.kind == "anonymous"
            else SimError(403, "Resource not accessible by integration")
        )
    return await _create_repo(request, principal.account)


@github_router.post("/orgs/{org}/repos")
async def create_org_repo(request: Request, org: str) -> Response:
    world = _world(request)
    actor = _actor(request)
    owner = world.account_by_login(org)
    if owner is None or owner.type != "Organization":
        raise not_found()
    principal = _principal(request)
    if principal.kind == "installation":
        installation = world.find_installation(principal.installation_id or -1)
        if installation.account_id != owner.id:
            raise SimError(403, "Resource not accessible by integration")
    elif actor.login.lower() not in _org_admins(world, owner):
        raise SimError(403, "You need admin access to the organization to create repositories")
    return await _create_repo(request, owner)


def _org_admins(world: World, org: Account) -> set[str]:
    """Org membership is modelled by admin permission on any of the org's repositories."""
    admins: set[str] = set()
    for repo in world.data.repositories.values():
        if repo.owner_id == org.id:
            admins.update(login for login, perm in repo.collaborators.items() if perm == "admin")
    return admins | {login.lower() for login in world.data.org_admins.get(org.id, [])}


@github_router.get(REPO)
async def get_repo(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    document = world.repo_json(found, full=True)
    principal = _principal(request)
    if principal.account is not None:
        rank = world.permission(found, principal.account)
        document["permissions"] = {
            "admin": rank == "admin",
            "maintain": rank in ("admin", "maintain"),
            "push": rank in ("admin", "maintain", "write"),
            "triage": rank in ("admin", "maintain", "write", "triage"),
            "pull": rank != "none",
        }
    return json_answer(request, document)


# -- contents ---------------------------------------------------------------------------------
def _content_json(world: World, repo: Repository, path: str, text: str, ref: str) -> Json:
    sha = blob_sha(text)
    full_name = f"{world.owner_of(repo).login}/{repo.name}"
    url = f"{world.repo_base(repo)}/contents/{path}?ref={ref}"
    html = f"{world.repo_html(repo)}/blob/{ref}/{path}"
    git_url = f"{world.repo_base(repo)}/git/blobs/{sha}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text.encode()),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.encodebytes(text.encode()).decode(),
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html,
        "download_url": f"{world.renderer.api}/_sim/raw/{full_name}/{ref}/{path}",
        "_links": {"self": url, "git": git_url, "html": html},
    }


def _directory_json(
    world: World, repo: Repository, path: str, tree: dict[str, str], ref: str
) -> list[Json]:
    prefix = f"{path.strip('/')}/" if path.strip("/") else ""
    entries: dict[str, Json] = {}
    for file_path, text in sorted(tree.items()):
        if not file_path.startswith(prefix):
            continue
        rest = file_path[len(prefix) :]
        name = rest.split("/", 1)[0]
        full = prefix + name
        if "/" in rest:
            url = f"{world.repo_base(repo)}/contents/{full}?ref={ref}"
            html = f"{world.repo_html(repo)}/tree/{ref}/{full}"
            sha = blob_sha(f"tree:{full}")
            git_url = f"{world.repo_base(repo)}/git/trees/{sha}"
            entries.setdefault(
                name,
                {
                    "type": "dir",
                    "size": 0,
                    "name": name,
                    "path": full,
                    "sha": sha,
                    "url": url,
                    "git_url": git_url,
                    "html_url": html,
                    "download_url": None,
                    "_links": {"self": url, "git": git_url, "html": html},
                },
            )
        else:
            document = _content_json(world, repo, full, text, ref)
            document.pop("content")
            document.pop("encoding")
            entries[name] = document
    return list(entries.values())


@github_router.get(REPO + "/contents/{path:path}")
async def get_contents(request: Request, owner: str, repo: str, path: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    ref = request.query_params.get("ref") or found.default_branch
    tree = found.trees[world.resolve_ref(found, ref)]
    clean = path.strip("/")
    accept = request.headers.get("accept", "")
    if clean in tree:
        if "application/vnd.github.raw" in accept or "application/vnd.github.v3.raw" in accept:
            return Response(tree[clean], media_type="application/vnd.github.raw")
        return json_answer(request, _content_json(world, found, clean, tree[clean], ref))
    listing = _directory_json(world, found, clean, tree, ref)
    if not listing:
        raise not_found()
    return json_answer(request, listing)


@github_router.put(REPO + "/contents/{path:path}")
async def put_contents(request: Request, owner: str, repo: str, path: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    actor = _actor(request)
    world.require_write(found, actor)
    body = await json_body(request)
    for required in ("message", "content"):
        if not isinstance(body.get(required), str):
            raise validation_failed("Contents", required, "missing_field")
    try:
        text = base64.b64decode(body["content"], validate=True).decode()
    except ValueError as error:
        raise SimError(422, "content is not valid Base64") from error
    created, commit = world.put_file(
        found,
        path=path.strip("/"),
        text=text,
        message=body["message"],
        branch=body.get("branch"),
        sha=body.get("sha"),
        actor=actor,
    )
    ref = body.get("branch") or found.default_branch
    content = _content_json(world, found, path.strip("/"), text, ref)
    content.pop("content")
    content.pop("encoding")
    document = {
        "content": content,
        "commit": {
            "sha": commit.sha,
            "url": f"{world.repo_base(found)}/git/commits/{commit.sha}",
            "html_url": f"{world.repo_html(found)}/commit/{commit.sha}",
            "message": commit.message,
            "parents": [{"sha": parent} for parent in commit.parents],
            "tree": {"sha": commit.tree_sha},
        },
    }
    return json_answer(request, document, status=201 if created else 200)


# -- issues -----------------------------------------------------------------------------------
@github_router.get(REPO + "/issues")
async def list_issues(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    state = request.query_params.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise validation_failed("Issue", "state", "invalid")
    wanted_labels = {
        name.strip().lower()
        for name in request.query_params.get("labels", "").split(",")
        if name.strip()
    }
    issues = [
        issue
        for issue in sorted(found.issues.values(), key=lambda item: item.number, reverse=True)
        if (state == "all" or issue.state == state)
        and wanted_labels <= {name.lower() for name in issue.label_names}
    ]
    if request.query_params.get("direction") == "asc":
        issues.reverse()
    page, headers = paginate(request, issues)
    return json_answer(request, [world.issue_json(found, issue) for issue in page], headers=headers)


@github_router.post(REPO + "/issues")
async def create_issue(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    body = await json_body(request)
    title = body.get("title")
    if not isinstance(title, str):
        raise validation_failed("Issue", "title", "missing_field")
    issue = world.create_issue(
        found,
        actor=_actor(request),
        title=title,
        body=body.get("body"),
        labels=[str(name) for name in body.get("labels") or []],
        assignees=[str(login) for login in body.get("assignees") or []],
    )
    return json_answer(
        request,
        world.issue_json(found, issue),
        status=201,
        headers={"Location": f"{world.repo_base(found)}/issues/{issue.number}"},
    )


@github_router.get(REPO + "/issues/{issue_number:int}")
async def get_issue(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    return json_answer(request, world.issue_json(found, world.find_issue(found, issue_number)))


@github_router.patch(REPO + "/issues/{issue_number:int}")
async def update_issue(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    issue = world.find_issue(found, issue_number)
    body = await json_body(request)
    labels = body.get("labels")
    world.update_issue(
        found,
        issue,
        actor=_actor(request),
        title=body.get("title"),
        body=body.get("body"),
        state=body.get("state"),
        state_reason=body.get("state_reason"),
        labels=None if labels is None else [_label_name(item) for item in labels],
    )
    return json_answer(request, world.issue_json(found, issue))


def _label_name(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("name", ""))
    return str(item)


# -- comments ---------------------------------------------------------------------------------
@github_router.get(REPO + "/issues/comments/{comment_id:int}")
async def get_comment(request: Request, owner: str, repo: str, comment_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    return json_answer(request, world.comment_json(found, world.find_comment(found, comment_id)))


@github_router.patch(REPO + "/issues/comments/{comment_id:int}")
async def update_comment(request: Request, owner: str, repo: str, comment_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    comment = world.find_comment(found, comment_id)
    body = await json_body(request)
    if not isinstance(body.get("body"), str):
        raise validation_failed("IssueComment", "body", "missing_field")
    world.update_comment(found, comment, actor=_actor(request), body=body["body"])
    return json_answer(request, world.comment_json(found, comment))


@github_router.delete(REPO + "/issues/comments/{comment_id:int}")
async def delete_comment(request: Request, owner: str, repo: str, comment_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.delete_comment(found, world.find_comment(found, comment_id), actor=_actor(request))
    return Response(status_code=204)


@github_router.get(REPO + "/issues/{issue_number:int}/comments")
async def list_comments(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    issue = world.find_issue(found, issue_number)
    comments = sorted(
        (item for item in found.comments.values() if item.issue_number == issue.number),
        key=lambda item: item.id,
    )
    page, headers = paginate(request, comments)
    return json_answer(request, [world.comment_json(found, item) for item in page], headers=headers)


@github_router.post(REPO + "/issues/{issue_number:int}/comments")
async def create_comment(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    issue = world.find_issue(found, issue_number)
    body = await json_body(request)
    if not isinstance(body.get("body"), str):
        raise validation_failed("IssueComment", "body", "missing_field")
    comment = world.create_comment(found, issue, actor=_actor(request), body=body["body"])
    return json_answer(
        request,
        world.comment_json(found, comment),
        status=201,
        headers={"Location": f"{world.repo_base(found)}/issues/comments/{comment.id}"},
    )


# -- labels -----------------------------------------------------------------------------------
@github_router.get(REPO + "/labels")
async def list_repo_labels(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    page, headers = paginate(request, found.labels)
    base = world.repo_base(found)
    return json_answer(
        request, [world.renderer.label(base, item) for item in page], headers=headers
    )


@github_router.post(REPO + "/labels")
async def create_repo_label(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.require_write(found, _actor(request))
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise validation_failed("Label", "name", "missing_field")
    label = world.create_label(
        found,
        name=name,
        color=str(body.get("color") or "ededed"),
        description=body.get("description"),
    )
    return json_answer(request, world.renderer.label(world.repo_base(found), label), status=201)


@github_router.get(REPO + "/labels/{name}")
async def get_repo_label(request: Request, owner: str, repo: str, name: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    return json_answer(
        request, world.renderer.label(world.repo_base(found), world.find_label(found, name))
    )


def _issue_labels_answer(request: Request, world: World, repo: Repository, number: int) -> Response:
    issue = world.find_issue(repo, number)
    base = world.repo_base(repo)
    return json_answer(
        request, [world.renderer.label(base, label) for label in world.labels_of(repo, issue)]
    )


async def _label_names_from_body(request: Request) -> list[str]:
    raw = await request.body()
    try:
        document = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise SimError(400, "Problems parsing JSON") from error
    # GitHub accepts {"labels": [...]}, a bare list, or label objects.
    items = document.get("labels", []) if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise validation_failed("Label", "labels", "invalid")
    return [_label_name(item) for item in items]


@github_router.get(REPO + "/issues/{issue_number:int}/labels")
async def list_issue_labels(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = _world(request)
    return _issue_labels_answer(request, world, _repo(request, owner, repo), issue_number)


@github_router.post(REPO + "/issues/{issue_number:int}/labels")
async def add_issue_labels(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    names = await _label_names_from_body(request)
    world.add_labels(found, world.find_issue(found, issue_number), names, actor=_actor(request))
    return _issue_labels_answer(request, world, found, issue_number)


@github_router.put(REPO + "/issues/{issue_number:int}/labels")
async def set_issue_labels(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    names = await _label_names_from_body(request)
    world.set_labels(found, world.find_issue(found, issue_number), names, actor=_actor(request))
    return _issue_labels_answer(request, world, found, issue_number)


@github_router.delete(REPO + "/issues/{issue_number:int}/labels/{name}")
async def remove_issue_label(
    request: Request, owner: str, repo: str, issue_number: int, name: str
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.remove_label(found, world.find_issue(found, issue_number), name, actor=_actor(request))
    return _issue_labels_answer(request, world, found, issue_number)


# -- reactions --------------------------------------------------------------------------------
async def _react(
    request: Request, world: World, repo: Repository, reactions: list[Any]
) -> Response:
    body = await json_body(request)
    actor = _actor(request)
    created, reaction = world.add_reaction(reactions, actor=actor, content=str(body.get("content")))
    return json_answer(
        request, world.renderer.reaction(reaction, actor), status=201 if created else 200
    )


def _list_reactions(request: Request, world: World, reactions: list[Any]) -> Response:
    content = request.query_params.get("content")
    chosen = [item for item in reactions if content is None or item.content == content]
    page, headers = paginate(request, chosen)
    return json_answer(
        request,
        [world.renderer.reaction(item, world.account(item.user_id)) for item in page],
        headers=headers,
    )


@github_router.get(REPO + "/issues/{issue_number:int}/reactions")
async def list_issue_reactions(
    request: Request, owner: str, repo: str, issue_number: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    return _list_reactions(request, world, world.find_issue(found, issue_number).reactions)


@github_router.post(REPO + "/issues/{issue_number:int}/reactions")
async def add_issue_reaction(
    request: Request, owner: str, repo: str, issue_number: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    return await _react(request, world, found, world.find_issue(found, issue_number).reactions)


@github_router.get(REPO + "/issues/comments/{comment_id:int}/reactions")
async def list_comment_reactions(
    request: Request, owner: str, repo: str, comment_id: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    return _list_reactions(request, world, world.find_comment(found, comment_id).reactions)


@github_router.post(REPO + "/issues/comments/{comment_id:int}/reactions")
async def add_comment_reaction(
    request: Request, owner: str, repo: str, comment_id: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    return await _react(request, world, found, world.find_comment(found, comment_id).reactions)


# -- pull requests ----------------------------------------------------------------------------
def _wants_diff(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/vnd.github.diff" in accept or "application/vnd.github.v3.diff" in accept


@github_router.get(REPO + "/pulls")
async def list_pulls(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
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


@github_router.post(REPO + "/pulls")
async def create_pull(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    body = await json_body(request)
    for required in ("head", "base"):
        if not isinstance(body.get(required), str):
            raise validation_failed("PullRequest", required, "missing_field")
    issue = world.create_pull(
        found,
        actor=_actor(request),
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


@github_router.get(REPO + "/pulls/{pull_number:int}")
async def get_pull(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    issue = world.find_pull(found, pull_number)
    if _wants_diff(request) and issue.pull is not None:
        return Response(
            diffs.full_diff(issue.pull.files),
            media_type="application/vnd.github.diff; charset=utf-8",
        )
    return json_answer(request, world.pull_json(found, issue))


@github_router.get(REPO + "/pulls/{pull_number:int}/files")
async def list_pull_files(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
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


@github_router.get(REPO + "/pulls/{pull_number:int}/commits")
async def list_pull_commits(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
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


@github_router.get(REPO + "/pulls/{pull_number:int}/reviews")
async def list_reviews(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    issue = world.find_pull(found, pull_number)
    reviews = sorted(
        (item.id for item in found.reviews.values() if item.pull_number == issue.number),
    )
    page, headers = paginate(request, reviews)
    return json_answer(
        request, [_review_json(world, found, item) for item in page], headers=headers
    )


@github_router.post(REPO + "/pulls/{pull_number:int}/reviews")
async def create_review(request: Request, owner: str, repo: str, pull_number: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    issue = world.find_pull(found, pull_number)
    body = await json_body(request)
    comments = body.get("comments") or []
    if not isinstance(comments, list) or not all(isinstance(item, dict) for item in comments):
        raise SimError(422, "Unprocessable Entity", ["comments must be a list of objects"])
    review = world.create_review(
        found,
        issue,
        actor=_actor(request),
        body=str(body.get("body") or ""),
        event=body.get("event"),
        commit_id=body.get("commit_id"),
        comments=comments,
    )
    return json_answer(request, _review_json(world, found, review.id))


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


@github_router.get(REPO + "/pulls/{pull_number:int}/comments")
async def list_review_comments(
    request: Request, owner: str, repo: str, pull_number: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    issue = world.find_pull(found, pull_number)
    ids = sorted(
        item.id for item in found.review_comments.values() if item.pull_number == issue.number
    )
    page, headers = paginate(request, ids)
    return json_answer(
        request, [_review_comment_json(world, found, item) for item in page], headers=headers
    )


@github_router.post(REPO + "/pulls/{pull_number:int}/comments")
async def create_review_comment(
    request: Request, owner: str, repo: str, pull_number: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    issue = world.find_pull(found, pull_number)
    body = await json_body(request)
    comment = world.create_single_review_comment(found, issue, actor=_actor(request), spec=body)
    return json_answer(request, _review_comment_json(world, found, comment.id), status=201)


@github_router.get(REPO + "/commits/{commit_sha}/pulls")
async def pulls_for_commit(request: Request, owner: str, repo: str, commit_sha: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    pulls = world.pulls_for_commit(found, commit_sha)
    page, headers = paginate(request, pulls)
    return json_answer(request, [world.pull_json(found, issue) for issue in page], headers=headers)


@github_router.get(REPO + "/commits/{ref}")
async def get_commit(request: Request, owner: str, repo: str, ref: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
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


# -- check runs -------------------------------------------------------------------------------
@github_router.post(REPO + "/check-runs")
async def create_check_run(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    _require_app_token(request)
    body = await json_body(request)
    run = world.create_check_run(found, actor=_actor(request), body=body)
    return json_answer(request, world.check_run_json(found, run), status=201)


def _require_app_token(request: Request) -> None:
    # GitHub only lets GitHub Apps write check runs; personal tokens get 403.
    if _principal(request).kind != "installation":
        raise SimError(403, "You must authenticate via a GitHub App.")


@github_router.get(REPO + "/check-runs/{check_run_id:int}")
async def get_check_run(request: Request, owner: str, repo: str, check_run_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    return json_answer(
        request, world.check_run_json(found, world.find_check_run(found, check_run_id))
    )


@github_router.patch(REPO + "/check-runs/{check_run_id:int}")
async def update_check_run(request: Request, owner: str, repo: str, check_run_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    _require_app_token(request)
    run = world.find_check_run(found, check_run_id)
    body = await json_body(request)
    world.update_check_run(found, run, actor=_actor(request), body=body)
    return json_answer(request, world.check_run_json(found, run))


@github_router.get(REPO + "/check-runs/{check_run_id:int}/annotations")
async def list_annotations(request: Request, owner: str, repo: str, check_run_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    run = world.find_check_run(found, check_run_id)
    page, headers = paginate(request, run.annotations)
    html = world.repo_html(found)
    return json_answer(
        request,
        [
            world.renderer.annotation(repo_html=html, head_sha=run.head_sha, annotation=item)
            for item in page
        ],
        headers=headers,
    )


@github_router.get(REPO + "/commits/{ref:path}/check-runs")
async def check_runs_for_ref(request: Request, owner: str, repo: str, ref: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    sha = world.resolve_ref(found, ref)
    name = request.query_params.get("check_name")
    status = request.query_params.get("status")
    runs = [
        run
        for run in sorted(found.check_runs.values(), key=lambda item: item.id, reverse=True)
        if run.head_sha == sha
        and (name is None or run.name == name)
        and (status is None or run.status == status)
    ]
    page, headers = paginate(request, runs)
    document = {
        "total_count": len(runs),
        "check_runs": [world.check_run_json(found, run) for run in page],
    }
    return json_answer(request, document, headers=headers)


# -- actions ----------------------------------------------------------------------------------
@github_router.get(REPO + "/actions/runs/{run_id:int}")
async def get_workflow_run(request: Request, owner: str, repo: str, run_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    return json_answer(
        request, world.workflow_run_json(found, world.find_workflow_run(found, run_id))
    )


@github_router.get(REPO + "/actions/runs/{run_id:int}/jobs")
async def list_run_jobs(request: Request, owner: str, repo: str, run_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    run = world.find_workflow_run(found, run_id)
    page, headers = paginate(request, run.jobs)
    owner_account = world.owner_of(found)
    document = {
        "total_count": len(run.jobs),
        "jobs": [
            world.renderer.job(repo=found, owner=owner_account, run=run, job=job) for job in page
        ],
    }
    return json_answer(request, document, headers=headers)


@github_router.get(REPO + "/actions/jobs/{job_id:int}/logs")
async def job_logs(request: Request, owner: str, repo: str, job_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    world.find_job(found, job_id)
    # GitHub answers with a short-lived redirect to blob storage holding the plain-text log.
    token = secrets.token_urlsafe(12)
    location = f"{world.renderer.api}/_sim/blobs/job-logs/{found.id}/{job_id}?sig={token}"
    return RedirectResponse(location, status_code=302)


# -- collaborators ----------------------------------------------------------------------------
@github_router.get(REPO + "/collaborators/{username}/permission")
async def collaborator_permission(
    request: Request, owner: str, repo: str, username: str
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo)
    account = world.require_account(username)
    role = world.permission(found, account)
    # The legacy `permission` field folds maintain into write and triage into read.
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)
    user = {
        **world.renderer.user(account),
        "permissions": _permission_flags(role),
        "role_name": role,
    }
    return json_answer(request, {"permission": legacy, "role_name": role, "user": user})


def _permission_flags(role: str) -> dict[str, bool]:
    order = ["read", "triage", "write", "maintain", "admin"]
    rank = order.index(role) if role in order else -1
    return {
        "pull": rank >= 0,
        "triage": rank >= 1,
        "push": rank >= 2,
        "maintain": rank >= 3,
        "admin": rank >= 4,
    }


# -- rate limit -------------------------------------------------------------------------------
@github_router.get("/rate_limit")
async def rate_limit(request: Request) -> Response:
    sim = simulator_of(request)
    window = sim.limits.window(_principal(request).rate_key, now=int(sim.world.now().timestamp()))
    core = {
        "limit": window.limit,
        "remaining": max(window.limit - window.used, 0),
        "reset": window.reset,
        "used": window.used,
        "resource": "core",
    }
    search = {"limit": 30, "remaining": 30, "reset": window.reset, "used": 0, "resource": "search"}
    return json_answer(request, {"resources": {"core": core, "search": search}, "rate": core})


# -- hooks and deliveries -----------------------------------------------------------------------
@github_router.get(REPO + "/hooks")
async def list_hooks(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.require_write(found, _actor(request), minimum="admin")
    base = world.repo_base(found)
    hooks = sorted(found.hooks.values(), key=lambda item: item.id)
    page, headers = paginate(request, hooks)
    return json_answer(
        request, [world.renderer.hook(repo_base=base, hook=item) for item in page], headers=headers
    )


@github_router.post(REPO + "/hooks")
async def create_hook(request: Request, owner: str, repo: str) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.require_write(found, _actor(request), minimum="admin")
    body = await json_body(request)
    config = body.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("url"), str):
        raise validation_failed("Hook", "config.url", "missing_field")
    events = body.get("events") or ["push"]
    hook = world.create_hook(
        found,
        url=config["url"],
        secret=config.get("secret"),
        events=[str(item) for item in events],
        active=bool(body.get("active", True)),
    )
    return json_answer(
        request, world.renderer.hook(repo_base=world.repo_base(found), hook=hook), status=201
    )


def _deliveries_for(sim: Simulator, target: str) -> list[Delivery]:
    return sorted(
        (item for item in sim.world.data.deliveries if item.target == target),
        key=lambda item: item.id,
        reverse=True,
    )


def _find_delivery(sim: Simulator, target: str, delivery_id: int) -> Delivery:
    for item in sim.world.data.deliveries:
        if item.target == target and item.id == delivery_id:
            return item
    raise not_found()


def _deliveries_answer(request: Request, sim: Simulator, target: str) -> Response:
    items = _deliveries_for(sim, target)
    status = request.query_params.get("status")
    if status is not None:
        # GitHub's filter: `success` is any 2xx, `failure` anything else.
        items = [item for item in items if (200 <= item.status_code < 300) == (status == "success")]
    page, headers = cursor_paginate(request, items, cursor_of=lambda item: str(item.id))
    renderer = sim.world.renderer
    return json_answer(request, [renderer.delivery_item(item) for item in page], headers=headers)


def _redeliver(sim: Simulator, original: Delivery) -> Response:
    sim.worker.submit(redelivery_of(sim.world, original))
    return Response(content=b"{}", status_code=202, media_type="application/json")


@github_router.get(REPO + "/hooks/{hook_id:int}/deliveries")
async def list_hook_deliveries(request: Request, owner: str, repo: str, hook_id: int) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.require_write(found, _actor(request), minimum="admin")
    if hook_id not in found.hooks:
        raise not_found()
    return _deliveries_answer(request, simulator_of(request), f"hook:{hook_id}")


@github_router.get(REPO + "/hooks/{hook_id:int}/deliveries/{delivery_id:int}")
async def get_hook_delivery(
    request: Request, owner: str, repo: str, hook_id: int, delivery_id: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.require_write(found, _actor(request), minimum="admin")
    sim = simulator_of(request)
    delivery = _find_delivery(sim, f"hook:{hook_id}", delivery_id)
    return json_answer(request, world.renderer.delivery(delivery, json.loads(delivery.payload)))


@github_router.post(REPO + "/hooks/{hook_id:int}/deliveries/{delivery_id:int}/attempts")
async def redeliver_hook_delivery(
    request: Request, owner: str, repo: str, hook_id: int, delivery_id: int
) -> Response:
    world = _world(request)
    found = _repo(request, owner, repo, write=True)
    world.require_write(found, _actor(request), minimum="admin")
    sim = simulator_of(request)
    return _redeliver(sim, _find_delivery(sim, f"hook:{hook_id}", delivery_id))


# -- the App ----------------------------------------------------------------------------------
def _require_jwt(request: Request) -> None:
    principal = _principal(request)
    if principal.kind != "app":
        raise SimError(
            401,
            "A JSON web token could not be decoded",
        )


@github_router.get("/app")
async def get_app(request: Request) -> Response:
    _require_jwt(request)
    world = _world(request)
    document = world.renderer.app(world.app_identity())
    document["installations_count"] = len(world.data.installations)
    return json_answer(request, document)


@github_router.get("/app/installations")
async def list_installations(request: Request) -> Response:
    _require_jwt(request)
    world = _world(request)
    identity = world.app_identity()
    items = sorted(world.data.installations.values(), key=lambda item: item.id)
    page, headers = paginate(request, items)
    return json_answer(
        request,
        [
            world.renderer.installation(
                installation=item, account=world.account(item.account_id), identity=identity
            )
            for item in page
        ],
        headers=headers,
    )


@github_router.get(REPO + "/installation")
async def repo_installation(request: Request, owner: str, repo: str) -> Response:
    _require_jwt(request)
    world = _world(request)
    installation = world.installation_for_repo(world.find_repo(owner, repo))
    if installation is None:
        raise not_found()
    return json_answer(
        request,
        world.renderer.installation(
            installation=installation,
            account=world.account(installation.account_id),
            identity=world.app_identity(),
        ),
    )


@github_router.post("/app/installations/{installation_id:int}/access_tokens")
async def create_installation_token(request: Request, installation_id: int) -> Response:
    _require_jwt(request)
    world = _world(request)
    installation = world.find_installation(installation_id)
    body = await json_body(request)
    names = body.get("repositories")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(name, str) for name in names)
    ):
        raise validation_failed("InstallationToken", "repositories", "invalid")
    issued = world.issue_installation_token(
        installation, f"ghs_{secrets.token_urlsafe(27)}", repository_names=names
    )
    document = {
        "token": issued.token,
        "expires_at": iso(issued.expires_at),
        "permissions": world.renderer.app(world.app_identity())["permissions"],
        "repository_selection": installation.repository_selection,
    }
    return json_answer(request, document, status=201)


@github_router.get("/installation/repositories")
async def installation_repositories(request: Request) -> Response:
    principal = _principal(request)
    if principal.kind == "anonymous":
        raise requires_authentication()
    if principal.token is None:
        raise SimError(403, "Resource not accessible by integration")
    world = _world(request)
    repos = world.token_repos(principal.token)
    selection = world.find_installation(principal.token.installation_id).repository_selection
    page, headers = paginate(request, repos)
    document = {
        "total_count": len(repos),
        "repository_selection": selection if principal.token.repository_ids is None else "selected",
        "repositories": [world.repo_json(repo) for repo in page],
    }
    return json_answer(request, document, headers=headers)


@github_router.get("/app/hook/deliveries")
async def list_app_deliveries(request: Request) -> Response:
    _require_jwt(request)
    return _deliveries_answer(request, simulator_of(request), "app")


@github_router.get("/app/hook/deliveries/{delivery_id:int}")
async def get_app_delivery(request: Request, delivery_id: int) -> Response:
    _require_jwt(request)
    sim = simulator_of(request)
    delivery = _find_delivery(sim, "app", delivery_id)
    return json_answer(request, sim.world.renderer.delivery(delivery, json.loads(delivery.payload)))


@github_router.post("/app/hook/deliveries/{delivery_id:int}/attempts")
async def redeliver_app_delivery(request: Request, delivery_id: int) -> Response:
    _require_jwt(request)
    sim = simulator_of(request)
    return _redeliver(sim, _find_delivery(sim, "app", delivery_id))
