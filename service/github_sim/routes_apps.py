"""GitHub's REST paths for check runs, Actions, hooks and deliveries, and the App."""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from service.github_sim.auth import requires_authentication
from service.github_sim.deliveries import redelivery_of
from service.github_sim.http import cursor_paginate, json_answer, json_body, paginate
from service.github_sim.models import Delivery
from service.github_sim.render import iso
from service.github_sim.routes_common import (
    REPO,
    acting_account,
    principal_of,
    visible_repo,
    world_of,
)
from service.github_sim.server import Simulator, simulator_of
from service.github_sim.world import SimError, not_found, validation_failed

router = APIRouter()


# -- check runs -------------------------------------------------------------------------------
@router.post(REPO + "/check-runs")
async def create_check_run(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    _require_app_token(request)
    body = await json_body(request)
    run = world.create_check_run(found, actor=acting_account(request), body=body)
    return json_answer(request, world.check_run_json(found, run), status=201)


def _require_app_token(request: Request) -> None:
    # GitHub only lets GitHub Apps write check runs; personal tokens get 403.
    if principal_of(request).kind != "installation":
        raise SimError(403, "You must authenticate via a GitHub App.")


@router.get(REPO + "/check-runs/{check_run_id:int}")
async def get_check_run(request: Request, owner: str, repo: str, check_run_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    return json_answer(
        request, world.check_run_json(found, world.find_check_run(found, check_run_id))
    )


@router.patch(REPO + "/check-runs/{check_run_id:int}")
async def update_check_run(request: Request, owner: str, repo: str, check_run_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    _require_app_token(request)
    run = world.find_check_run(found, check_run_id)
    body = await json_body(request)
    world.update_check_run(found, run, actor=acting_account(request), body=body)
    return json_answer(request, world.check_run_json(found, run))


@router.get(REPO + "/check-runs/{check_run_id:int}/annotations")
async def list_annotations(request: Request, owner: str, repo: str, check_run_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
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


@router.get(REPO + "/commits/{ref:path}/check-runs")
async def check_runs_for_ref(request: Request, owner: str, repo: str, ref: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
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
@router.get(REPO + "/actions/runs/{run_id:int}")
async def get_workflow_run(request: Request, owner: str, repo: str, run_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    return json_answer(
        request, world.workflow_run_json(found, world.find_workflow_run(found, run_id))
    )


@router.get(REPO + "/actions/runs/{run_id:int}/jobs")
async def list_run_jobs(request: Request, owner: str, repo: str, run_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
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


@router.get(REPO + "/actions/jobs/{job_id:int}/logs")
async def job_logs(request: Request, owner: str, repo: str, job_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo)
    world.find_job(found, job_id)
    # GitHub answers with a short-lived redirect to blob storage holding the plain-text log.
    token = secrets.token_urlsafe(12)
    location = f"{world.renderer.api}/_sim/blobs/job-logs/{found.id}/{job_id}?sig={token}"
    return RedirectResponse(location, status_code=302)


# -- hooks and deliveries -----------------------------------------------------------------------
@router.get(REPO + "/hooks")
async def list_hooks(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.require_write(found, acting_account(request), minimum="admin")
    base = world.repo_base(found)
    hooks = sorted(found.hooks.values(), key=lambda item: item.id)
    page, headers = paginate(request, hooks)
    return json_answer(
        request, [world.renderer.hook(repo_base=base, hook=item) for item in page], headers=headers
    )


@router.post(REPO + "/hooks")
async def create_hook(request: Request, owner: str, repo: str) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.require_write(found, acting_account(request), minimum="admin")
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


@router.get(REPO + "/hooks/{hook_id:int}/deliveries")
async def list_hook_deliveries(request: Request, owner: str, repo: str, hook_id: int) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.require_write(found, acting_account(request), minimum="admin")
    if hook_id not in found.hooks:
        raise not_found()
    return _deliveries_answer(request, simulator_of(request), f"hook:{hook_id}")


@router.get(REPO + "/hooks/{hook_id:int}/deliveries/{delivery_id:int}")
async def get_hook_delivery(
    request: Request, owner: str, repo: str, hook_id: int, delivery_id: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.require_write(found, acting_account(request), minimum="admin")
    sim = simulator_of(request)
    delivery = _find_delivery(sim, f"hook:{hook_id}", delivery_id)
    return json_answer(request, world.renderer.delivery(delivery, json.loads(delivery.payload)))


@router.post(REPO + "/hooks/{hook_id:int}/deliveries/{delivery_id:int}/attempts")
async def redeliver_hook_delivery(
    request: Request, owner: str, repo: str, hook_id: int, delivery_id: int
) -> Response:
    world = world_of(request)
    found = visible_repo(request, owner, repo, write=True)
    world.require_write(found, acting_account(request), minimum="admin")
    sim = simulator_of(request)
    return _redeliver(sim, _find_delivery(sim, f"hook:{hook_id}", delivery_id))


# -- the App ----------------------------------------------------------------------------------
def _require_jwt(request: Request) -> None:
    principal = principal_of(request)
    if principal.kind != "app":
        raise SimError(
            401,
            "A JSON web token could not be decoded",
        )


@router.get("/app")
async def get_app(request: Request) -> Response:
    _require_jwt(request)
    world = world_of(request)
    document = world.renderer.app(world.app_identity())
    document["installations_count"] = len(world.data.installations)
    return json_answer(request, document)


@router.get("/app/installations")
async def list_installations(request: Request) -> Response:
    _require_jwt(request)
    world = world_of(request)
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


@router.get(REPO + "/installation")
async def repo_installation(request: Request, owner: str, repo: str) -> Response:
    _require_jwt(request)
    world = world_of(request)
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


@router.post("/app/installations/{installation_id:int}/access_tokens")
async def create_installation_token(request: Request, installation_id: int) -> Response:
    _require_jwt(request)
    world = world_of(request)
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


@router.get("/installation/repositories")
async def installation_repositories(request: Request) -> Response:
    principal = principal_of(request)
    if principal.kind == "anonymous":
        raise requires_authentication()
    if principal.token is None:
        raise SimError(403, "Resource not accessible by integration")
    world = world_of(request)
    repos = world.token_repos(principal.token)
    selection = world.find_installation(principal.token.installation_id).repository_selection
    page, headers = paginate(request, repos)
    document = {
        "total_count": len(repos),
        "repository_selection": selection if principal.token.repository_ids is None else "selected",
        "repositories": [world.repo_json(repo) for repo in page],
    }
    return json_answer(request, document, headers=headers)


@router.get("/app/hook/deliveries")
async def list_app_deliveries(request: Request) -> Response:
    _require_jwt(request)
    return _deliveries_answer(request, simulator_of(request), "app")


@router.get("/app/hook/deliveries/{delivery_id:int}")
async def get_app_delivery(request: Request, delivery_id: int) -> Response:
    _require_jwt(request)
    sim = simulator_of(request)
    delivery = _find_delivery(sim, "app", delivery_id)
    return json_answer(request, sim.world.renderer.delivery(delivery, json.loads(delivery.payload)))


@router.post("/app/hook/deliveries/{delivery_id:int}/attempts")
async def redeliver_app_delivery(request: Request, delivery_id: int) -> Response:
    _require_jwt(request)
    sim = simulator_of(request)
    return _redeliver(sim, _find_delivery(sim, "app", delivery_id))
