"""The one publisher: turns an agent's Result into side effects, each idempotent.

Today it delivers notifications (JSON POSTs outside GitHub). GitHub outputs (labels, sticky
comments, reviews, check runs, draft PRs) go through the GitHub publisher, which needs GitHub
credentials; a Result that needs GitHub when none are configured fails the job with that reason.
"""

from __future__ import annotations

from typing import Protocol

import httpx
import structlog
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from workers.agents.base import AgentContext, Notification, PermanentError, Result, TransientError

log = structlog.get_logger(__name__)

USER_AGENT = "Hookwise (+https://github.com/hookwise)"


class GitHubPublisher(Protocol):
    def publish(self, result: Result, *, context: AgentContext) -> None: ...


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


def send_notification(client: httpx.Client, notification: Notification, *, job_id: str) -> None:
    """POST with a timeout, retrying 5xx, 429 and network errors with jittered backoff.

    The job id goes along as an idempotency key: a job re-run after a crash may POST again, and a
    receiver that cares can drop the repeat.
    """
    retrying = Retrying(
        stop=stop_after_attempt(notification.retries + 1),
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                response = client.post(
                    notification.url,
                    json=notification.payload,
                    timeout=notification.timeout,
                    headers={"Idempotency-Key": job_id, "User-Agent": USER_AGENT},
                )
                response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        message = f"notify {where(notification.url)}: HTTP {exc.response.status_code}"
        if _retryable(exc):
            raise TransientError(message) from exc
        raise PermanentError(message) from exc
    except httpx.TransportError as exc:
        raise TransientError(f"notify {where(notification.url)}: {type(exc).__name__}") from exc


def where(url: str) -> str:
    """The URL's scheme and host, for reasons and logs. The path stays out: incoming-webhook URLs
    (Slack, Teams, Discord) carry their credential there, and job reasons are shown by the API."""
    parts = httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"


class ResultPublisher:
    def __init__(self, *, http: httpx.Client, github: GitHubPublisher | None) -> None:
        self._http = http
        self._github = github

    def publish(self, result: Result, *, context: AgentContext) -> None:
        if result.touches_github:
            if self._github is None:
                raise PermanentError(
                    "this result posts to GitHub, but no GitHub credentials are configured "
                    "(HOOKWISE_GITHUB_APP_ID + key, or HOOKWISE_GITHUB_TOKEN)"
                )
            self._github.publish(result, context=context)
        for notification in result.notifications:
            send_notification(self._http, notification, job_id=context.job_id)
