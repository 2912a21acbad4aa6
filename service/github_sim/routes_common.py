"""What every GitHub route needs: the caller, the world, and the repositories it may see."""

from __future__ import annotations

from fastapi import Request

from service.github_sim.auth import Principal, requires_authentication
from service.github_sim.models import Account, Repository
from service.github_sim.server import simulator_of
from service.github_sim.world import SimError, World, not_found

REPO = "/repos/{owner}/{repo}"


def principal_of(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def acting_account(request: Request) -> Account:
    """The account a write acts as; App JWTs may only call `/app` endpoints."""
    principal = principal_of(request)
    if principal.kind == "anonymous":
        raise requires_authentication()
    if principal.account is None:
        raise SimError(403, "Resource not accessible by integration")
    return principal.account


def world_of(request: Request) -> World:
    return simulator_of(request).world


def visible_repo(request: Request, owner: str, repo: str, *, write: bool = False) -> Repository:
    """Find a repository the caller may see (404 otherwise, as GitHub hides private ones)."""
    world = world_of(request)
    found = world.find_repo(owner, repo)
    principal = principal_of(request)
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
        acting_account(request)
    return found
