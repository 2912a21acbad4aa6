"""Hidden markers: HTML comments GitHub does not render, by which Hookwise finds its own posts.

The automation name is percent-encoded so that no name can close the comment early (`-->`) or
make one marker a prefix of another's.
"""

from __future__ import annotations

from urllib.parse import quote

PREFIX = "<!-- hookwise:"


def _name(automation: str) -> str:
    return quote(automation, safe="")


def sticky_comment(automation: str) -> str:
    """One comment per automation and issue, edited in place on re-runs."""
    return f"{PREFIX}automation={_name(automation)} -->"


def job_comment(automation: str, *, job_id: str, index: int) -> str:
    """A comment posted once per job (the `index`-th non-sticky comment of its Result)."""
    return f"{PREFIX}automation={_name(automation)} job={job_id} n={index} -->"


def review(automation: str, *, commit_sha: str) -> str:
    """At most one review per automation and head sha."""
    return f"{PREFIX}automation={_name(automation)} review={commit_sha} -->"


def with_marker(body: str, marker: str) -> str:
    return f"{body.rstrip()}\n\n{marker}"


def has_marker(body: str | None, marker: str) -> bool:
    return body is not None and marker in body
