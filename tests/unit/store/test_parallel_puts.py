"""ParallelPuts: every put lands, memory in flight is capped, and a failure leaves nothing running."""

from __future__ import annotations

import io
import threading
import time

import pytest

from hosting.errors import TransientError
from hosting.store.local import LocalStore
from hosting.store.parallel import ParallelPuts


class SlowStore(LocalStore):
    """A LocalStore whose puts take a while and can be told to fail; it records the peak of bytes in flight."""

    def __init__(self, root, *, fail_key: str | None = None):
        super().__init__(root)
        self.fail_key = fail_key
        self.lock = threading.Lock()
        self.inflight = self.peak_inflight = self.running = self.peak_running = 0
        self.finished_after_failure: list[str] = []
        self.failed_at: float | None = None

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.lock:
            self.inflight += len(data)
            self.running += 1
            self.peak_inflight = max(self.peak_inflight, self.inflight)
            self.peak_running = max(self.peak_running, self.running)
        try:
            time.sleep(0.02)
            if key == self.fail_key:
                self.failed_at = time.monotonic()
                raise TransientError(where={"key": key})
            super().put_bytes(key, data)
            if self.failed_at is not None:
                self.finished_after_failure.append(key)
        finally:
            with self.lock:
                self.inflight -= len(data)
                self.running -= 1


def _nothing_left_to_put(store: SlowStore) -> bool:
    """No put runs and the pool's threads are gone: what is stored now is all that will ever be."""
    return store.running == 0 and not [thread for thread in threading.enumerate() if thread.name.startswith("put_")]


def put_all(puts: ParallelPuts, sizes: list[int]) -> None:
    for index, size in enumerate(sizes):
        puts.put(f"k/{index:04d}", io.BytesIO(bytes([index % 251]) * size), size)


def test_every_put_lands_with_its_bytes_and_runs_concurrently(tmp_path):
    store = SlowStore(tmp_path)
    sizes = [1000 + index for index in range(60)] + [3 << 20]  # the last one is streamed on the caller's thread
    with ParallelPuts(store, workers=4, small_bytes=1 << 20) as puts:
        put_all(puts, sizes)
        puts.wait()
        assert puts.done == len(sizes)
    assert [info.key for info in store.list("k/")] == [f"k/{index:04d}" for index in range(len(sizes))]
    assert store.get_bytes("k/0007") == bytes([7]) * 1007
    assert store.peak_running > 1


def test_bytes_in_flight_stay_under_the_cap(tmp_path):
    store = SlowStore(tmp_path)
    with ParallelPuts(store, workers=8, small_bytes=100_000, max_inflight_bytes=250_000) as puts:
        put_all(puts, [100_000] * 20)
    assert 100_000 <= store.peak_inflight <= 250_000
    assert len(list(store.list("k/"))) == 20


def test_a_failed_put_is_raised_and_nothing_keeps_running_after_exit(tmp_path):
    store = SlowStore(tmp_path, fail_key="k/0010")
    with pytest.raises(TransientError), ParallelPuts(store, workers=4) as puts:
        put_all(puts, [500] * 200)
    # the caller was stopped well before the 200th entry, and once the error is raised no put
    # is still running: whoever cleans up now sees every object that will ever exist
    stored = {info.key for info in store.list("k/")}
    assert "k/0010" not in stored and len(stored) < 150
    assert _nothing_left_to_put(store)


def test_an_error_of_the_caller_cancels_what_is_queued(tmp_path):
    store = SlowStore(tmp_path)
    with pytest.raises(ValueError), ParallelPuts(store, workers=2) as puts:
        put_all(puts, [500] * 50)
        raise ValueError("the reader refused the next entry")
    assert len({info.key for info in store.list("k/")}) < 50
    assert _nothing_left_to_put(store)
