"""Credentials: a GitHub App (JWT → installation tokens) or a plain token.

Installation tokens live for an hour. They are cached where every worker process sees them (Redis
in production, memory in the embedded single-worker mode) and refreshed a few minutes before they
expire, by one process at a time: the others wait for its result instead of minting their own.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import httpx
import jwt
import orjson

from workers.agents.base import TransientError
from workers.github.errors import classify_response

REFRESH_MARGIN = 300.0  # seconds before expiry at which a token counts as stale
JWT_LIFETIME = 540  # GitHub refuses an App JWT that expires more than 10 minutes ahead
CLOCK_DRIFT = 60  # GitHub's advice: backdate `iat` for clocks that run a little ahead
MINT_TIMEOUT = 15.0  # seconds for GitHub to answer a token request
LOCK_TTL = 2 * MINT_TIMEOUT  # outlives the slowest mint; frees itself if its holder died
LOCK_WAIT = LOCK_TTL + 5.0  # a waiter outlasts a dead holder's lock


@dataclass(frozen=True, slots=True)
class CachedToken:
    token: str
    expires_at: float

    def fresh(self, *, now: float) -> bool:
        return self.expires_at - now > REFRESH_MARGIN


class TokenCache(Protocol):
    def get(self, key: str) -> CachedToken | None: ...

    def put(self, key: str, value: CachedToken) -> None: ...

    def lock(self, key: str, *, timeout: float) -> str | None:
        """Try to become the one process refreshing `key`; the owner's proof, or None."""
        ...

    def unlock(self, key: str, owner: str) -> None:
        """Release `key` if `owner` still holds it."""
        ...


class MemoryTokenCache:
    """One process (embedded mode, tests)."""

    def __init__(self) -> None:
        self._values: dict[str, CachedToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> CachedToken | None:
        return self._values.get(key)

    def put(self, key: str, value: CachedToken) -> None:
        self._values[key] = value

    def lock(self, key: str, *, timeout: float) -> str | None:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        return "held" if lock.acquire(timeout=timeout) else None

    def unlock(self, key: str, owner: str) -> None:
        self._locks[key].release()


# Delete the lock only if it still holds our value: a holder whose lock expired must not release
# the lock another process has taken since.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisTokenCache:
    """Shared by every worker process and host that uses the same Redis."""

    def __init__(
        self,
        client: object,
        *,
        prefix: str = "hookwise:github-token:",
        lock_ttl_seconds: float = LOCK_TTL,
    ) -> None:
        import redis

        if not isinstance(client, redis.Redis):
            raise TypeError("RedisTokenCache needs a redis.Redis client")
        self._redis = client
        self._prefix = prefix
        self._lock_ttl_ms = int(lock_ttl_seconds * 1000)
        self._release = client.register_script(_RELEASE)

    def get(self, key: str) -> CachedToken | None:
        raw = self._redis.get(self._prefix + key)
        if raw is None:
            return None
        data = orjson.loads(raw)
        return CachedToken(token=data["token"], expires_at=data["expires_at"])

    def put(self, key: str, value: CachedToken) -> None:
        ttl = max(int(value.expires_at - time.time()), 1)
        body = orjson.dumps({"token": value.token, "expires_at": value.expires_at})
        self._redis.set(self._prefix + key, body, ex=ttl)

    def lock(self, key: str, *, timeout: float) -> str | None:
        owner = secrets.token_hex(16)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            name = self._prefix + key + ":lock"
            if self._redis.set(name, owner, nx=True, px=self._lock_ttl_ms):
                return owner
            time.sleep(0.05)
        return None

    def unlock(self, key: str, owner: str) -> None:
        self._release(keys=[self._prefix + key + ":lock"], args=[owner])


def app_jwt(*, app_id: int, private_key: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {"iat": issued - CLOCK_DRIFT, "exp": issued + JWT_LIFETIME, "iss": str(app_id)}
    return jwt.encode(claims, private_key, algorithm="RS256")


def _parse_expiry(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class InstallationTokens:
    """Installation tokens for one GitHub App, minted on demand and shared through `cache`."""

    def __init__(
        self,
        *,
        api_url: str,
        app_id: int,
        private_key: str,
        cache: TokenCache,
        http: httpx.Client,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._app_id = app_id
        self._private_key = private_key
        self._cache = cache
        self._http = http

    def jwt(self) -> str:
        return app_jwt(app_id=self._app_id, private_key=self._private_key)

    def token(self, installation_id: int) -> str:
        key = f"{self._app_id}:{installation_id}"
        cached = self._cache.get(key)
        if cached is not None and cached.fresh(now=time.time()):
            return cached.token
        owner = self._cache.lock(key, timeout=LOCK_WAIT)
        if owner is None:
            raise TransientError("timed out waiting for another worker to refresh the token")
        try:
            cached = self._cache.get(key)  # someone else may have refreshed it meanwhile
            if cached is not None and cached.fresh(now=time.time()):
                return cached.token
            minted = self._mint(installation_id)
            self._cache.put(key, minted)
            return minted.token
        finally:
            self._cache.unlock(key, owner)

    def _mint(self, installation_id: int) -> CachedToken:
        try:
            response = self._http.post(
                f"{self._api_url}/app/installations/{installation_id}/access_tokens",
                headers={
                    "Authorization": f"Bearer {self.jwt()}",
                    "Accept": "application/vnd.github+json",
                },
                timeout=MINT_TIMEOUT,
            )
        except httpx.TransportError as exc:
            raise TransientError(f"GitHub unreachable: {type(exc).__name__}") from exc
        if response.status_code != 201:
            # Rate limits and 5xx reschedule the job like any other GitHub call; a 401 (wrong key,
            # clock far off) or 404 (App uninstalled) fails it with GitHub's message.
            raise classify_response(
                response.status_code, response.headers, response.content, what="minting a token"
            )
        body = response.json()
        return CachedToken(token=body["token"], expires_at=_parse_expiry(body["expires_at"]))
