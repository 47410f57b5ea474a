"""The cyclic garbage collector paused while a read builds a large tree of objects.

A heavy person's evidence holds about ten objects per check-in until it returns: a trail
row, its decoded JSON, a check-in item, its citation. For 10,000 check-ins that is more
than 100,000 objects, all alive, so each survives the young collections; every few
thousand promoted the collector runs a full collection over all of them, and the work
grows with the square of the read. Timed at 1M events, alternating in one process, the
read took 1,359 ms with the collector on and 951 ms with it paused. None of those objects
is in a cycle (they are trees of dataclasses, dicts and lists), so the collections found
nothing; what a read leaves behind is freed by reference counting when it returns.

The pause is process-wide, as the collector is: requests served meanwhile on other threads
allocate without collections too, for as long as the longest heavy read. Cycles they make
are collected at the next collection after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block: the collector is off until the last of
    any concurrent pauses ends, then on again if it was on before the first."""
    global _paused, _resume  # noqa: PLW0603 - one collector per process, so one count
    with _lock:
        if _paused == 0:
            _resume = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _resume:
                gc.enable()
