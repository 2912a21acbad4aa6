"""The simulator process: configuration, state, persistence, and the request pipeline.

Every request to a GitHub path passes, in order: injected faults, authentication, the primary rate
limit, the route, then rate-limit headers; webhooks the route caused are queued for the background
delivery worker and the state is saved when `--state` is set.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.github_sim import faults
from service.github_sim.auth import resolve_principal
from service.github_sim.deliveries import DeliveryWorker, plan_deliveries
from service.github_sim.http import error_response
from service.github_sim.models import WorldData
from service.github_sim.render import Renderer
from service.github_sim.world import AppConfig, SimError, World

CONTROL_PREFIX = "/_sim"
UNCOUNTED_PATHS = frozenset({"/rate_limit"})


@dataclass
class SimConfig:
    """Everything the command line decides."""

    public_url: str
    users: dict[str, str] = field(default_factory=dict)
    """Login to personal token."""
    app_id: int | None = None
    app_slug: str = "hookwise-sim"
    app_public_key_pem: str | None = None
    state_file: Path | None = None
    installation_token_ttl: timedelta = timedelta(hours=1)


class Simulator:
    """The running simulator: the world plus faults, rate limits and the delivery worker."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.world = World(
            data=self._load_state(),
            renderer=Renderer(api=config.public_url, html=f"{config.public_url}/_html"),
            app=self._app_config(),
        )
        self.faults = faults.FaultPlan()
        self.limits = faults.RateLimits()
        self.worker = DeliveryWorker(world=self.world, on_change=self.persist)
        self._seed_accounts()

    def _app_config(self) -> AppConfig | None:
        if self.config.app_id is None:
            return None
        return AppConfig(
            app_id=self.config.app_id,
            slug=self.config.app_slug,
            public_key_pem=self.config.app_public_key_pem,
            installation_token_ttl=self.config.installation_token_ttl,
        )

    def _load_state(self) -> WorldData:
        path = self.config.state_file
        if path is not None and path.exists():
            return WorldData.model_validate_json(path.read_text(encoding="utf-8"))
        return WorldData()

    def _seed_accounts(self) -> None:
        for login, token in self.config.users.items():
            self.world.add_user_token(login, token)
        if self.world.app is not None:
            self.world.bot_account()

    def reset(self) -> None:
        self.world.data = WorldData()
        self.world.app = self._app_config()  # forget runtime changes such as the token TTL
        self.world.outbox.clear()
        self.faults.clear()
        self.limits.windows.clear()
        self._seed_accounts()
        self.persist()

    def persist(self) -> None:
        """Write the state atomically (temp file + rename) so a crash never leaves half a file."""
        path = self.config.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(self.world.data.model_dump_json())
        Path(temp_name).replace(path)

    def dispatch_events(self) -> None:
        for pending in self.world.drain_outbox():
            for delivery in plan_deliveries(self.world, pending):
                self.worker.submit(delivery)


def simulator_of(request: Request) -> Simulator:
    sim: Simulator = request.app.state.simulator
    return sim


def _fault_response(spec: faults.FaultSpec, window: faults.RateWindow, now: int) -> Response:
    headers = faults.rate_headers(window)
    if spec.kind == "secondary_rate_limit":
        if spec.retry_after is not None:
            headers["retry-after"] = str(spec.retry_after)
        body = {"message": faults.SECONDARY_MESSAGE, "documentation_url": faults.DOCS}
        return JSONResponse(body, status_code=403, headers=headers)
    if spec.kind == "primary_rate_limit":
        headers.update(
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(now + spec.reset_in)}
        )
        body = {"message": faults.PRIMARY_MESSAGE, "documentation_url": faults.DOCS}
        return JSONResponse(body, status_code=spec.status, headers=headers)
    return JSONResponse({"message": "Server Error"}, status_code=spec.status, headers=headers)


async def github_pipeline(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    sim = simulator_of(request)
    path = request.url.path
    if path.startswith(CONTROL_PREFIX):
        response = await call_next(request)
        sim.dispatch_events()
        if request.method != "GET":
            sim.persist()
        return response
    now = int(time.time())
    spec = sim.faults.take(request.method, path)
    if spec is not None and spec.kind == "slow":
        await asyncio.sleep(spec.delay)
        spec = None
    try:
        principal = resolve_principal(sim.world, request.headers.get("authorization"))
    except SimError as error:
        window = sim.limits.window("anonymous", now=now)
        return error_response(error, faults.rate_headers(window))
    request.state.principal = principal
    counted = path not in UNCOUNTED_PATHS
    if counted:
        window = sim.limits.count(principal.rate_key, now=now)
    else:
        window = sim.limits.window(principal.rate_key, now=now)
    if spec is not None:
        return _fault_response(spec, window, now)
    if window.used > window.limit:
        return _fault_response(
            faults.FaultSpec(kind="primary_rate_limit", status=403, reset_in=window.reset - now),
            window,
            now,
        )
    response = await call_next(request)
    if getattr(request.state, "not_modified", False) and counted:
        # GitHub does not charge a conditional request that answers 304.
        window.used -= 1
    response.headers.update(faults.rate_headers(window))
    response.headers["x-github-api-version-selected"] = "2022-11-28"
    response.headers["x-github-media-type"] = "github.v3; format=json"
    response.headers["x-github-request-id"] = uuid.uuid4().hex[:20].upper()
    sim.dispatch_events()
    if request.method != "GET":
        sim.persist()
    return response


def create_app(config: SimConfig) -> FastAPI:
    """The simulator's ASGI app; nothing runs until the server starts it."""
    from service.github_sim.routes_control import control_router
    from service.github_sim.routes_github import github_router

    simulator = Simulator(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        simulator.worker.start()
        try:
            yield
        finally:
            await simulator.worker.stop()
            simulator.persist()

    app = FastAPI(title="hookwise github-sim", lifespan=lifespan, openapi_url=None, docs_url=None)
    app.state.simulator = simulator
    app.middleware("http")(github_pipeline)
    app.include_router(control_router)
    app.include_router(github_router)

    async def on_sim_error(request: Request, error: Exception) -> Response:
        if not isinstance(error, SimError):
            raise error
        return error_response(error)

    async def on_http_error(request: Request, error: Exception) -> Response:
        if not isinstance(error, StarletteHTTPException):
            raise error
        message = "Not Found" if error.status_code == 404 else str(error.detail)
        return error_response(SimError(error.status_code, message))

    app.add_exception_handler(SimError, on_sim_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    return app
