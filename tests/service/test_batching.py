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


def test_a_linger_collects_what_arrives_shortly_after_the_first_item() -> None:
    import threading

    source: queue.Queue[str | None] = queue.Queue()
    source.put("a")
    late = threading.Timer(0.05, source.put, args=("b",))
    late.start()
    stream = batches(source, limit=10, linger=1.0)
    try:
        assert next(stream) == ["a", "b"]
    finally:
        late.join()


def test_a_lingering_batch_still_respects_the_limit_and_the_end_marker() -> None:
    source: queue.Queue[str | None] = queue.Queue()
    for item in ["a", "b", "c", None, "d"]:
        source.put(item)
    assert list(batches(source, limit=2, linger=0.01)) == [["a", "b"], ["c"]]
    assert source.get_nowait() == "d"
