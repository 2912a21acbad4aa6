"""The one GitHub publisher (see `workers.github.publishing`)."""

from __future__ import annotations

from workers.github.publishing.publisher import GitHubPublisher

__all__ = ["GitHubPublisher"]
