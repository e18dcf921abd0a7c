"""A process-wide interpreter setting changed while some code needs it, restored by the last one out.

The reader tunes two settings while it streams (the garbage collector's
threshold, the thread switch interval). Readers may run in several threads of
one process at once, so each change is counted: the first user saves the value
and sets the tuned one, the last one out restores what was saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class ProcessWide(Generic[T]):
    """``get`` and ``set`` the setting; ``tuned`` gives the value to hold from the one saved."""

    def __init__(self, get: Callable[[], T], set: Callable[[T], object], tuned: Callable[[T], T]):  # noqa: A002
        self._get, self._set, self._tuned = get, set, tuned
        self._lock = threading.Lock()
        self._users = 0
        self._saved: T | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved = self._get()
                self._set(self._tuned(self._saved))
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._set(cast(T, self._saved))  # set when the first user came in
