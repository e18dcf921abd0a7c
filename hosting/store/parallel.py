"""Many small puts at once, in bounded memory, for a caller that streams entries one by one.

An archive of thousands of photos is thousands of round trips; one after the
other, each waits for the last, and under a flaky store each also waits out
its backoff alone. :class:`ParallelPuts` reads a small entry whole (which, for
a verifying reader, verifies it), hands the bytes to a small thread pool and
returns so the caller streams the next entry. Large entries go through
``put_stream`` on the caller's thread, as before. Bytes in flight and puts
queued are capped, so the caller runs only a little ahead of the pool.

The first failure of any put is raised by the next call (or by ``__exit__``);
on any error no put is left running: pending ones are cancelled and running
ones awaited, so whoever cleans up after the error sees every object that will
ever be written.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from hosting.store.base import ObjectStore


class ParallelPuts:
    def __init__(self, store: ObjectStore, *, workers: int = 4, small_bytes: int = 4 << 20,
                 max_inflight_bytes: int = 32 << 20):
        self.store = store
        self.small_bytes = min(small_bytes, max_inflight_bytes)
        self.done = 0
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="put")
        self._room = threading.Condition()
        self._inflight_bytes = 0
        self._max_inflight_bytes = max_inflight_bytes
        self._max_pending = 2 * max(1, workers)  # the caller runs little ahead of the pool
        self._queued = 0  # puts submitted and not finished
        self._futures: set[Future[None]] = set()  # to cancel; may keep a few finished ones
        self._failure: BaseException | None = None

    def put(self, key: str, stream: BinaryIO, size_bytes: int) -> None:
        self._raise_failure()
        if size_bytes > self.small_bytes:
            self.store.put_stream(key, stream, size_bytes)
            with self._room:
                self.done += 1
            return
        data = stream.read()
        size = len(data)
        with self._room:
            self._room.wait_for(lambda: self._failure is not None or (
                self._inflight_bytes + size <= self._max_inflight_bytes
                and self._queued < self._max_pending))
            self._raise_failure()
            self._inflight_bytes += size
            self._queued += 1
            future = self._pool.submit(self.store.put_bytes, key, data)
            self._futures.add(future)
        future.add_done_callback(lambda finished: self._finished(finished, size))

    def wait(self) -> None:
        """Return once every put is stored; raise the first failure as soon as it happens."""
        with self._room:
            self._room.wait_for(lambda: self._failure is not None or not self._queued)
        self._raise_failure()

    def close(self) -> None:
        """Cancel what has not started, await what has; never raises."""
        for future in self._snapshot():
            future.cancel()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> ParallelPuts:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            if exc_type is None:
                self.wait()
        finally:
            self.close()

    def _finished(self, future: Future[None], size: int) -> None:
        with self._room:
            self._inflight_bytes -= size
            self._queued -= 1
            self._futures.discard(future)
            if not future.cancelled():
                failure = future.exception()
                if failure is None:
                    self.done += 1
                elif self._failure is None:
                    self._failure = failure
            self._room.notify_all()

    def _snapshot(self) -> list[Future[None]]:
        with self._room:
            return list(self._futures)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
