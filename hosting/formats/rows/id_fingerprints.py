"""Uniqueness of ids in tables too large to remember: 8 bytes per id (Python's salted string hash).

A repeated fingerprint only makes the table a *suspect*: the caller compares the real ids, so a
collision never refuses a valid file. Ids in ascending order (the usual export) are never sorted."""

from __future__ import annotations

from array import array
from itertools import islice
from operator import lt

_BUCKETS = 256


class IdFingerprints:
    """Fingerprints of every id added; :meth:`suspects` lists those seen more than once."""

    def __init__(self) -> None:
        self._batches: list[array[int]] = []
        self._ascending = True
        self._last: str | None = None

    def add(self, ids: list[str], *, hashes: bytes | None = None, ascending: bool | None = None) -> None:
        """Add a batch of ids; ``hashes`` (``array("q")``'s bytes of their ``hash``) and ``ascending`` (each
        greater than the one before), when already known (the native scanner's), spare computing them."""
        if not ids:
            return
        if self._ascending:
            if ascending is None:
                ascending = all(map(lt, ids, islice(ids, 1, None)))
            self._ascending = ascending and (self._last is None or self._last < ids[0])
            self._last = ids[-1]
        if hashes is None:
            self._batches.append(array("q", map(hash, ids)))
        else:
            batch = array("q")
            batch.frombytes(hashes)
            self._batches.append(batch)

    def suspects(self) -> set[int]:
        """Fingerprints added twice or more (each bucket sorted in turn: small transient memory)."""
        if self._ascending:
            self._batches.clear()
            return set()
        buckets = [array("q") for _ in range(_BUCKETS)]
        while self._batches:
            for fingerprint in self._batches.pop():
                buckets[fingerprint & 0xFF].append(fingerprint)
        repeated: set[int] = set()
        for bucket in buckets:
            if len(set(bucket)) == len(bucket):
                continue
            ordered = sorted(bucket)
            repeated.update(a for a, b in zip(ordered, ordered[1:], strict=False) if a == b)
        return repeated
