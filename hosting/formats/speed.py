"""The speed knobs of a tuned reader (``HhypReader(tune_interpreter=True)``: ``hphost hhyp check`` and
bench, never a worker, whose heartbeat threads share these process-wide settings): a higher GC
threshold while rows stream (:func:`fewer_collections`), and a large entry inflated a few chunks ahead
in a thread of its own (:func:`read_ahead`). :class:`ProcessWide` restores a setting when the last user leaves."""

from __future__ import annotations

import gc
import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterator
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


YOUNG_THRESHOLD = 50_000

_threshold: ProcessWide[tuple[int, int, int]] = ProcessWide(
    gc.get_threshold, lambda threshold: gc.set_threshold(*threshold),
    lambda saved: (max(YOUNG_THRESHOLD, saved[0]), *saved[1:]))
fewer_collections = _threshold.held

SWITCH_INTERVAL_S = 0.0002
_END = object()
_POLL_S = 0.05
_switches = ProcessWide(sys.getswitchinterval, sys.setswitchinterval, lambda saved: min(SWITCH_INTERVAL_S, saved))


def read_ahead(chunks: Iterator[bytes], *, depth: int = 4) -> Generator[bytes, None, None]:
    """The items of ``chunks``, produced by a thread of their own at most ``depth`` ahead; a fault of
    that thread is raised in its place in the stream, after the chunks before it."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(chunks, ready, stop), name="hhyp-read-ahead", daemon=True)
    with _switches.held():
        thread.start()
        try:
            while (item := ready.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield cast(bytes, item)  # neither _END nor a fault: a chunk
        finally:
            stop.set()
            while thread.is_alive():  # unblock a producer waiting on a full queue
                _drain(ready)
                thread.join(_POLL_S)


def _produce(chunks: Iterator[bytes], ready: queue.Queue[object], stop: threading.Event) -> None:
    item: object = _END
    try:
        for chunk in chunks:
            if not _put(ready, chunk, stop):
                return
    except BaseException as exc:  # handed to the caller's thread, raised there
        item = exc
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    _put(ready, item, stop)


def _put(ready: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            ready.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _drain(ready: queue.Queue[object]) -> None:
    try:
        while True:
            ready.get_nowait()
    except queue.Empty:
        pass
