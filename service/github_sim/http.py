"""HTTP helpers GitHub-style: JSON answers with ETag/304, Link pagination, error bodies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from service.github_sim.world import SimError

T = TypeVar("T")
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


def error_response(error: SimError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def json_answer(
    request: Request,
    document: Any,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON answer; GETs carry a weak ETag and answer 304 to a matching `If-None-Match`."""
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    all_headers = dict(headers or {})
    if request.method == "GET" and status == 200:
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        all_headers["ETag"] = etag
        candidates = {
            tag.strip() for tag in request.headers.get("if-none-match", "").split(",") if tag
        }
        # GitHub compares weakly: a strong tag matches its weak twin.
        if etag in candidates or etag.removeprefix("W/") in candidates:
            request.state.not_modified = True
            return Response(status_code=304, headers=all_headers)
    return Response(
        content=body,
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=all_headers,
    )


def page_params(request: Request) -> tuple[int, int]:
    try:
        per_page = int(request.query_params.get("per_page", DEFAULT_PER_PAGE))
        page = int(request.query_params.get("page", 1))
    except ValueError as error:
        raise SimError(422, "Invalid pagination parameter") from error
    return max(1, min(per_page, MAX_PER_PAGE)), max(1, page)


def paginate(request: Request, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """One page of `items` and GitHub's `Link` header (next/last/first/prev as they apply)."""
    per_page, page = page_params(request)
    last = max(1, -(-len(items) // per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    links: list[str] = []

    def url_for(number: int) -> str:
        query = dict(request.query_params)
        query.update({"per_page": str(per_page), "page": str(number)})
        return f"{str(request.url).split('?', 1)[0]}?{urlencode(query)}"

    if page > 1:
        links.append(f'<{url_for(page - 1)}>; rel="prev"')
    if page < last:
        links.append(f'<{url_for(page + 1)}>; rel="next"')
        links.append(f'<{url_for(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url_for(1)}>; rel="first"')
    return chunk, ({"Link": ", ".join(links)} if links else {})


def cursor_paginate(
    request: Request, items: Sequence[T], *, cursor_of: Callable[[T], str]
) -> tuple[list[T], dict[str, str]]:
    """GitHub's cursor pages (hook deliveries): `cursor` names the item to start after."""
    per_page, _ = page_params(request)
    cursor = request.query_params.get("cursor")
    start = 0
    if cursor:
        positions = [index for index, item in enumerate(items) if cursor_of(item) == cursor]
        start = positions[0] + 1 if positions else len(items)
    chunk = list(items[start : start + per_page])
    if start + per_page >= len(items) or not chunk:
        return chunk, {}
    query = dict(request.query_params)
    query.update({"per_page": str(per_page), "cursor": cursor_of(chunk[-1])})
    url = f"{str(request.url).split('?', 1)[0]}?{urlencode(query)}"
    return chunk, {"Link": f'<{url}>; rel="next"'}


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise SimError(400, "Problems parsing JSON") from error
    if not isinstance(document, dict):
        raise SimError(400, "Body should be a JSON object")
    return document
