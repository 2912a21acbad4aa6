from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_secrets_are_split_for_rotation() -> None:
    settings = Settings(webhook_secret=" new , old ,")
    assert settings.webhook_secrets == ("new", "old")
    assert "new" not in repr(settings)


def test_without_a_secret_one_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).webhook_secrets
    again = Settings(data_dir=tmp_path).webhook_secrets
    assert first == again
    assert len(first[0]) == 64
    assert (tmp_path / "webhook-secret").stat().st_mode & 0o777 == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["webhook-secret"]


def test_processes_starting_together_agree_on_the_generated_secret(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = set(pool.map(lambda _: Settings(data_dir=tmp_path).webhook_secrets, range(32)))
    assert len(found) == 1
    assert found == {((tmp_path / "webhook-secret").read_text().strip(),)}


def test_embedded_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.embedded
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/hookwise.sqlite"
    assert settings.resolved_broker_url.endswith(f"{tmp_path}/broker.sqlite")
    assert not Settings(broker_url="redis://127.0.0.1:6379/0").embedded


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKWISE_DATABASE_URL", "postgresql://db/hookwise")
    monkeypatch.setenv("HOOKWISE_GITHUB_API_URL", "https://ghe.example/api/v3/")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql://db/hookwise"
    assert settings.github_api_url == "https://ghe.example/api/v3"


@pytest.mark.parametrize(
    "values",
    [{"github_app_id": 1}, {"webhook_secret": " , "}, {"max_body_bytes": 0}],
)
def test_invalid_settings_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**values)  # type: ignore[arg-type]
