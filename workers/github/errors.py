"""GitHub's failures, sorted into what the job runner does about them.

- primary rate limit (403/429 with `x-ratelimit-remaining: 0`): retry after the reset time, which is
  usually minutes away, so the job waits in the database rather than in a Celery countdown;
- secondary rate limit (403/429 with `retry-after`, or GitHub's "secondary rate limit" message):
  honour `retry-after`, 60 s when GitHub sends none, and wait longer each time it comes back
  (GitHub asks for exponentially growing waits while the limit persists);
- 5xx, timeouts, connection errors: transient, retried with jittered backoff by the job runner;
- any other 4xx: permanent, and GitHub's own message is recorded on the job.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
import requests
from github import GithubException

from workers.agents.base import PermanentError, TransientError

SECONDARY_DEFAULT_WAIT = 60.0


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _message(data: Any) -> str:
    if isinstance(data, Mapping):
        message = str(data.get("message") or "")
        errors = data.get("errors")
        if errors:
            message += f" {errors}"
        return message.strip()
    return str(data or "").strip()


def classify(exc: GithubException, *, now: float | None = None) -> TransientError | PermanentError:
    """The job runner's view of a GitHub error."""
    now = time.time() if now is None else now
    status = exc.status
    headers = exc.headers
    message = _message(exc.data)
    if status in (403, 429):
        if _header(headers, "x-ratelimit-remaining") == "0":
            reset = _header(headers, "x-ratelimit-reset")
            until_reset = max(float(reset) - now, 1.0) if reset and reset.isdigit() else 60.0
            return TransientError(
                f"GitHub primary rate limit: {message}", retry_after=until_reset + 1
            )
        retry_after = _header(headers, "retry-after")
        if retry_after is not None or "secondary rate limit" in message.lower():
            wait = (
                float(retry_after)
                if retry_after is not None and retry_after.isdigit()
                else SECONDARY_DEFAULT_WAIT
            )
            return TransientError(
                f"GitHub secondary rate limit: {message}", retry_after=wait, escalate=True
            )
    if status >= 500:
        return TransientError(f"GitHub {status}: {message or 'server error'}")
    return PermanentError(f"GitHub {status}: {message or 'request refused'}", status=status)


def classify_response(
    status: int, headers: Mapping[str, Any], body: bytes, *, what: str
) -> TransientError | PermanentError:
    """The same verdict for an answer read without PyGithub (raw httpx, `requestJson`)."""
    try:
        data: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = body.decode("utf-8", errors="replace")[:200]
    verdict = classify(GithubException(status, data, dict(headers)))
    verdict.args = (f"{verdict} ({what})",)
    return verdict


def classify_transport(exc: requests.RequestException) -> TransientError:
    return TransientError(f"GitHub unreachable: {type(exc).__name__}")
