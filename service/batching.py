"""Draining a queue in batches: whatever piled up while the consumer was busy goes out together."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def batches(
    source: queue.Queue[T | None] | queue.SimpleQueue[T | None],
    *,
    limit: int,
    linger: float = 0.0,
) -> Iterator[list[T]]:
    """Yield lists of up to `limit` items: each waits for one item, then takes what else is
    already there, or arrives within `linger` seconds of the first. A `None` in the queue ends the
    stream after the items before it."""
    while True:
        first = source.get()
        if first is None:
            return
        batch = [first]
        stopping = False
        deadline = time.monotonic() + linger
        while len(batch) < limit:
            try:
                wait = deadline - time.monotonic()
                item = source.get(timeout=wait) if wait > 0 else source.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stopping = True
                break
            batch.append(item)
        yield batch
        if stopping:
            return
