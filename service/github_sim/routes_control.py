"""The control plane under `/_sim`: set up the world, drive it, inspect it, break it.

These paths never collide with GitHub's and need no credentials: the simulator is a local tool.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from service.github_sim.faults import FaultSpec
from service.github_sim.http import json_answer, json_body
from service.github_sim.models import Permission
from service.github_sim.server import CONTROL_PREFIX, simulator_of
from service.github_sim.world import SimError, World, not_found

control_router = APIRouter(prefix=CONTROL_PREFIX)


class UserSpec(BaseModel):
    login: str
    token: str | None = None
    type: Literal["User", "Organization"] = "User"
    admins: list[str] = Field(default_factory=list)
    """For an organization: the users who administer it."""


class RepoSpec(BaseModel):
    owner: str
    name: str
    owner_type: Literal["User", "Organization"] = "User"
    description: str | None = None
    private: bool = False
    default_branch: str = "main"
    files: dict[str, str] | None = None


class InstallationSpec(BaseModel):
    account: str
    repositories: list[str] | None = None
    """None installs on every repository of the account, now and later."""


class PermissionSpec(BaseModel):
    permission: Permission


class AppHookSpec(BaseModel):
    url: str
    secret: str | None = None
    events: list[str] = Field(default_factory=list)


class PushSpec(BaseModel):
    branch: str
    files: dict[str, str | None]
    message: str = "Update files"
    author: str
    from_branch: str | None = None


class PullSpec(BaseModel):
    title: str
    head: str
    base: str | None = None
    body: str | None = None
    author: str
    draft: bool = False
    files: dict[str, str | None] | None = None
    """When given, pushed to `head` (branched from `base`) before the pull request opens."""


class IssueSpec(BaseModel):
    title: str
    body: str | None = None
    author: str
    labels: list[str] = Field(default_factory=list)


class CommentSpec(BaseModel):
    body: str
    author: str


class JobSpec(BaseModel):
    name: str = "build"
    log: str = ""


class RunSpec(BaseModel):
    name: str = "CI"
    head_branch: str | None = None
    head_sha: str | None = None
    event: str = "push"
    actor: str | None = None
    path: str | None = None
    jobs: list[JobSpec] = Field(default_factory=lambda: [JobSpec()])


class CompleteRunSpec(BaseModel):
    conclusion: Literal["success", "failure", "cancelled", "skipped", "timed_out", "neutral"]
    jobs: dict[str, str] = Field(default_factory=dict)
    """Job name to conclusion, where it differs from the run's."""
    logs: dict[str, str] = Field(default_factory=dict)


class ConfigSpec(BaseModel):
    installation_token_ttl_s: float | None = None


ModelT = TypeVar("ModelT", bound=BaseModel)


async def _parse(request: Request, model: type[ModelT]) -> ModelT:
    body = await json_body(request)
    try:
        return model.model_validate(body)
    except ValueError as error:
        raise SimError(422, f"invalid control-plane request: {error}") from error


def _world(request: Request) -> World:
    return simulator_of(request).world


@control_router.get("/health")
async def health(request: Request) -> Response:
    return json_answer(request, {"ok": True})


@control_router.post("/reset")
async def reset(request: Request) -> Response:
    simulator_of(request).reset()
    return Response(status_code=204)


@control_router.put("/config")
async def configure(request: Request) -> Response:
    spec = await _parse(request, ConfigSpec)
    world = _world(request)
    if spec.installation_token_ttl_s is not None:
        if world.app is None:
            raise SimError(409, "no App configured (start with --app-id and --app-key)")
        world.app.installation_token_ttl = timedelta(seconds=spec.installation_token_ttl_s)
    return Response(status_code=204)


@control_router.post("/users")
async def create_user(request: Request) -> Response:
    spec = await _parse(request, UserSpec)
    world = _world(request)
    account = world.ensure_account(spec.login, kind=spec.type)
    if spec.token:
        world.data.user_tokens[spec.token] = account.id
    if spec.type == "Organization":
        admins = world.data.org_admins.setdefault(account.id, [])
        for login in spec.admins:
            world.ensure_account(login)
            admins.append(login)
    return json_answer(request, world.renderer.user(account), status=201)


@control_router.post("/repos")
async def create_repo(request: Request) -> Response:
    spec = await _parse(request, RepoSpec)
    world = _world(request)
    owner = world.ensure_account(spec.owner, kind=spec.owner_type)
    repo = world.create_repository(
        owner=owner,
        name=spec.name,
        actor=owner if owner.type == "User" else world.ensure_account("sim-admin"),
        description=spec.description,
        private=spec.private,
        default_branch=spec.default_branch,
        files=spec.files,
    )
    return json_answer(request, world.repo_json(repo, full=True), status=201)


@control_router.post("/installations")
async def create_installation(request: Request) -> Response:
    spec = await _parse(request, InstallationSpec)
    world = _world(request)
    installation = world.create_installation(
        account=world.require_account(spec.account), repository_names=spec.repositories
    )
    document = world.renderer.installation(
        installation=installation,
        account=world.account(installation.account_id),
        identity=world.app_identity(),
    )
    return json_answer(request, document, status=201)


@control_router.put("/repos/{owner}/{repo}/collaborators/{login}")
async def set_permission(request: Request, owner: str, repo: str, login: str) -> Response:
    spec = await _parse(request, PermissionSpec)
    world = _world(request)
    world.set_permission(world.find_repo(owner, repo), login, spec.permission)
    return Response(status_code=204)


@control_router.put("/app/hook")
async def set_app_hook(request: Request) -> Response:
    spec = await _parse(request, AppHookSpec)
    world = _world(request)
    if world.app is None:
        raise SimError(409, "no App configured (start with --app-id and --app-key)")
    world.data.app_hook.url = spec.url
    world.data.app_hook.secret = spec.secret
    world.data.app_hook.events = spec.events
    return Response(status_code=204)


@control_router.post("/repos/{owner}/{repo}/push")
async def push(request: Request, owner: str, repo: str) -> Response:
    spec = await _parse(request, PushSpec)
    world = _world(request)
    found = world.find_repo(owner, repo)
    commit = world.push(
        found,
        branch=spec.branch,
        changes=spec.files,
        author=world.ensure_account(spec.author),
        message=spec.message,
        from_branch=spec.from_branch,
    )
    return json_answer(request, {"sha": commit.sha, "branch": spec.branch}, status=201)


@control_router.post("/repos/{owner}/{repo}/pulls")
async def open_pull(request: Request, owner: str, repo: str) -> Response:
    spec = await _parse(request, PullSpec)
    world = _world(request)
    found = world.find_repo(owner, repo)
    author = world.ensure_account(spec.author)
    base = spec.base or found.default_branch
    if spec.files is not None:
        world.commit_files(
            found,
            branch=spec.head,
            changes=spec.files,
            author=author,
            message=spec.title,
            from_branch=base,
        )
    issue = world.create_pull(
        found,
        actor=author,
        title=spec.title,
        head=spec.head,
        base=base,
        body=spec.body,
        draft=spec.draft,
    )
    return json_answer(request, world.pull_json(found, issue), status=201)


@control_router.post("/repos/{owner}/{repo}/issues")
async def open_issue(request: Request, owner: str, repo: str) -> Response:
    spec = await _parse(request, IssueSpec)
    world = _world(request)
    found = world.find_repo(owner, repo)
    author = world.ensure_account(spec.author)
    issue = world.create_issue(
        found, actor=author, title=spec.title, body=spec.body, labels=spec.labels, privileged=True
    )
    return json_answer(request, world.issue_json(found, issue), status=201)


@control_router.post("/repos/{owner}/{repo}/issues/{number:int}/comments")
async def add_comment(request: Request, owner: str, repo: str, number: int) -> Response:
    spec = await _parse(request, CommentSpec)
    world = _world(request)
    found = world.find_repo(owner, repo)
    comment = world.create_comment(
        found,
        world.find_issue(found, number),
        actor=world.ensure_account(spec.author),
        body=spec.body,
    )
    return json_answer(request, world.comment_json(found, comment), status=201)


@control_router.post("/repos/{owner}/{repo}/actions/runs")
async def create_run(request: Request, owner: str, repo: str) -> Response:
    spec = await _parse(request, RunSpec)
    world = _world(request)
    found = world.find_repo(owner, repo)
    actor = world.ensure_account(spec.actor) if spec.actor else world.owner_of(found)
    run = world.create_workflow_run(
        found,
        actor=actor,
        name=spec.name,
        head_branch=spec.head_branch,
        head_sha=spec.head_sha,
        event=spec.event,
        jobs=[job.model_dump() for job in spec.jobs],
        path=spec.path,
    )
    return json_answer(request, world.workflow_run_json(found, run), status=201)


@control_router.post("/repos/{owner}/{repo}/actions/runs/{run_id:int}/complete")
async def complete_run(request: Request, owner: str, repo: str, run_id: int) -> Response:
    spec = await _parse(request, CompleteRunSpec)
    world = _world(request)
    found = world.find_repo(owner, repo)
    run = world.complete_workflow_run(
        found,
        world.find_workflow_run(found, run_id),
        conclusion=spec.conclusion,
        job_conclusions=spec.jobs,
        logs=spec.logs,
    )
    return json_answer(request, world.workflow_run_json(found, run))


@control_router.post("/faults")
async def add_fault(request: Request) -> Response:
    spec = await _parse(request, FaultSpec)
    simulator_of(request).faults.add(spec)
    return json_answer(request, spec.model_dump(), status=201)


@control_router.get("/faults")
async def list_faults(request: Request) -> Response:
    return json_answer(request, simulator_of(request).faults.pending())


@control_router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    simulator_of(request).faults.clear()
    return Response(status_code=204)


@control_router.get("/deliveries")
async def list_deliveries(request: Request) -> Response:
    sim = simulator_of(request)
    event = request.query_params.get("event")
    target = request.query_params.get("target")
    documents: list[dict[str, Any]] = []
    for delivery in sim.world.data.deliveries:
        if (event is None or delivery.event == event) and (
            target is None or delivery.target == target
        ):
            document = delivery.model_dump(mode="json")
            document["payload"] = json.loads(delivery.payload)
            documents.append(document)
    return json_answer(request, documents)


@control_router.post("/deliveries/wait")
async def wait_for_deliveries(request: Request) -> Response:
    body = await json_body(request)
    timeout = float(body.get("timeout", 10.0))
    idle = await simulator_of(request).worker.wait_idle(timeout)
    return json_answer(request, {"idle": idle})


@control_router.get("/blobs/job-logs/{repo_id:int}/{job_id:int}")
async def job_log_blob(request: Request, repo_id: int, job_id: int) -> Response:
    world = _world(request)
    repo = world.data.repositories.get(repo_id)
    if repo is None:
        raise not_found()
    _, job = world.find_job(repo, job_id)
    return PlainTextResponse(job.log)


@control_router.get("/raw/{owner}/{repo}/{ref}/{path:path}")
async def raw_file(request: Request, owner: str, repo: str, ref: str, path: str) -> Response:
    world = _world(request)
    found = world.find_repo(owner, repo)
    tree = found.trees[world.resolve_ref(found, ref)]
    if path not in tree:
        raise not_found()
    return PlainTextResponse(tree[path])


@control_router.get("/state")
async def dump_state(request: Request) -> Response:
    return Response(
        _world(request).data.model_dump_json(), media_type="application/json; charset=utf-8"
    )
