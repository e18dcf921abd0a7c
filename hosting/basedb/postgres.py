"""Base databases as one PostgreSQL schema per base (production).

A base is loaded with COPY into ``base_<id>__building`` and renamed to
``base_<id>`` in the same transaction: the schema exists under its final name
whole or not at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from hosting.basedb.base import TABLES, Row, StoredRow
from hosting.db.session import database_down
from hosting.errors import InvalidInput

PREFIX = "base_"
BUILDING = "__building"
_BASE_ID = re.compile(r"[a-z0-9_-]{1,40}")


class PostgresBases:
    def __init__(self, url: str):
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with psycopg.connect(self.url, connect_timeout=10) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise database_down(self.url, exc) from exc

    def _schema(self, base_id: str, suffix: str = "") -> str:
        if not _BASE_ID.fullmatch(base_id):
            raise InvalidInput(field="base_id", reason="not a base id", where={"base_id": base_id})
        return PREFIX + base_id.replace("-", "_") + suffix

    def exists(self, base_id: str) -> bool:
        with self._connect() as conn:
            return _schema_exists(conn, self._schema(base_id))

    def build(self, base_id: str, meta: dict[str, Any],
              tables: Iterable[tuple[str, Iterable[StoredRow]]]) -> dict[str, int]:
        final, building = self._schema(base_id), self._schema(base_id, BUILDING)
        with self._connect() as conn:
            if _schema_exists(conn, final):
                return self._counts(conn, final)
            schema = sql.Identifier(building)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            conn.execute(sql.SQL("CREATE TABLE {}._meta (key text PRIMARY KEY, value jsonb NOT NULL)").format(schema))
            for key, value in meta.items():
                conn.execute(sql.SQL("INSERT INTO {}._meta VALUES (%s, %s)").format(schema),
                             (key, json.dumps(value)))
            for table in TABLES:
                conn.execute(sql.SQL("CREATE TABLE {}.{} (n bigserial, id text PRIMARY KEY, data jsonb NOT NULL)")
                             .format(schema, sql.Identifier(table)))
            for table, rows in tables:
                _copy(conn, building, table, rows)
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(schema, sql.Identifier(final)))
            conn.commit()
            return self._counts(conn, final)

    def drop(self, base_id: str) -> bool:
        removed = False
        with self._connect() as conn:
            for name in (self._schema(base_id), self._schema(base_id, BUILDING)):
                if _schema_exists(conn, name):
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
                    removed = True
            conn.commit()
        return removed

    def list_ids(self) -> list[str]:
        with self._connect() as conn:
            names = [r[0] for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'base\\_%' ORDER BY nspname")]
        return sorted({name.removeprefix(PREFIX).removesuffix(BUILDING) for name in names})

    def counts(self, base_id: str) -> dict[str, int]:
        with self._connect() as conn:
            return self._counts(conn, self._schema(base_id))

    def _counts(self, conn: psycopg.Connection[Any], schema: str) -> dict[str, int]:
        return {table: _count(conn, schema, table) for table in TABLES}

    def meta(self, base_id: str) -> dict[str, Any]:
        with self._connect() as conn:
            rows = conn.execute(sql.SQL("SELECT key, value FROM {}._meta").format(
                sql.Identifier(self._schema(base_id))))
            return {key: value for key, value in rows}

    def rows(self, base_id: str, table: str) -> Iterator[Row]:
        if table not in TABLES:
            raise InvalidInput(field="table", reason="unknown table", where={"table": table})
        schema = self._schema(base_id)
        with self._connect() as conn, conn.cursor(name="rows") as cursor:
            # Load order (the ``n`` column); a base built before it existed, in id order.
            order = sql.SQL("n") if _has_load_order(conn, schema, table) else sql.SQL('id COLLATE "C"')
            cursor.itersize = 5_000
            cursor.execute(sql.SQL("SELECT data FROM {}.{} ORDER BY {}").format(
                sql.Identifier(schema), sql.Identifier(table), order))
            for (data,) in cursor:
                yield data

    def raw_rows(self, base_id: str, table: str) -> Iterator[bytes]:
        if table not in TABLES:
            raise InvalidInput(field="table", reason="unknown table", where={"table": table})
        with self._connect() as conn, conn.cursor(name="raw_rows") as cursor:
            cursor.itersize = 5_000
            cursor.execute(sql.SQL("SELECT data::text FROM {}.{} ORDER BY id COLLATE \"C\"").format(
                sql.Identifier(self._schema(base_id)), sql.Identifier(table)))
            for (data,) in cursor:
                yield data.encode()


def _count(conn: psycopg.Connection[Any], schema: str, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table))).fetchone()
    assert row is not None  # count(*) without GROUP BY returns exactly one row
    return row[0]


def _has_load_order(conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
    return conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                        " AND column_name = 'n'", (schema, table)).fetchone() is not None


def _schema_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone() is not None


def _copy(conn: psycopg.Connection[Any], schema: str, table: str, rows: Iterable[StoredRow]) -> None:
    if table not in TABLES:
        raise InvalidInput(field="table", reason="unknown table", where={"table": table})
    statement = sql.SQL("COPY {}.{} (id, data) FROM STDIN").format(sql.Identifier(schema), sql.Identifier(table))
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
