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
    there `linger` seconds later. A `None` in the queue ends the
    stream after the items before it."""
    while True:
        first = source.get()
        if first is None:
            return
        batch = [first]
        stopping = False
        if linger > 0:
            # Sleeping, rather than waiting on the queue, leaves the producers' puts without a
            # thread to wake for each item.
            time.sleep(linger)
        while len(batch) < limit:
            try:
                item = source.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stopping = True
                break
            batch.append(item)
        yield batch
        if stopping:
            return
