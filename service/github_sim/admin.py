"""A typed client for the simulator's control plane (`/_sim/...`), for tests and the demo."""

from __future__ import annotations

from typing import Any, Literal

import httpx

Json = dict[str, Any]
FaultKind = Literal["error", "secondary_rate_limit", "primary_rate_limit", "slow"]


class SimAdmin:
    """Drive a running simulator. Every method raises `httpx.HTTPStatusError` on a refusal."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=f"{self.base_url}/_sim", timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SimAdmin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Json | None = None) -> Any:
        response = self._client.request(method, path, json=body)
        response.raise_for_status()
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- world setup --------------------------------------------------------------------------
    def health(self) -> bool:
        return bool(self._call("GET", "/health")["ok"])

    def reset(self) -> None:
        """Forget everything but the `--user` accounts and the App as started (TTL included)."""
        self._call("POST", "/reset")

    def create_user(self, login: str, *, token: str | None = None) -> Json:
        result: Json = self._call("POST", "/users", {"login": login, "token": token})
        return result

    def create_org(self, login: str, *, admins: list[str] | None = None) -> Json:
        body = {"login": login, "type": "Organization", "admins": admins or []}
        result: Json = self._call("POST", "/users", body)
        return result

    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        owner_type: Literal["User", "Organization"] = "User",
        files: dict[str, str] | None = None,
        private: bool = False,
        default_branch: str = "main",
        description: str | None = None,
    ) -> Json:
        body = {
            "owner": owner,
            "name": name,
            "owner_type": owner_type,
            "files": files,
            "private": private,
            "default_branch": default_branch,
            "description": description,
        }
        result: Json = self._call("POST", "/repos", body)
        return result

    def create_installation(self, account: str, *, repositories: list[str] | None = None) -> int:
        """Install the App on `account` (every repository unless `repositories` names some)."""
        body = {"account": account, "repositories": repositories}
        return int(self._call("POST", "/installations", body)["id"])

    def set_permission(self, owner: str, repo: str, login: str, permission: str) -> None:
        self._call(
            "PUT", f"/repos/{owner}/{repo}/collaborators/{login}", {"permission": permission}
        )

    def set_app_webhook(
        self, url: str, *, secret: str | None = None, events: list[str] | None = None
    ) -> None:
        self._call("PUT", "/app/hook", {"url": url, "secret": secret, "events": events or []})

    def set_installation_token_ttl(self, seconds: float) -> None:
        self._call("PUT", "/config", {"installation_token_ttl_s": seconds})

    # -- activity -----------------------------------------------------------------------------
    def push(
        self,
        owner: str,
        repo: str,
        *,
        branch: str,
        files: dict[str, str | None],
        author: str,
        message: str = "Update files",
        from_branch: str | None = None,
    ) -> str:
        """Commit `files` (None deletes) onto `branch`; returns the new head sha."""
        body = {
            "branch": branch,
            "files": files,
            "author": author,
            "message": message,
            "from_branch": from_branch,
        }
        return str(self._call("POST", f"/repos/{owner}/{repo}/push", body)["sha"])

    def open_pull_request(
        self,
        owner: str,
        repo: str,
        *,
        title: str,
        head: str,
        author: str,
        files: dict[str, str | None] | None = None,
        base: str | None = None,
        body: str | None = None,
        draft: bool = False,
    ) -> Json:
        """Open a pull request from `head`, first pushing `files` there when given."""
        document = {
            "title": title,
            "head": head,
            "author": author,
            "files": files,
            "base": base,
            "body": body,
            "draft": draft,
        }
        result: Json = self._call("POST", f"/repos/{owner}/{repo}/pulls", document)
        return result

    def open_issue(
        self,
        owner: str,
        repo: str,
        *,
        title: str,
        author: str,
        body: str | None = None,
        labels: list[str] | None = None,
    ) -> Json:
        document = {"title": title, "author": author, "body": body, "labels": labels or []}
        result: Json = self._call("POST", f"/repos/{owner}/{repo}/issues", document)
        return result

    def comment(self, owner: str, repo: str, number: int, *, body: str, author: str) -> Json:
        document = {"body": body, "author": author}
        result: Json = self._call(
            "POST", f"/repos/{owner}/{repo}/issues/{number}/comments", document
        )
        return result

    def create_workflow_run(
        self,
        owner: str,
        repo: str,
        *,
        name: str = "CI",
        jobs: list[Json] | None = None,
        head_branch: str | None = None,
        head_sha: str | None = None,
        event: str = "push",
    ) -> Json:
        """Start a run; `jobs` are `{"name": ..., "log": ...}`."""
        document = {
            "name": name,
            "jobs": jobs or [{"name": "build", "log": ""}],
            "head_branch": head_branch,
            "head_sha": head_sha,
            "event": event,
        }
        result: Json = self._call("POST", f"/repos/{owner}/{repo}/actions/runs", document)
        return result

    def complete_workflow_run(
        self,
        owner: str,
        repo: str,
        run_id: int,
        *,
        conclusion: str,
        jobs: dict[str, str] | None = None,
        logs: dict[str, str] | None = None,
    ) -> Json:
        document = {"conclusion": conclusion, "jobs": jobs or {}, "logs": logs or {}}
        result: Json = self._call(
            "POST", f"/repos/{owner}/{repo}/actions/runs/{run_id}/complete", document
        )
        return result

    # -- faults -------------------------------------------------------------------------------
    def inject_fault(
        self,
        kind: FaultKind,
        *,
        count: int = 1,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
        retry_after: int | None = 60,
        reset_in: int = 60,
        delay: float = 2.0,
    ) -> None:
        """The next `count` requests matching `path` (a regex) and `method` get this fault."""
        body: Json = {
            "kind": kind,
            "count": count,
            "path": path,
            "method": method,
            "retry_after": retry_after,
            "reset_in": reset_in,
            "delay": delay,
        }
        if status is not None:
            body["status"] = status
        elif kind == "primary_rate_limit":
            body["status"] = 403
        self._call("POST", "/faults", body)

    def pending_faults(self) -> list[Json]:
        result: list[Json] = self._call("GET", "/faults")
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- deliveries ---------------------------------------------------------------------------
    def deliveries(self, *, event: str | None = None, target: str | None = None) -> list[Json]:
        """Recorded webhook deliveries, oldest first, each with its parsed `payload`."""
        params = {key: value for key, value in (("event", event), ("target", target)) if value}
        response = self._client.get("/deliveries", params=params)
        response.raise_for_status()
        result: list[Json] = response.json()
        return result

    def wait_for_deliveries(self, *, timeout: float = 10.0) -> bool:
        """Block until every queued delivery has been attempted; False on timeout."""
        return bool(self._call("POST", "/deliveries/wait", {"timeout": timeout})["idle"])

    def state(self) -> Json:
        result: Json = self._call("GET", "/state")
        return result
