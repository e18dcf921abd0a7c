"""Inflating a large entry in a thread of its own while the caller's thread checks its rows.

Used by a tuned reader only (``HhypReader(tune_interpreter=True)``: ``hphost hhyp check`` and bench):
the switch interval below is process-wide, and a worker's heartbeat threads share it.

zlib, hashlib and file reads release the GIL, so a second thread can inflate,
CRC and hash the next chunks while the caller decodes the current one. Two
things keep that from turning into a convoy (each thread waiting for the other
to hand back the GIL):

* at most ``depth`` chunks wait in a bounded queue (memory stays bounded);
* while the thread runs, the interpreter asks for a thread switch every
  ``SWITCH_INTERVAL_S`` instead of every 5 ms, so the inflating thread gets the
  GIL back promptly after each call into zlib or hashlib (process-wide, so
  counted and restored by the last one out, see :mod:`~hosting.formats.process_wide`).

A fault raised by the inflating thread is raised to the caller in its place in
the stream, after the chunks before it: the caller sees exactly what it would
have seen reading in its own thread.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Generator, Iterator
from typing import cast

from hosting.formats.process_wide import ProcessWide

SWITCH_INTERVAL_S = 0.0002
_END = object()
_POLL_S = 0.05
_switches = ProcessWide(sys.getswitchinterval, sys.setswitchinterval, lambda saved: min(SWITCH_INTERVAL_S, saved))


def read_ahead(chunks: Iterator[bytes], *, depth: int = 4) -> Generator[bytes, None, None]:
    """The items of ``chunks``, produced by a thread of their own at most ``depth`` ahead."""
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
