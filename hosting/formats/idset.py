"""Uniqueness of ids in tables too large to remember: 8 bytes per id, whatever the id.

Students and courses run to hundreds of thousands of rows and nothing refers
to them, so their ids are kept only as 64-bit fingerprints (Python's salted
string hash, so nobody can aim collisions at a given process) in 256 sorted-
on-demand arrays. A repeated fingerprint makes the table a *suspect*: the
caller then re-reads the table and compares the real ids, so a collision
never refuses a valid file and a real duplicate is named by its line.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

_BUCKETS = 256


class IdFingerprints:
    """Fingerprints of every id added; :meth:`suspects` lists those seen more than once."""

    def __init__(self) -> None:
        self._buckets = [array("q") for _ in range(_BUCKETS)]

    def add(self, ids: Iterable[str]) -> None:
        buckets = self._buckets
        for fingerprint in map(hash, ids):
            buckets[fingerprint & 0xFF].append(fingerprint)

    def suspects(self) -> set[int]:
        """Fingerprints added twice or more (each bucket sorted in turn: small transient memory)."""
        repeated: set[int] = set()
        for bucket in self._buckets:
            if len(set(bucket)) == len(bucket):
                continue
            ordered = sorted(bucket)
            repeated.update(a for a, b in zip(ordered, ordered[1:], strict=False) if a == b)
        return repeated
