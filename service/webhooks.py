"""`POST /webhooks/github`: size → signature → parse → match → record → enqueue → 202.

Only cheap, bounded work happens here. Anything that needs GitHub or runs an agent is a job.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from service import signatures
from service.intake import NewDelivery, Recorded, new_job
from service.lazy_json import MalformedJSON, PayloadParser
from service.runtime import Runtime
from service.store.models import DeliveryState
from service.triggers import match_event

log = structlog.get_logger(__name__)

# Hashing or parsing more than this on the event loop would stall other requests.
OFFLOAD_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes

    @classmethod
    def json(cls, body: Mapping[str, Any], status: int) -> Answer:
        return cls(status, orjson.dumps(body))


@dataclass(frozen=True, slots=True)
class Rejection(Exception):
    status: int
    reason: str
    message: str

    def answer(self) -> Answer:
        return Answer.json({"error": self.reason, "message": self.message}, self.status)


class ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


Headers = Mapping[str, str]


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (ASGI gives them so), the first of repeats."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


async def read_body(receive: Receive, headers: Headers, *, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it is known to exceed `limit`, without buffering
    the excess."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Rejection(413, "too_large", f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Rejection(413, "too_large", f"body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def verify_signature(body: bytes, header: str | None, secrets: tuple[str, ...]) -> None:
    if header is None:
        raise Rejection(401, "missing_signature", "X-Hub-Signature-256 header is missing")
    if len(body) > OFFLOAD_BYTES:
        valid = await run_in_threadpool(signatures.verify, body, header, secrets)
    else:
        valid = signatures.verify(body, header, secrets)
    if not valid:
        raise Rejection(401, "bad_signature", "X-Hub-Signature-256 does not match the body")


def payload_bytes(body: bytes, content_type: str) -> bytes:
    """The JSON document, whichever content type the hook was configured with."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return body
    if media_type == "application/x-www-form-urlencoded":
        # GitHub's "application/x-www-form-urlencoded" hooks send the JSON in a `payload` field.
        try:
            fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), max_num_fields=16)
        except ValueError as exc:  # more fields than any GitHub delivery has
            raise Rejection(
                400,
                "malformed",
                "form-encoded delivery with too many fields; set the hook's content type to "
                "application/json",
            ) from exc
        if "payload" not in fields:
            raise Rejection(400, "malformed", "form-encoded delivery without a `payload` field")
        return fields["payload"][0].encode()
    raise Rejection(
        415,
        "unsupported_media_type",
        f"content type {media_type or 'none'} is not supported; set the hook's content type "
        "to application/json",
    )


def parse_payload(data: bytes) -> dict[str, Any]:
    """The whole payload as Python objects (for bodies too big to parse on the event loop)."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Rejection(400, "malformed", f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise Rejection(400, "malformed", "body must be a JSON object")
    return payload


def parse_payload_lazily(parser: PayloadParser, data: bytes) -> Mapping[str, Any]:
    """The payload, converted to Python objects only where it is read (see `service.lazy_json`)."""
    try:
        return parser.parse(data)
    except MalformedJSON as exc:
        raise Rejection(400, "malformed", f"body is not valid JSON: {exc}") from exc


def required_header(headers: Headers, name: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise Rejection(400, "missing_header", f"{name} header is missing")
    if len(value) > 64:
        raise Rejection(400, "bad_header", f"{name} header is too long")
    return value


def new_delivery(
    *,
    delivery_id: str,
    event: str,
    hook_id: str | None,
    payload: Mapping[str, Any],
    data: bytes,
    runtime: Runtime,
) -> NewDelivery:
    """The delivery row and its jobs. If matching fails the delivery is still recorded, as
    `received`, and the worker matches it later: a bug in a filter never loses an event."""
    repository = payload.get("repository")
    installation = payload.get("installation")
    sender = payload.get("sender")
    action = payload.get("action")
    common: dict[str, Any] = {
        "id": delivery_id,
        "event": event,
        "action": action if isinstance(action, str) else None,
        "payload": data,
        "hook_id": hook_id,
        "repository": repository.get("full_name") if isinstance(repository, Mapping) else None,
        "installation_id": installation.get("id") if isinstance(installation, Mapping) else None,
        "sender": sender.get("login") if isinstance(sender, Mapping) else None,
    }
    try:
        matched = match_event(
            runtime.config, event=event, payload=payload, identity=runtime.identity
        )
    except Exception as exc:  # recorded, not lost: the reconciler dispatches `received` later
        log.exception("matching failed; delivery kept for the worker", delivery_id=delivery_id)
        return NewDelivery(**common, state=DeliveryState.RECEIVED, error=repr(exc))
    jobs = tuple(new_job(delivery_id=delivery_id, spec=spec) for spec in matched.jobs)
    # With GitHub access, the repository's own config may add automations: the worker reads it
    # (never the web process) and dispatches the rest.
    state = (
        DeliveryState.RECEIVED
        if runtime.settings.github_configured and isinstance(repository, Mapping)
        else DeliveryState.DISPATCHED
    )
    return NewDelivery(**common, state=state, jobs=jobs)


def accepted_body(delivery: NewDelivery, recorded: Recorded) -> dict[str, Any]:
    return {
        "delivery_id": delivery.id,
        "event": delivery.event,
        "action": delivery.action,
        "duplicate": recorded.duplicate,
        "jobs": [
            {"id": j.id, "automation": j.automation, "agent": j.agent, "state": j.state}
            for j in recorded.jobs
        ],
    }


async def serve_intake(scope: Scope, receive: Receive, send: Send) -> None:
    """The intake as a bare ASGI endpoint, which the application calls before its middleware.

    Plain ASGI rather than Starlette's request and response objects: this is the one route GitHub
    calls for every event, and their conveniences cost it more CPU than verifying the signature.
    Without FastAPI's error middleware around it, a bug here answers 500 itself (GitHub marks the
    delivery failed, and it can be redelivered) instead of dropping the connection.
    """
    runtime: Runtime = scope["app"].state.runtime
    headers = request_headers(scope)
    try:
        answer = await _receive(receive, headers, runtime)
    except ClientGone:
        return
    except Rejection as rejection:
        runtime.metrics.rejections.labels(rejection.reason).inc()
        # The delivery id as sent, unverified (a rejected request proves nothing), so that an
        # operator can match the line to GitHub's list of failed deliveries.
        claimed = headers.get("x-github-delivery", "")[:64] or None
        log.info(
            "webhook rejected",
            reason=rejection.reason,
            status=rejection.status,
            claimed_delivery_id=claimed,
        )
        answer = rejection.answer()
    except Exception:
        log.exception("intake failed")
        answer = Answer.json({"error": "internal", "message": "delivery not recorded; retry"}, 500)
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(answer.body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


async def _receive(receive: Receive, headers: Headers, runtime: Runtime) -> Answer:
    body = await read_body(receive, headers, limit=runtime.settings.max_body_bytes)
    await verify_signature(
        body, headers.get("x-hub-signature-256"), runtime.settings.webhook_secrets
    )
    event = required_header(headers, "X-GitHub-Event")
    delivery_id = required_header(headers, "X-GitHub-Delivery")
    data = payload_bytes(body, headers.get("content-type", ""))
    hook_id = headers.get("x-github-hook-id")
    structlog.contextvars.bind_contextvars(delivery_id=delivery_id, event=event)
    try:
        # The payload is read inside `_accept` and let go before anything is awaited: a lazily
        # read payload pins its parser, which the next request wants to reuse.
        if len(data) > OFFLOAD_BYTES:
            accepted = _accept(
                await run_in_threadpool(parse_payload, data),
                event=event,
                delivery_id=delivery_id,
                hook_id=hook_id,
                data=data,
                runtime=runtime,
            )
        else:
            accepted = _accept(
                parse_payload_lazily(runtime.payload_parser, data),
                event=event,
                delivery_id=delivery_id,
                hook_id=hook_id,
                data=data,
                runtime=runtime,
            )
        if isinstance(accepted, Answer):
            return accepted
        try:
            recorded = await runtime.recorder.record(accepted)
        except SQLAlchemyError as exc:
            # Not recorded, so not acknowledged: GitHub marks the delivery failed and the
            # reconciler asks for it again once the database is back.
            raise Rejection(503, "database_unavailable", "delivery not recorded; retry") from exc
        outcome = "duplicate" if recorded.duplicate else ("matched" if recorded.jobs else "ignored")
        # No log line per accepted delivery: it is in the database and the API, and a line each
        # would cost more CPU than verifying the signature.
        runtime.metrics.deliveries.labels(event, outcome).inc()
        return Answer.json(accepted_body(accepted, recorded), 202)
    finally:
        structlog.contextvars.unbind_contextvars("delivery_id", "event")


def _accept(
    payload: Mapping[str, Any],
    *,
    event: str,
    delivery_id: str,
    hook_id: str | None,
    data: bytes,
    runtime: Runtime,
) -> NewDelivery | Answer:
    """The delivery to record, or the answer to a `ping`."""
    if event == "ping":
        runtime.metrics.deliveries.labels(event, "ping").inc()
        pong = {"ok": True, "zen": payload.get("zen"), "hook_id": payload.get("hook_id")}
        return Answer.json(pong, 200)
    return new_delivery(
        delivery_id=delivery_id,
        event=event,
        hook_id=hook_id,
        payload=payload,
        data=data,
        runtime=runtime,
    )


WEBHOOK_PATH = "/webhooks/github"


class _IntakeEndpoint:
    """`serve_intake` as a route's ASGI endpoint: FastAPI answers other methods with 405."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await serve_intake(scope, receive, send)


routes = [Route(WEBHOOK_PATH, _IntakeEndpoint(), methods=["POST"])]
