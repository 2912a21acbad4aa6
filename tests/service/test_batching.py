from __future__ import annotations

import queue

from service.batching import batches


def test_takes_what_piled_up_up_to_the_limit_and_stops_at_none() -> None:
    source: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    for item in [1, 2, 3, 4, 5, None, 6]:
        source.put(item)
    assert list(batches(source, limit=2)) == [[1, 2], [3, 4], [5]]
    assert source.get_nowait() == 6  # nothing after the end marker was consumed


def test_each_batch_waits_for_its_first_item_only() -> None:
    source: queue.Queue[str | None] = queue.Queue()
    source.put("a")
    stream = batches(source, limit=10)
    assert next(stream) == ["a"]
    source.put("b")
    source.put("c")
    source.put(None)
    assert list(stream) == [["b", "c"]]
