"""The one GitHub client factory: PyGithub pointed at `HOOKWISE_GITHUB_API_URL`.

PyGithub's own retry policy sleeps through rate limits inside the worker (a secondary limit can
hold a worker for minutes); ours retries only idempotent requests on 5xx, briefly, and turns every
other failure into a `TransientError` or `PermanentError` the job runner schedules properly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import httpx
import requests
from github import Auth, Github, GithubException
from urllib3.util.retry import Retry

from service.settings import Settings
from workers.agents.base import PermanentError, TransientError
from workers.github.auth import InstallationTokens, TokenCache
from workers.github.errors import classify, classify_response, classify_transport

USER_AGENT = "Hookwise"


def _retry_policy() -> Retry:
    # urllib3 retries GET, PUT, DELETE (not POST or PATCH) by default: a 502 after a POST may
    # mean the comment was created, and the publisher's markers handle that on the job's retry.
    return Retry(
        total=3,
        connect=2,
        read=2,
        status=2,
        status_forcelist=(500, 502, 503, 504),
        backoff_factor=0.5,
        backoff_jitter=0.5,
        backoff_max=5,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


@contextmanager
def github_errors() -> Iterator[None]:
    """Turn PyGithub and transport errors into the job runner's retry/fail decisions."""
    try:
        yield
    except GithubException as exc:
        raise classify(exc) from exc
    except requests.RequestException as exc:
        raise classify_transport(exc) from exc


@dataclass(frozen=True, slots=True)
class Identity:
    login: str
    app_id: int | None = None


class GitHubFactory:
    """Builds authenticated PyGithub clients: per installation for an App, or from a token."""

    def __init__(self, settings: Settings, *, token_cache: TokenCache) -> None:
        self._settings = settings
        self._http = httpx.Client()
        self._tokens: InstallationTokens | None = None
        if settings.github_app_id is not None:
            self._tokens = InstallationTokens(
                api_url=settings.github_api_url,
                app_id=settings.github_app_id,
                private_key=self._private_key(settings),
                cache=token_cache,
                http=self._http,
            )
        elif settings.github_token is None:
            raise PermanentError("no GitHub credentials configured")

    @staticmethod
    def _private_key(settings: Settings) -> str:
        if settings.github_private_key is not None:
            return settings.github_private_key.get_secret_value()
        if settings.github_private_key_path is not None:
            return settings.github_private_key_path.read_text()
        raise PermanentError("HOOKWISE_GITHUB_APP_ID needs a private key")

    def _client(self, auth: Auth.Auth) -> Github:
        return Github(
            auth=auth,
            base_url=self._settings.github_api_url,
            timeout=self._settings.github_timeout_seconds,
            user_agent=USER_AGENT,
            per_page=100,
            retry=_retry_policy(),
            seconds_between_requests=None,
            seconds_between_writes=self._settings.github_write_interval_seconds or None,
        )

    def for_installation(self, installation_id: int | None) -> Github:
        """A client acting as the App's installation, or with the configured token."""
        if self._tokens is not None:
            if installation_id is None:
                raise PermanentError("event has no installation; is the GitHub App installed?")
            return self._client(Auth.Token(self._tokens.token(installation_id)))
        token = self._settings.github_token
        if token is None:
            raise PermanentError("no GitHub credentials configured")
        return self._client(Auth.Token(token.get_secret_value()))

    @property
    def is_app(self) -> bool:
        return self._tokens is not None

    def app_jwt(self) -> str:
        """A JWT authenticating as the App itself (for `/app/...` endpoints)."""
        if self._tokens is None:
            raise PermanentError("this needs a GitHub App (HOOKWISE_GITHUB_APP_ID)")
        return self._tokens.jwt()

    @property
    def api_url(self) -> str:
        return self._settings.github_api_url

    @cached_property
    def identity(self) -> Identity:
        """Who Hookwise is on GitHub: the App's bot user, or the token's user (loop guard)."""
        if self._tokens is not None:
            try:
                response = self._http.get(
                    f"{self._settings.github_api_url}/app",
                    headers={"Authorization": f"Bearer {self._tokens.jwt()}"},
                    timeout=15,
                )
            except httpx.TransportError as exc:
                raise TransientError(f"GitHub unreachable: {type(exc).__name__}") from exc
            if response.status_code != 200:
                raise classify_response(
                    response.status_code, response.headers, response.content, what="GET /app"
                )
            slug = response.json()["slug"]
            return Identity(login=f"{slug}[bot]", app_id=self._settings.github_app_id)
        with github_errors():
            return Identity(login=self.for_installation(None).get_user().login)

    def close(self) -> None:
        self._http.close()
