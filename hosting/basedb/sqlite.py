"""Base databases as one SQLite file per base (the embedded default)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from hosting.basedb.base import TABLES, Row, StoredRow
from hosting.errors import InvalidInput

BATCH_ROWS = 5_000
_BASE_ID = re.compile(r"[a-z0-9_-]{1,40}")


class SqliteBases:
    """``<dir>/<base_id>.sqlite``, built as ``.building`` and renamed into place when complete."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _final(self, base_id: str) -> Path:
        if not _BASE_ID.fullmatch(base_id):
            raise InvalidInput(field="base_id", reason="not a base id", where={"base_id": base_id})
        return self.directory / f"{base_id}.sqlite"

    def _building(self, base_id: str) -> Path:
        return self._final(base_id).with_suffix(".sqlite.building")

    def exists(self, base_id: str) -> bool:
        return self._final(base_id).is_file()

    def build(self, base_id: str, meta: dict[str, Any],
              tables: Iterable[tuple[str, Iterable[StoredRow]]]) -> dict[str, int]:
        if self.exists(base_id):
            return self.counts(base_id)
        building = self._building(base_id)
        building.unlink(missing_ok=True)
        try:
            os.close(os.open(building, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private, as the store's objects
            with _connect(building) as conn:
                conn.execute("CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.executemany("INSERT INTO _meta VALUES (?, ?)",
                                 [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()])
                for table in TABLES:
                    conn.execute(f'CREATE TABLE "{table}" (id TEXT PRIMARY KEY, data TEXT NOT NULL)')
                for table, rows in tables:
                    _load(conn, table, rows)
                conn.commit()
            with building.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(building, self._final(base_id))
        except BaseException:
            building.unlink(missing_ok=True)
            raise
        return self.counts(base_id)

    def drop(self, base_id: str) -> bool:
        removed = False
        for path in (self._final(base_id), self._building(base_id)):
            if path.exists():
                path.unlink()
                removed = True
        return removed

    def list_ids(self) -> list[str]:
        names = {p.name.split(".")[0] for p in self.directory.glob("*.sqlite*")}
        return sorted(names)

    def counts(self, base_id: str) -> dict[str, int]:
        with _connect(self._final(base_id)) as conn:
            return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}

    def meta(self, base_id: str) -> dict[str, Any]:
        with _connect(self._final(base_id)) as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM _meta")}

    def rows(self, base_id: str, table: str) -> Iterator[Row]:
        if table not in TABLES:
            raise InvalidInput(field="table", reason="unknown table", where={"table": table})
        conn = _connect(self._final(base_id))
        try:
            decode = msgspec.json.Decoder().decode  # msgspec reads the stored JSON faster than json.loads
            # The load's order (rowid), not the ids': an export gives the rows back as the file had them.
            for (data,) in conn.execute(f'SELECT data FROM "{table}" ORDER BY rowid'):
                yield decode(data)
        finally:
            conn.close()

    def raw_rows(self, base_id: str, table: str) -> Iterator[bytes]:
        if table not in TABLES:
            raise InvalidInput(field="table", reason="unknown table", where={"table": table})
        conn = _connect(self._final(base_id))
        conn.text_factory = bytes
        try:
            for (data,) in conn.execute(f'SELECT data FROM "{table}" ORDER BY id'):
                yield data
        finally:
            conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def _load(conn: sqlite3.Connection, table: str, rows: Iterable[StoredRow]) -> None:
    if table not in TABLES:
        raise InvalidInput(field="table", reason="unknown table", where={"table": table})
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        conn.executemany(f'INSERT INTO "{table}" VALUES (?, ?)', batch)
