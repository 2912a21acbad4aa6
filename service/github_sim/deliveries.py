"""Webhook deliveries: who gets which event, GitHub's signature, and the background sender."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from service.github_sim.models import Delivery
from service.github_sim.render import Json, node_id
from service.github_sim.world import PendingEvent, World

USER_AGENT = "GitHub-Hookshot/sim"
# GitHub gives a receiver 10 seconds before it records the delivery as timed out.
DELIVERY_TIMEOUT_S = 10.0


def sign(secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256`: `sha256=` + hex HMAC-SHA256 of the raw body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode_payload(payload: Json) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _subscribed(events: list[str], event: str) -> bool:
    return "*" in events or event in events


def app_hook_id(world: World) -> int:
    return world.app.app_id if world.app is not None else 0


def plan_deliveries(world: World, pending: PendingEvent) -> list[Delivery]:
    """One Delivery record per target subscribed to the event: repository hooks, then the App."""
    planned: list[Delivery] = []
    repo = world.data.repositories.get(pending.repository_id or -1)
    if repo is not None:
        for hook in repo.hooks.values():
            if hook.active and _subscribed(hook.events, pending.event):
                planned.append(
                    _delivery(
                        world,
                        pending,
                        payload=pending.payload,
                        target=f"hook:{hook.id}",
                        url=hook.url,
                        secret=hook.secret,
                        hook_id=hook.id,
                        installation_id=None,
                        target_type="repository",
                        target_id=repo.id,
                    )
                )
    app_hook = world.data.app_hook
    installation = world.installation_for_repo(repo) if repo is not None else None
    wants_event = not app_hook.events or _subscribed(app_hook.events, pending.event)
    if world.app is not None and app_hook.url and installation is not None and wants_event:
        payload = {
            **pending.payload,
            "installation": {
                "id": installation.id,
                "node_id": node_id("Installation", installation.id),
            },
        }
        planned.append(
            _delivery(
                world,
                pending,
                payload=payload,
                target="app",
                url=app_hook.url,
                secret=app_hook.secret,
                hook_id=app_hook_id(world),
                installation_id=installation.id,
                target_type="integration",
                target_id=world.app.app_id,
            )
        )
    return planned


def _delivery(
    world: World,
    pending: PendingEvent,
    *,
    payload: Json,
    target: str,
    url: str,
    secret: str | None,
    hook_id: int,
    installation_id: int | None,
    target_type: str,
    target_id: int,
) -> Delivery:
    body = encode_payload(payload)
    guid = str(uuid.uuid4())
    headers = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Event": pending.event,
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-ID": str(target_id),
        "X-GitHub-Hook-Installation-Target-Type": target_type,
    }
    if secret:
        headers["X-Hub-Signature"] = (
            "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        )
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return Delivery(
        id=world.new_id(),
        guid=guid,
        target=target,
        url=url,
        event=pending.event,
        action=pending.action,
        installation_id=installation_id,
        repository_id=pending.repository_id,
        request_headers=headers,
        payload=body.decode(),
        delivered_at=world.now(),
    )


def redelivery_of(world: World, original: Delivery) -> Delivery:
    """A new attempt with the same guid and body, as GitHub's redeliver button makes."""
    return original.model_copy(
        update={
            "id": world.new_id(),
            "redelivery": True,
            "delivered_at": world.now(),
            "status_code": 0,
            "status": "pending",
            "duration": 0.0,
            "response_headers": {},
            "response_body": "",
        }
    )


@dataclass
class DeliveryWorker:
    """Sends queued deliveries one at a time, in order, off the request path."""

    world: World
    on_change: Callable[[], None] = lambda: None
    queue: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None

    def submit(self, delivery: Delivery) -> None:
        self.world.data.deliveries.append(delivery)
        self.queue.put_nowait(delivery.id)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_idle(self, limit_s: float) -> bool:
        try:
            await asyncio.wait_for(self.queue.join(), limit_s)
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S) as client:
            while True:
                delivery_id = await self.queue.get()
                try:
                    record = self._find(delivery_id)
                    if record is not None:
                        await self._send(client, record)
                        self.on_change()
                finally:
                    self.queue.task_done()

    def _find(self, delivery_id: int) -> Delivery | None:
        for delivery in self.world.data.deliveries:
            if delivery.id == delivery_id:
                return delivery
        return None

    async def _send(self, client: httpx.AsyncClient, record: Delivery) -> None:
        started = time.perf_counter()
        try:
            response = await client.post(
                record.url, content=record.payload.encode(), headers=record.request_headers
            )
        except httpx.TimeoutException:
            record.status, record.status_code = "timed out", 0
        except httpx.TransportError as error:  # refused, reset, DNS: the receiver is down
            # GitHub records an unreachable receiver with status code 0.
            record.status, record.status_code = "failed to connect to host", 0
            record.response_body = str(error)
        else:
            record.status_code = response.status_code
            record.status = (
                "OK" if response.is_success else f"Invalid HTTP Response: {response.status_code}"
            )
            record.response_headers = dict(response.headers)
            record.response_body = response.text[:4096]
        record.duration = time.perf_counter() - started
        if record.target.startswith("hook:") and record.repository_id is not None:
            repo = self.world.data.repositories.get(record.repository_id)
            hook = repo.hooks.get(int(record.target.split(":", 1)[1])) if repo else None
            if hook is not None:
                hook.last_status_code = record.status_code
