"""GitHub's REST API: the routers of each area, gathered for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from service.github_sim import routes_apps, routes_pulls, routes_repos

github_router = APIRouter()
github_router.include_router(routes_repos.router)
github_router.include_router(routes_pulls.router)
github_router.include_router(routes_apps.router)
