"""One typed settings object, read from the environment (prefix `HOOKWISE_`).

It is built once by the entry point (`Settings()`) and passed down; nothing reads the environment at
import time. Secrets are `SecretStr` so they never end up in a log line or a repr.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOOKWISE_", extra="ignore", frozen=True)

    # Comma-separated: during a rotation GitHub signs with the new secret while old deliveries may
    # still be redelivered with the old one, so every listed secret is accepted.
    webhook_secret: SecretStr | None = None
    data_dir: Path = Path("var")
    database_url: str | None = None
    broker_url: str | None = None
    config: Path | None = None
    api_token: SecretStr | None = None

    github_api_url: str = "https://api.github.com"
    github_app_id: int | None = None
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None
    github_token: SecretStr | None = None
    bot_login: str | None = None
    # GitHub asks integrations to leave about a second between content-creating requests.
    github_write_interval_seconds: float = Field(default=1.0, ge=0)
    github_timeout_seconds: int = Field(default=15, gt=0)

    llm_provider: Literal["openai", "anthropic"] | None = None
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None

    max_body_bytes: int = Field(default=25 * MIB, gt=0)
    job_max_attempts: int = Field(default=5, ge=1)
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_requeue_after_seconds: float = Field(default=60.0, gt=0)
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    redeliver_interval_seconds: float = Field(default=300.0, gt=0)
    broker_timeout_seconds: float = Field(default=5.0, gt=0)
    task_time_limit_seconds: int = Field(default=25 * 60, gt=0)
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("github_api_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_github_auth(self) -> Settings:
        if self.github_app_id is not None and not (
            self.github_private_key or self.github_private_key_path
        ):
            raise ValueError(
                "HOOKWISE_GITHUB_APP_ID needs HOOKWISE_GITHUB_PRIVATE_KEY or "
                "HOOKWISE_GITHUB_PRIVATE_KEY_PATH"
            )
        if self.webhook_secret is not None and not self._split_secrets(self.webhook_secret):
            raise ValueError("HOOKWISE_WEBHOOK_SECRET is set but empty")
        return self

    @staticmethod
    def _split_secrets(value: SecretStr) -> tuple[str, ...]:
        return tuple(part.strip() for part in value.get_secret_value().split(",") if part.strip())

    @property
    def github_configured(self) -> bool:
        return self.github_app_id is not None or self.github_token is not None

    @property
    def embedded(self) -> bool:
        """No broker configured: the service runs its own worker on a SQLite-backed broker."""
        return self.broker_url is None

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'hookwise.sqlite'}"

    @cached_property
    def resolved_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        # kombu's SQLAlchemy transport: the same Celery code path with no Redis to install.
        return f"hookwise-sqlite+sqlite:///{self.data_dir / 'broker.sqlite'}"

    @cached_property
    def webhook_secrets(self) -> tuple[str, ...]:
        """Secrets that may have signed a delivery, newest first.

        With none configured, a random secret is generated once and kept in the data directory, so
        `hookwise serve` works on a bare machine and `hookwise replay` signs with the same secret.
        """
        if self.webhook_secret is not None:
            return self._split_secrets(self.webhook_secret)
        return (self._local_secret(),)

    def _local_secret(self) -> str:
        path = self.data_dir / "webhook-secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_hex(32)
        # Written owner-only (mkstemp's mode) and then linked into place: nobody ever sees the file
        # readable by others or half-written, and when two processes start at once the first
        # link wins and both use its secret.
        fd, temporary = tempfile.mkstemp(dir=self.data_dir, prefix=".webhook-secret-")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secret + "\n")
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text().strip()
        finally:
            os.unlink(temporary)
        return secret
