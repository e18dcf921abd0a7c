"""Run an iterator a few items ahead, in a background thread.

Reading, inflating and hashing an entry release the GIL (zlib, hashlib, file
and socket reads all do), so a thread doing them while the caller's thread
validates rows uses the second core: the check keeps up with a bare copy.
Items, and the first exception, come out in order; memory is bounded by
``depth`` items.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_ITEM, _ERROR, _END = 0, 1, 2
_POLL_S = 0.1


class Prefetcher(Generic[T]):
    """Iterate ``items`` in a thread; use as an iterator, and ``close()`` it (or ``with``)."""

    def __init__(self, items: Iterator[T], *, depth: int = 4, name: str = "hphost-prefetch"):
        self._queue: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value  # type: ignore[return-value]
        self._done = True
        if kind == _ERROR:
            assert isinstance(value, BaseException)
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop the thread and wait for it; safe to call twice."""
        self._stop.set()
        self._done = True
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                pass
        self._thread.join()

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._offer((_ITEM, item)):
                    return
        except BaseException as exc:  # noqa: BLE001  handed to the consuming thread, raised there
            self._offer((_ERROR, exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        self._offer((_END, None))

    def _offer(self, message: tuple[int, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False
