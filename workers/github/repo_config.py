"""`.github/hookwise.yml`, read from a repository's default branch and cached by ETag.

Only the default branch counts: a pull request must never be able to change which automations run
on it. Conditional requests (`If-None-Match`) that GitHub answers 304 do not count against the rate
limit, so checking on every job is cheap; a repository without the file is remembered briefly.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import orjson
import requests
from pydantic import BaseModel

from service.triggers import Config, ConfigError, load_config
from service.triggers.merge import Merged, merge_configs
from workers.agents.base import TransientError
from workers.github.client import GitHubFactory
from workers.github.errors import classify_response

PATH = ".github/hookwise.yml"
ABSENT_TTL = 300.0


@dataclass(frozen=True, slots=True)
class RepoConfig:
    """What a repository's default branch says: a config, an error, or nothing."""

    repository: str
    config: Config | None = None
    error: ConfigError | None = None
    blob_sha: str | None = None

    def apply(self, central: Config) -> Merged:
        if self.config is None:
            return Merged(config=central, notes=())
        return merge_configs(central, self.config)


@dataclass(slots=True)
class _Entry:
    etag: str | None
    value: RepoConfig
    fetched: float


class RepoConfigs:
    def __init__(self, factory: GitHubFactory, *, agents: Mapping[str, type[BaseModel]]) -> None:
        self._factory = factory
        self._agents = agents
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def load(
        self, *, repository: str, default_branch: str, installation_id: int | None
    ) -> RepoConfig:
        with self._lock:
            entry = self._cache.get(repository)
        if entry is not None and entry.etag is None:
            if time.monotonic() - entry.fetched < ABSENT_TTL:
                return entry.value
            entry = None
        gh = self._factory.for_installation(installation_id)
        headers = {"If-None-Match": entry.etag} if entry and entry.etag else {}
        try:
            status, response_headers, body = gh.requester.requestJson(
                "GET",
                f"/repos/{repository}/contents/{PATH}",
                parameters={"ref": default_branch},
                headers=headers,
            )
        except requests.RequestException as exc:
            raise TransientError(f"GitHub unreachable: {type(exc).__name__}") from exc
        if status == 304 and entry is not None:
            return entry.value
        if status == 404:
            value = RepoConfig(repository=repository)
            self._store(repository, _Entry(etag=None, value=value, fetched=time.monotonic()))
            return value
        if status != 200:
            # A rate limit here reschedules the job like any other GitHub call would.
            raise classify_response(
                status, response_headers, body.encode() if body else b"", what=f"reading {PATH}"
            )
        value = self._parse(repository, orjson.loads(body))
        etag = {k.lower(): v for k, v in response_headers.items()}.get("etag")
        self._store(repository, _Entry(etag=etag, value=value, fetched=time.monotonic()))
        return value

    def _store(self, repository: str, entry: _Entry) -> None:
        with self._lock:
            self._cache[repository] = entry

    def _parse(self, repository: str, document: Mapping[str, object]) -> RepoConfig:
        raw = str(document.get("content") or "")
        text = base64.b64decode(raw).decode("utf-8", errors="replace")
        sha = str(document.get("sha") or "") or None
        try:
            config = load_config(text, source=PATH, agents=self._agents)
        except ConfigError as error:
            return RepoConfig(repository=repository, error=error, blob_sha=sha)
        return RepoConfig(repository=repository, config=config, blob_sha=sha)
