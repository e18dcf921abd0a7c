"""Fewer garbage collections while rows stream.

Decoding a table allocates millions of small lists (ids, weeks) that never
form a cycle; with CPython's default threshold the young generation is
collected every 700 allocations, which doubles the cost of decoding. The
threshold is raised while a tuned reader streams (``HhypReader(tune_interpreter=True)``:
``hphost hhyp check`` and bench, never a worker, whose heartbeat threads share the
setting); process-wide, so counted and restored by the last one out, see
:mod:`~hosting.formats.process_wide`. Garbage is still collected, in larger batches.
"""

from __future__ import annotations

import gc

from hosting.formats.process_wide import ProcessWide

YOUNG_THRESHOLD = 50_000

_threshold: ProcessWide[tuple[int, int, int]] = ProcessWide(
    gc.get_threshold, lambda threshold: gc.set_threshold(*threshold),
    lambda saved: (max(YOUNG_THRESHOLD, saved[0]), *saved[1:]))
fewer_collections = _threshold.held
