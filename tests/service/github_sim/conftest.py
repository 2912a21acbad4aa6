"""Fixtures for the simulator's tests: one real simulator process, schema checkers, a receiver.

The simulator fixtures are thin wrappers over `service.github_sim.testing.run_simulator`; other
suites should call `run_simulator` directly for their own fixtures.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator, Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7

from service.github_sim.testing import SimHandle, run_simulator

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED = REPO_ROOT.parent / "shared"
OPENAPI_PATH = SHARED / "github-rest" / "openapi-2022-07-18.json"
WEBHOOK_SCHEMA_DIR = SHARED / "fixtures" / "github-webhooks" / "payload-schemas" / "api.github.com"
OPENAPI_URI = "urn:github-openapi"
WEBHOOK_BASE = "https://webhook-schemas.invalid/"

USERS = {"alice": "alice-token", "bob": "bob-token", "carol": "carol-token"}


# -- OpenAPI responses --------------------------------------------------------------------------
def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` means 'or null'; JSON Schema spells that with anyOf."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_to_json_schema(value) for key, value in node.items()}
    if converted.get("nullable") is True:
        converted.pop("nullable")
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _pointer_escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class OpenApiChecker:
    """Validates any simulator response against the operation's schema in GitHub's OpenAPI."""

    def __init__(self, spec_path: Path) -> None:
        self.spec: dict[str, Any] = _nullable_to_json_schema(json.loads(spec_path.read_text()))
        resource = Resource.from_contents(self.spec, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(OPENAPI_URI, resource)
        self.routes: list[tuple[re.Pattern[str], str]] = []
        for template in self.spec["paths"]:
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            if template.endswith("{path}"):
                pattern = pattern[: -len("[^/]+")] + ".+"
            self.routes.append((re.compile(f"^{pattern}$"), template))
        # Literal segments beat placeholders (`/issues/comments/1` is not `/issues/{number}/1`).
        self.routes.sort(key=lambda route: route[1].count("{"))
        self.checked: set[tuple[str, str, int]] = set()

    def template_for(self, method: str, path: str) -> str:
        for pattern, template in self.routes:
            if pattern.match(path) and method in self.spec["paths"][template]:
                return template
        raise AssertionError(f"no OpenAPI operation for {method.upper()} {path}")

    def _response_object(
        self, operation: dict[str, Any], status: int
    ) -> tuple[str, dict[str, Any]] | None:
        responses = operation["responses"]
        found = responses.get(str(status))
        if found is None:
            return None
        if "$ref" in found:
            name = found["$ref"].rsplit("/", 1)[-1]
            return f"/components/responses/{_pointer_escape(name)}", self.spec["components"][
                "responses"
            ][name]
        return "", found

    def check(self, response: httpx.Response) -> None:
        method = response.request.method.lower()
        path = response.request.url.path
        template = self.template_for(method, path)
        operation = self.spec["paths"][template][method]
        status = response.status_code
        self.checked.add((method, template, status))
        located = self._response_object(operation, status)
        if located is None:
            assert status >= 400, f"{method.upper()} {template} answered {status}, not in the spec"
            # Errors GitHub documents per endpoint only partly: all share the basic-error shape.
            self._validate(response.json(), f"{OPENAPI_URI}#/components/schemas/basic-error")
            return
        pointer, response_object = located
        content = response_object.get("content")
        if not content:
            return
        if not response.headers.get("content-type", "").startswith("application/json"):
            # Alternative media types (raw files, diffs) are documented as prose, not schemas.
            return
        media = "application/json" if "application/json" in content else next(iter(content))
        if not pointer:
            pointer = f"/paths/{_pointer_escape(template)}/{method}/responses/{status}"
        schema_uri = f"{OPENAPI_URI}#{pointer}/content/{_pointer_escape(media)}/schema"
        self._validate(response.json(), schema_uri)

    def _validate(self, document: Any, schema_uri: str) -> None:
        validator = Draft4Validator({"$ref": schema_uri}, registry=self.registry)
        errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
        assert not errors, "\n".join(
            f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
            for error in errors[:10]
        )


# -- webhook payloads ---------------------------------------------------------------------------
class WebhookSchemas:
    """Validates a webhook payload against the published schema for its event and action."""

    def __init__(self, schema_dir: Path) -> None:
        registry: Registry[Any] = Registry()
        for path in schema_dir.rglob("*.schema.json"):
            document = json.loads(path.read_text())
            document["$id"] = WEBHOOK_BASE + document.get(
                "$id", path.relative_to(schema_dir).as_posix()
            )
            registry = registry.with_resource(
                document["$id"], Resource.from_contents(document, default_specification=DRAFT7)
            )
        self.registry = registry
        self.schema_dir = schema_dir

    def check(self, event: str, payload: dict[str, Any]) -> None:
        action = payload.get("action")
        path = self.schema_dir / event / f"{action}.schema.json"
        document = json.loads(path.read_text())
        uri = WEBHOOK_BASE + document["$id"]
        validator = Draft7Validator({"$ref": uri}, registry=self.registry)
        errors = sorted(validator.iter_errors(payload), key=lambda error: list(error.path))
        assert not errors, f"{event}.{action}:\n" + "\n".join(
            f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
            for error in errors[:10]
        )


# -- a webhook receiver over real HTTP ----------------------------------------------------------
@dataclass
class ReceivedHook:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers["x-github-event"]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[ReceivedHook] = field(default_factory=list)
    status_codes: list[int] = field(default_factory=list)
    """Statuses to answer with, consumed in order; 200 once exhausted."""
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_event(self, event: str) -> list[ReceivedHook]:
        with self.lock:
            return [hook for hook in self.received if hook.event == event]


def _start_receiver() -> tuple[ThreadingHTTPServer, Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            time.sleep(receiver.delay_s)
            with receiver.lock:
                receiver.received.append(
                    ReceivedHook({key.lower(): value for key, value in self.headers.items()}, body)
                )
                status = receiver.status_codes.pop(0) if receiver.status_codes else 200
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, receiver


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sim_process(shared_dir: Path) -> Iterator[SimHandle]:
    with run_simulator(users=USERS) as handle:
        yield handle


@pytest.fixture
def sim(sim_process: SimHandle) -> Iterator[SimHandle]:
    """The shared simulator, reset to an empty world for this test."""
    sim_process.admin.reset()
    yield sim_process
    sim_process.close_clients()


@pytest.fixture(scope="session")
def openapi(shared_dir: Path) -> OpenApiChecker:
    return OpenApiChecker(OPENAPI_PATH)


@pytest.fixture(scope="session")
def webhook_schemas(shared_dir: Path) -> WebhookSchemas:
    return WebhookSchemas(WEBHOOK_SCHEMA_DIR)


@pytest.fixture
def github(sim: SimHandle, openapi: OpenApiChecker) -> Iterator[Any]:
    """`github(token)`: an httpx client on the simulator whose every answer is schema-checked."""
    clients: list[httpx.Client] = []

    def validate(response: httpx.Response) -> None:
        response.read()
        openapi.check(response)

    def factory(token: str | None = None, *, scheme: str = "token") -> httpx.Client:
        headers = {"Accept": "application/vnd.github+json"}
        if token is not None:
            headers["Authorization"] = f"{scheme} {token}"
        client = httpx.Client(
            base_url=sim.api_url, headers=headers, timeout=30, event_hooks={"response": [validate]}
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server, receiver = _start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()
