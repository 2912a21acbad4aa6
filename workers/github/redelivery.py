"""Ask GitHub again for deliveries it failed to send us.

GitHub never retries a failed webhook delivery on its own, and keeps a hook's delivery log for about
three days. Whatever Hookwise never recorded in that window (the service was down, a proxy dropped
it, the database refused it) is requested again through `POST /app/hook/deliveries/{id}/attempts`.
The redelivery carries the same `X-GitHub-Delivery`, so the intake's de-duplication still holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from workers.agents.base import TransientError
from workers.github.client import GitHubFactory
from workers.github.errors import classify_response

log = structlog.get_logger(__name__)

WINDOW = dt.timedelta(days=3)
MAX_PAGES = 50


@dataclass(frozen=True, slots=True)
class RedeliveryReport:
    examined: int
    requested: tuple[str, ...]  # delivery guids asked for again


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _pages(http: httpx.Client, url: str, headers: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    next_url: str | None = url
    params: dict[str, str] | None = {"per_page": "100"}
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        response = http.get(next_url, params=params, headers=headers, timeout=30)
        if response.status_code != 200:
            raise classify_response(
                response.status_code,
                response.headers,
                response.content,
                what="listing hook deliveries",
            )
        yield response.json()
        next_url = response.links.get("next", {}).get("url")
        params = None  # the `next` link carries the cursor and page size


def missed_deliveries(
    items: list[dict[str, Any]],
    *,
    recorded: Callable[[Collection[str]], set[str]],
    since: dt.datetime,
) -> list[dict[str, Any]]:
    """Per delivery guid, the latest attempt, if no attempt succeeded, none was a redelivery we
    already asked for, and Hookwise has no record of it."""
    by_guid: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if _parse_time(item["delivered_at"]) >= since:
            by_guid.setdefault(item["guid"], []).append(item)
    candidates = {
        guid: attempts
        for guid, attempts in by_guid.items()
        if not any(200 <= int(a.get("status_code") or 0) < 300 for a in attempts)
        # One request per guid: if our redelivery failed too, a person should look.
        and not any(a.get("redelivery") for a in attempts)
    }
    known = recorded(list(candidates))
    return [
        max(attempts, key=lambda a: _parse_time(a["delivered_at"]))
        for guid, attempts in candidates.items()
        if guid not in known
    ]


def redeliver_missed(
    factory: GitHubFactory,
    *,
    recorded: Callable[[Collection[str]], set[str]],
    now: dt.datetime | None = None,
    http: httpx.Client | None = None,
) -> RedeliveryReport:
    """Request redelivery of the App's failed deliveries of the last three days that Hookwise
    never recorded. `recorded(guids)` answers which of the guids are in our database."""
    now = now or dt.datetime.now(dt.UTC)
    since = now - WINDOW
    client = http or httpx.Client()
    headers = {
        "Authorization": f"Bearer {factory.app_jwt()}",
        "Accept": "application/vnd.github+json",
    }
    items: list[dict[str, Any]] = []
    try:
        for page in _pages(client, f"{factory.api_url}/app/hook/deliveries", headers):
            items.extend(page)
            if page and _parse_time(page[-1]["delivered_at"]) < since:
                break  # newest first: the rest is older than the window
        requested: list[str] = []
        for item in missed_deliveries(items, recorded=recorded, since=since):
            response = client.post(
                f"{factory.api_url}/app/hook/deliveries/{item['id']}/attempts",
                headers=headers,
                timeout=30,
            )
            if response.status_code == 202:
                requested.append(item["guid"])
            else:
                log.warning("redelivery refused", guid=item["guid"], status=response.status_code)
    except httpx.TransportError as exc:
        raise TransientError(f"GitHub unreachable: {type(exc).__name__}") from exc
    finally:
        if http is None:
            client.close()
    if requested:
        log.info("requested redelivery", count=len(requested), guids=requested)
    return RedeliveryReport(examined=len(items), requested=tuple(requested))
