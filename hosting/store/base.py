"""The object-store port: one small interface, two real adapters.

``LocalStore`` (a directory, the embedded default) and ``S3Store`` (boto3:
AWS, MinIO, Ceph, moto) both implement it. Keys are ``/``-separated relative
paths. A put is atomic: readers see the whole object or nothing.
Transient faults raise ``StorageUnavailable`` (after the adapter's own
retries); permanent ones raise ``StorageError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int


class ObjectStore(Protocol):
    def put_stream(self, key: str, stream: BinaryIO, size_bytes: int | None = None) -> None:
        """Store what ``stream`` yields until EOF under ``key`` (streamed, bounded memory; a stream of unknown
        ``size_bytes``, such as an HTTP upload, is held a few small parts at a time)."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def open_read(self, key: str) -> BinaryIO:
        """A seekable, buffered binary reader of the object (S3: ranged GETs)."""

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start..end`` (inclusive) of an object (one ranged GET)."""

    def head(self, key: str) -> ObjectInfo | None:
        """The object's info, or None when it does not exist."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""

    def delete(self, key: str) -> None:
        """Delete one object; deleting a missing key is not an error."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many were deleted."""
