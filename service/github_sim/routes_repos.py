"""GitHub's REST paths for accounts, repositories, contents, issues, comments, labels, reactions."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.github_sim.auth import requires_authentication
from service.github_sim.http import json_answer, json_body, paginate
from service.github_sim.models import Account, Repository
from service.github_sim.render import Json
from service.github_sim.routes_common import (
    REPO,
    acting_account,
    principal_of,
    visible_repo,
    world_of,
)
from service.github_sim.server import simulator_of
from service.github_sim.world import SimError, World, blob_sha, not_found, validation_failed

router = APIRouter()


# -- users and repositories -------------------------------------------------------------------
@router.get("/user")
async def get_user(request: Request) -> Response:
    principal = principal_of(request)
    if principal.kind == "anonymous":
        raise requires_authentication()
    if principal.kind != "user" or principal.account is None:
        raise SimError(403, "Resource not accessible by integration")
    world = world_of(request)
    account = principal.account
    owned = sum(1 for repo in world.data.repositories.values() if repo.owner_id == account.id)
    return json_answer(request, world.renderer.private_user(account, public_repos=owned))


@router.get("/users/{username}")
async def get_account(request: Request, username: str) -> Response:
    world = world_of(request)
    account = world.require_account(username)
    owned = sum(1 for repo in world.data.repositories.values() if repo.owner_id == account.id)
    return json_answer(request, world.renderer.public_user(account, public_repos=owned))


async def _create_repo(request: Request, owner: Account) -> Response:
    world = world_of(request)
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise validation_failed("Repository", "name", "missing_field")
    repo = world.create_repository(
        owner=owner,
        name=name,
        actor=acting_account(request),
        description=body.get("description"),
        private=bool(body.get("private", False)),
        files={"README.md": f"# {name}\n"} if body.get("auto_init") else {},
    )
    return json_answer(request, world.repo_json(repo), status=201)


@router.post("/user/repos")
async def create_user_repo(request: Request) -> Response:
    principal = principal_of(request)
    if principal.kind != "user" or principal.account is None:
        raise (
            requires_authentication()
            if principal.kind == "anonymous"
            else SimError(403, "Resource not accessible by integration")
        )
    return await _create_repo(request, principal.account)


@router.post("/orgs/{org}/repos")
async def create_org_repo(request: Request, org: str) -> Response:
    world = world_of(request)
    actor = acting_account(request)
    owner = world.account_by_login(org)
    if owner is None or owner.type != "Organization":
        raise not_found()
    principal = principal_of(request)
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


@router.get(REPO)
async def get_repo(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    document = world.repo_json(found, full=True)
    principal = principal_of(request)
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


@router.get(REPO + "/contents/{path:path}")
async def get_contents(request: Request, owner: str, repo: str, path: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
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


@router.put(REPO + "/contents/{path:path}")
async def put_contents(request: Request, owner: str, repo: str, path: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    actor = acting_account(request)
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
@router.get(REPO + "/issues")
async def list_issues(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
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


@router.post(REPO + "/issues")
async def create_issue(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    body = await json_body(request)
    title = body.get("title")
    if not isinstance(title, str):
        raise validation_failed("Issue", "title", "missing_field")
    issue = world.create_issue(
        found,
        actor=acting_account(request),
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


@router.get(REPO + "/issues/{issue_number:int}")
async def get_issue(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    return json_answer(request, world.issue_json(found, world.find_issue(found, issue_number)))


@router.patch(REPO + "/issues/{issue_number:int}")
async def update_issue(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    issue = world.find_issue(found, issue_number)
    body = await json_body(request)
    labels = body.get("labels")
    world.update_issue(
        found,
        issue,
        actor=acting_account(request),
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
@router.get(REPO + "/issues/comments/{comment_id:int}")
async def get_comment(request: Request, owner: str, repo: str, comment_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    return json_answer(request, world.comment_json(found, world.find_comment(found, comment_id)))


@router.patch(REPO + "/issues/comments/{comment_id:int}")
async def update_comment(request: Request, owner: str, repo: str, comment_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    comment = world.find_comment(found, comment_id)
    body = await json_body(request)
    if not isinstance(body.get("body"), str):
        raise validation_failed("IssueComment", "body", "missing_field")
    world.update_comment(found, comment, actor=acting_account(request), body=body["body"])
    return json_answer(request, world.comment_json(found, comment))


@router.delete(REPO + "/issues/comments/{comment_id:int}")
async def delete_comment(request: Request, owner: str, repo: str, comment_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.delete_comment(
        found, world.find_comment(found, comment_id), actor=acting_account(request)
    )
    return Response(status_code=204)


@router.get(REPO + "/issues/{issue_number:int}/comments")
async def list_comments(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    issue = world.find_issue(found, issue_number)
    comments = sorted(
        (item for item in found.comments.values() if item.issue_number == issue.number),
        key=lambda item: item.id,
    )
    page, headers = paginate(request, comments)
    return json_answer(request, [world.comment_json(found, item) for item in page], headers=headers)


@router.post(REPO + "/issues/{issue_number:int}/comments")
async def create_comment(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    issue = world.find_issue(found, issue_number)
    body = await json_body(request)
    if not isinstance(body.get("body"), str):
        raise validation_failed("IssueComment", "body", "missing_field")
    comment = world.create_comment(found, issue, actor=acting_account(request), body=body["body"])
    return json_answer(
        request,
        world.comment_json(found, comment),
        status=201,
        headers={"Location": f"{world.repo_base(found)}/issues/comments/{comment.id}"},
    )


# -- labels -----------------------------------------------------------------------------------
@router.get(REPO + "/labels")
async def list_repo_labels(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    page, headers = paginate(request, found.labels)
    base = world.repo_base(found)
    return json_answer(
        request, [world.renderer.label(base, item) for item in page], headers=headers
    )


@router.post(REPO + "/labels")
async def create_repo_label(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.require_write(found, acting_account(request))
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


@router.get(REPO + "/labels/{name}")
async def get_repo_label(request: Request, owner: str, repo: str, name: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
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


@router.get(REPO + "/issues/{issue_number:int}/labels")
async def list_issue_labels(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = world_of(request)
    return _issue_labels_answer(request, world, visible_repo(request, owner, repo), issue_number)


@router.post(REPO + "/issues/{issue_number:int}/labels")
async def add_issue_labels(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    names = await _label_names_from_body(request)
    world.add_labels(
        found, world.find_issue(found, issue_number), names, actor=acting_account(request)
    )
    return _issue_labels_answer(request, world, found, issue_number)


@router.put(REPO + "/issues/{issue_number:int}/labels")
async def set_issue_labels(request: Request, owner: str, repo: str, issue_number: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    names = await _label_names_from_body(request)
    world.set_labels(
        found, world.find_issue(found, issue_number), names, actor=acting_account(request)
    )
    return _issue_labels_answer(request, world, found, issue_number)


@router.delete(REPO + "/issues/{issue_number:int}/labels/{name}")
async def remove_issue_label(
    request: Request, owner: str, repo: str, issue_number: int, name: str
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.remove_label(
        found, world.find_issue(found, issue_number), name, actor=acting_account(request)
    )
    return _issue_labels_answer(request, world, found, issue_number)


# -- reactions --------------------------------------------------------------------------------
async def _react(
    request: Request, world: World, repo: Repository, reactions: list[Any]
) -> Response:
    body = await json_body(request)
    actor = acting_account(request)
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


@router.get(REPO + "/issues/{issue_number:int}/reactions")
async def list_issue_reactions(
    request: Request, owner: str, repo: str, issue_number: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    return _list_reactions(request, world, world.find_issue(found, issue_number).reactions)


@router.post(REPO + "/issues/{issue_number:int}/reactions")
async def add_issue_reaction(
    request: Request, owner: str, repo: str, issue_number: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    return await _react(request, world, found, world.find_issue(found, issue_number).reactions)


@router.get(REPO + "/issues/comments/{comment_id:int}/reactions")
async def list_comment_reactions(
    request: Request, owner: str, repo: str, comment_id: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    return _list_reactions(request, world, world.find_comment(found, comment_id).reactions)


@router.post(REPO + "/issues/comments/{comment_id:int}/reactions")
async def add_comment_reaction(
    request: Request, owner: str, repo: str, comment_id: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    return await _react(request, world, found, world.find_comment(found, comment_id).reactions)


# -- collaborators ----------------------------------------------------------------------------
@router.get(REPO + "/collaborators/{username}/permission")
async def collaborator_permission(
    request: Request, owner: str, repo: str, username: str
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
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
@router.get("/rate_limit")
async def rate_limit(request: Request) -> Response:
    sim = simulator_of(request)
    window = sim.limits.window(principal_of(request).rate_key, now=int(sim.world.now().timestamp()))
    core = {
        "limit": window.limit,
        "remaining": max(window.limit - window.used, 0),
        "reset": window.reset,
        "used": window.used,
        "resource": "core",
    }
    search = {"limit": 30, "remaining": 30, "reset": window.reset, "used": 0, "resource": "search"}
    return json_answer(request, {"resources": {"core": core, "search": search}, "rate": core})
