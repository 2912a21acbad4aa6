"""Answers for filters that need GitHub: a push's or PR's changed files, a sender's permission."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from github import Github

from workers.agents.base import PermanentError
from workers.github.client import github_errors

PERMISSION_TTL = 60.0


class PermissionCache:
    """Collaborator permissions, kept briefly: a burst of commands costs one API call."""

    def __init__(self, ttl: float = PERMISSION_TTL) -> None:
        self._ttl = ttl
        self._values: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, repo: str, login: str) -> str | None:
        with self._lock:
            entry = self._values.get((repo, login))
        if entry is None or time.monotonic() - entry[0] > self._ttl:
            return None
        return entry[1]

    def put(self, repo: str, login: str, permission: str) -> None:
        with self._lock:
            self._values[(repo, login)] = (time.monotonic(), permission)


class GitHubResolver:
    """The worker's `PendingResolver` for one event."""

    def __init__(
        self, gh: Github, *, event: str, payload: Mapping[str, Any], permissions: PermissionCache
    ) -> None:
        self._gh = gh
        self._event = event
        self._payload = payload
        self._permissions = permissions
        self._repo_name = str(payload["repository"]["full_name"])

    def changed_files(self) -> Sequence[str]:
        with github_errors():
            repo = self._gh.get_repo(self._repo_name)
            if "pull_request" in self._payload:
                pull = repo.get_pull(int(self._payload["pull_request"]["number"]))
                files = list(pull.get_files())
            elif "before" in self._payload and "after" in self._payload:
                # A push: compare the before and after commits (the payload lists at most 20).
                comparison = repo.compare(self._payload["before"], self._payload["after"])
                files = list(comparison.files)
            else:
                return []  # the event changes no files
        paths: list[str] = []
        for changed in files:
            paths.append(changed.filename)
            # A rename touches the old path too, as Actions' `paths` filter sees it.
            if changed.previous_filename:
                paths.append(changed.previous_filename)
        return paths

    def permission(self, login: str) -> str:
        cached = self._permissions.get(self._repo_name, login)
        if cached is not None:
            return cached
        try:
            with github_errors():
                _, data = self._gh.requester.requestJsonAndCheck(
                    "GET", f"/repos/{self._repo_name}/collaborators/{login}/permission"
                )
        except PermanentError as exc:
            if exc.status != 404:
                raise
            data = {"permission": "none"}  # not a user GitHub knows, so no permission at all
        # `permission` is the legacy admin/write/read/none; `role_name` adds maintain and triage.
        level = str(data.get("role_name") or data.get("permission") or "none")
        if level not in ("admin", "maintain", "write", "triage", "read"):
            level = str(data.get("permission") or "none")
        self._permissions.put(self._repo_name, login, level)
        return level
