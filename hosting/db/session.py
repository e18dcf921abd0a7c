"""Engines and transactions for the control database (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Update, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from hosting.errors import DatabaseUnavailable

if TYPE_CHECKING:
    import sqlite3

SQLITE_BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10
REASON_CHARS = 120


class DatabaseDown(DatabaseUnavailable):
    """The database {database} is unavailable: {error} ({reason})."""


def database_label(url: str | URL) -> str:
    """Which database a URL names, without credentials: ``host:port/dbname`` or the SQLite path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def database_down(url: str | URL, exc: BaseException) -> DatabaseDown:
    """``DATABASE_UNAVAILABLE`` naming the database and why: the driver's error class and last words."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    reason = lines[0].rsplit(": ", 1)[-1].strip()[:REASON_CHARS] if lines else ""
    password = make_url(url).password
    if password:
        reason = reason.replace(str(password), "***")
    label, error = database_label(url), type(cause).__name__
    return DatabaseDown(database=label, error=error, reason=reason or "no detail",
                        where={"database": label, "error": error})


def rows_updated(session: Session, statement: Update) -> int:
    """Run an UPDATE; how many rows it changed (the compare-and-set of leases and dispatches)."""
    # An UPDATE's result is a CursorResult, as SQLAlchemy 2.0 documents; execute() is typed as the generic Result.
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def make_engine(url: str) -> Engine:
    """An engine tuned for many worker processes sharing the control DB."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            _private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # A server that does not answer is refused after CONNECT_TIMEOUT_S, not waited for.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def _private_file(path: Path) -> None:
    """Create the SQLite file 0600 (its -wal and -shm files take its mode), as the store's objects are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # WAL lets dashboards read while workers write; the driver's own BEGIN is
    # disabled so that "begin" below can take the write lock up front.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # BEGIN IMMEDIATE: concurrent writers wait on busy_timeout instead of
    # failing with "database is locked" when a read transaction upgrades.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class ControlDB:
    """The control database of one process."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def server(self) -> str:
        return database_label(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error.

        Connection-level failures surface as ``DatabaseUnavailable`` so the
        stage that met them is retried rather than failed.
        """
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except OperationalError as exc:
            raise database_down(self.url, exc) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise database_down(self.url, exc) from exc
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
