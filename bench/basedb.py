"""Instantiate vs raw loads: hphost's base build against the plainest load of the same rows.

    .venv/bin/python bench/basedb.py [--students 25000] [--repeat 3]

Generates the university sample, extracts its ``base/*.jsonl`` tables to a directory, starts
PostgreSQL on the test port (``HPHOST_TEST_POSTGRES_PORT``), then alternates, ``--repeat`` times:
- PostgreSQL, raw: one ``COPY … FROM STDIN`` per table of (id, the line as read), in one transaction;
- PostgreSQL, hphost: ``PostgresBases.build`` fed by ``iter_table_lines`` (each row checked against its
  table's schema), as the instantiate stage does, schema created and renamed into place;
- SQLite, raw: ``executemany`` of (id, line) per table in one transaction;
- SQLite, hphost: ``SqliteBases.build`` the same way (file built aside, fsynced, renamed).
Prints each one's best time and rows/s and the ratio hphost/raw (1.0 = as fast as raw).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HPHOST_TEST_POSTGRES_PORT", "25433")

from hosting.basedb.base import TABLES  # noqa: E402
from hosting.basedb.postgres import PostgresBases  # noqa: E402
from hosting.basedb.sqlite import SqliteBases  # noqa: E402
from hosting.formats.rows.jsonl import iter_table_lines  # noqa: E402

META = {"time_grid": {"weeks": 44}, "base_name": "bench"}


def extract_tables(sample: Path, into: Path) -> dict[str, Path]:
    with zipfile.ZipFile(sample) as archive:
        for table in TABLES:
            archive.extract(f"base/{table}.jsonl", into)
    return {table: into / "base" / f"{table}.jsonl" for table in TABLES}


def _lines(path: Path) -> Iterator[tuple[str, str]]:
    with path.open("rb") as source:
        for line in source:
            yield msgspec.json.decode(line)["id"], line.rstrip(b"\n").decode()


def raw_postgres(url: str, files: dict[str, Path]) -> int:
    schema, rows = f"raw_{uuid.uuid4().hex[:8]}", 0
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table, path in files.items():
            target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            conn.execute(sql.SQL("CREATE TABLE {} (id text PRIMARY KEY, data jsonb NOT NULL)").format(target))
            with conn.cursor().copy(sql.SQL("COPY {} (id, data) FROM STDIN").format(target)) as copy:
                for row in _lines(path):
                    copy.write_row(row)
                    rows += 1
        conn.commit()
    return rows


def raw_sqlite(directory: Path, files: dict[str, Path]) -> int:
    path, rows = directory / f"raw-{uuid.uuid4().hex[:8]}.sqlite", 0
    with sqlite3.connect(path) as conn:
        for table, source in files.items():
            conn.execute(f'CREATE TABLE "{table}" (id TEXT PRIMARY KEY, data TEXT NOT NULL)')
            batch = list(_lines(source))
            conn.executemany(f'INSERT INTO "{table}" VALUES (?, ?)', batch)
            rows += len(batch)
    return rows


def hphost_build(bases: Any, files: dict[str, Path]) -> int:
    def tables() -> Iterator[tuple[str, Iterator[tuple[str, str]]]]:
        for table, path in files.items():
            with path.open("rb") as stream:
                yield table, iter_table_lines(table, stream)

    counts = bases.build(uuid.uuid4().hex[:12], META, tables())
    return sum(counts.values())


def best_of(repeat: int, runs: dict[str, Callable[[], int]]) -> dict[str, tuple[float, int]]:
    """Each run's best time over ``repeat`` rounds, the runs alternated within a round."""
    best: dict[str, tuple[float, int]] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            rows = run()
            elapsed = time.perf_counter() - started
            if name not in best or elapsed < best[name][0]:
                best[name] = (elapsed, rows)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from hphost_samples.generator import generate_sample
    from tests.support.loopback import make_server

    work = Path(tempfile.mkdtemp(prefix="hphost-bench-basedb-"))
    sample = work / "university.HHYP"
    generate_sample(sample, hosting_number="123456789012", preset="university", students=args.students, seed=1)
    files = extract_tables(sample, work)
    servers = Path(tempfile.gettempdir()) / "hphost-bench-servers"  # not under mkdtemp's 0700: postgres reads it
    servers.mkdir(exist_ok=True)
    postgres = make_server("postgres", servers)
    try:
        url = postgres.url.replace("postgresql+psycopg://", "postgresql://")
        sqlite_dir = work / "bases"
        sqlite_dir.mkdir()
        best = best_of(args.repeat, {
            "postgres raw COPY": lambda: raw_postgres(url, files),
            "postgres hphost": lambda: hphost_build(PostgresBases(url), files),
            "sqlite raw executemany": lambda: raw_sqlite(sqlite_dir, files),
            "sqlite hphost": lambda: hphost_build(SqliteBases(sqlite_dir), files),
        })
    finally:
        postgres.stop()
    for name, (seconds, rows) in best.items():
        print(f"{name:24} {seconds:6.2f} s  {rows / seconds:9.0f} rows/s  ({rows} rows)")
    for engine, raw in (("postgres", "raw COPY"), ("sqlite", "raw executemany")):
        ratio = best[f"{engine} {raw}"][0] / best[f"{engine} hphost"][0]
        print(f"ratio {engine} hphost/raw throughput: {ratio:.2f}x  (goal >= 0.8x)")


if __name__ == "__main__":
    main()
