"""Fewer garbage collections while rows stream.

Decoding a table allocates millions of small lists (ids, weeks) that never
form a cycle; with CPython's default threshold the young generation is
collected every 700 allocations, which doubles the cost of decoding. The
threshold is raised while a reader streams (process-wide, so counted and
restored by the last one out); garbage is still collected, just in larger
batches.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000
_lock = threading.Lock()
_users = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_saved)
