from __future__ import annotations

import gc

from service.app import freeze_startup_objects


def test_startup_objects_are_kept_out_of_the_collectors_sight() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    long_lived = Cycle()
    assert gc.is_tracked(long_lived)
    try:
        freeze_startup_objects()
        # A frozen object is in the permanent generation: no collection walks it again.
        assert gc.get_freeze_count() > 0
        assert not any(tracked_in(generation, long_lived) for generation in range(3))
    finally:
        gc.unfreeze()
    assert any(tracked_in(generation, long_lived) for generation in range(3))


def tracked_in(generation: int, target: object) -> bool:
    return any(candidate is target for candidate in gc.get_objects(generation))
