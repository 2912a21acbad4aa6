from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import redis

from service.github_sim.testing import SimHandle, generate_app_key
from tests.workers.github.conftest import app_settings, token_settings
from workers.agents.base import PermanentError
from workers.github.auth import (
    REFRESH_MARGIN,
    InstallationTokens,
    MemoryTokenCache,
    RedisTokenCache,
    TokenCache,
)
from workers.github.client import GitHubFactory


def tokens_for(sim: SimHandle, cache: TokenCache, *, key: str | None = None) -> InstallationTokens:
    return InstallationTokens(
        api_url=sim.api_url,
        app_id=sim.app_id,
        private_key=key or sim.app_private_key_pem,
        cache=cache,
        http=httpx.Client(),
    )


@pytest.fixture
def redis_cache(redis_broker_url: str) -> RedisTokenCache:
    client = redis.Redis.from_url(redis_broker_url)
    client.flushdb()
    return RedisTokenCache(client)


def test_installation_token_authenticates_as_the_app(sim: SimHandle) -> None:
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "widgets")
    installation = sim.admin.create_installation("acme")
    token = tokens_for(sim, MemoryTokenCache()).token(installation)
    response = sim.client(token).get("/repos/acme/widgets")
    assert response.status_code == 200
    assert response.json()["full_name"] == "acme/widgets"


def test_token_is_shared_across_processes_through_redis(
    sim: SimHandle, redis_cache: RedisTokenCache
) -> None:
    sim.admin.create_user("acme")
    installation = sim.admin.create_installation("acme")
    first = tokens_for(sim, redis_cache).token(installation)
    # A second worker (another InstallationTokens, same Redis) reuses the token.
    second = tokens_for(sim, redis_cache).token(installation)
    assert first == second


@pytest.mark.usefixtures("redis_cache")  # an empty cache
def test_concurrent_refresh_mints_one_token(sim: SimHandle, redis_broker_url: str) -> None:
    sim.admin.create_user("acme")
    installation = sim.admin.create_installation("acme")
    # Each mint takes a while, so without the shared lock all six workers would be minting at
    # once and GitHub would hand out six tokens.
    sim.admin.inject_fault("slow", path="/access_tokens$", delay=0.5, count=6)
    seen: list[str] = []
    # Six workers, each with its own Redis connection, as six processes would have.
    workers = [
        tokens_for(sim, RedisTokenCache(redis.Redis.from_url(redis_broker_url))) for _ in range(6)
    ]
    threads = [
        threading.Thread(target=lambda w=w: seen.append(w.token(installation))) for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 6
    assert len(set(seen)) == 1
    assert len(sim.admin.state()["installation_tokens"]) == 1  # GitHub was asked once


def test_an_expired_lock_holder_never_releases_the_next_holders_lock(
    redis_broker_url: str,
) -> None:
    client = redis.Redis.from_url(redis_broker_url)
    cache = RedisTokenCache(client, prefix="hookwise:test-lock:", lock_ttl_seconds=0.2)
    first = cache.lock("k", timeout=1)
    assert first is not None
    time.sleep(0.3)  # the first holder stalled past its lock's lifetime
    second = cache.lock("k", timeout=1)
    assert second is not None
    cache.unlock("k", first)  # late: must not free the second holder's lock
    assert cache.lock("k", timeout=0.1) is None
    cache.unlock("k", second)
    third = cache.lock("k", timeout=0.1)
    assert third is not None
    cache.unlock("k", third)


def test_token_is_refreshed_before_it_expires(sim: SimHandle) -> None:
    sim.admin.create_user("acme")
    installation = sim.admin.create_installation("acme")
    # Tokens that live shorter than the refresh margin are stale at once: each call mints anew.
    sim.admin.set_installation_token_ttl(REFRESH_MARGIN - 10)
    tokens = tokens_for(sim, MemoryTokenCache())
    first = tokens.token(installation)
    time.sleep(1.1)
    assert tokens.token(installation) != first
    sim.admin.set_installation_token_ttl(3600)
    long_lived = tokens.token(installation)
    assert tokens.token(installation) == long_lived


def test_wrong_key_is_refused(sim: SimHandle) -> None:
    sim.admin.create_user("acme")
    installation = sim.admin.create_installation("acme")
    with pytest.raises(PermanentError, match="401"):
        tokens_for(sim, MemoryTokenCache(), key=generate_app_key()).token(installation)


def test_identity_of_an_app_is_its_bot_user(sim: SimHandle, tmp_path: Path) -> None:
    factory = GitHubFactory(app_settings(sim, tmp_path), token_cache=MemoryTokenCache())
    assert factory.identity.login == sim.bot_login
    assert factory.identity.app_id == sim.app_id


def test_identity_of_a_token_is_its_user(sim: SimHandle, tmp_path: Path) -> None:
    factory = GitHubFactory(token_settings(sim, tmp_path), token_cache=MemoryTokenCache())
    assert factory.identity.login == "hookwise-user"
    gh = factory.for_installation(None)
    assert gh.get_user().login == "hookwise-user"


def test_app_without_installation_is_a_clear_error(sim: SimHandle, tmp_path: Path) -> None:
    factory = GitHubFactory(app_settings(sim, tmp_path), token_cache=MemoryTokenCache())
    with pytest.raises(PermanentError, match="no installation"):
        factory.for_installation(None)
