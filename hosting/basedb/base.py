"""The base-database port: where an instantiated base's tables live.

Two real adapters: one SQLite file per base (embedded default) and one
PostgreSQL schema per base (production). A base is built under a temporary
name and renamed into place as the very last step, so a base either exists
whole under its final name or not at all: the rename is the commit marker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

Row = dict[str, Any]
TABLES = ("subjects", "teachers", "rooms", "groups", "students", "courses")
StoredRow = tuple[str, str]  # (id, the row's JSON text): stored as read, never decoded and encoded again


def stored(tables: Iterable[tuple[str, Iterable[Row]]]) -> Iterator[tuple[str, Iterator[StoredRow]]]:
    """Tables of decoded rows (a generated institution, a test's) as the stored rows ``build`` takes."""
    for table, rows in tables:
        yield table, ((row["id"], json.dumps(row, ensure_ascii=False)) for row in rows)


class BaseDatabases(Protocol):
    def exists(self, base_id: str) -> bool:
        """True when the base is committed (built completely, under its final name)."""

    def build(
        self,
        base_id: str,
        meta: dict[str, Any],
        tables: Iterable[tuple[str, Iterable[StoredRow]]],
    ) -> dict[str, int]:
        """Build the base atomically and return its row counts per table.

        ``meta`` holds at least ``time_grid`` (a dict) and ``base_name``.
        Idempotent: a committed base is left as it is (its counts returned);
        a leftover of an interrupted build is dropped and rebuilt.
        """

    def drop(self, base_id: str) -> bool:
        """Remove the base and any leftover of a build; True when something was removed."""

    def list_ids(self) -> list[str]:
        """Ids of every base present, committed or leftover (for fsck)."""

    def counts(self, base_id: str) -> dict[str, int]: ...

    def meta(self, base_id: str) -> dict[str, Any]: ...

    def rows(self, base_id: str, table: str) -> Iterator[Row]:
        """Rows of one table in the order they were loaded (an export keeps the file's order), as loaded."""

    def raw_rows(self, base_id: str, table: str) -> Iterator[bytes]:
        """Rows of one table, in id order, as JSON bytes (for a reader that decodes them into types of its own)."""
