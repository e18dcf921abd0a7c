"""DATABASE_UNAVAILABLE says which database and why, never its password."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text

from hosting.db.session import ControlDB
from hosting.errors import DatabaseUnavailable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_postgresql_is_named_with_the_reason_and_without_the_password():
    port = _closed_port()
    db = ControlDB(f"postgresql://hphost:s3cr3t-pw@127.0.0.1:{port}/control")
    with pytest.raises(DatabaseUnavailable) as down, db.transaction() as session:
        session.execute(text("SELECT 1"))
    db.dispose()
    error = down.value
    assert error.code == "DATABASE_UNAVAILABLE"
    assert error.where == {"database": f"127.0.0.1:{port}/control", "error": "OperationalError"}
    assert f"127.0.0.1:{port}/control" in error.message and "OperationalError" in error.message
    assert "refused" in error.message.lower()
    assert "s3cr3t-pw" not in str(error)


def test_an_unopenable_sqlite_file_is_named_by_its_path(tmp_path):
    path = tmp_path / "control.db"
    path.mkdir()  # a directory where the file should be
    db = ControlDB(f"sqlite:///{path}")
    with pytest.raises(DatabaseUnavailable) as down, db.transaction() as session:
        session.execute(text("SELECT 1"))
    db.dispose()
    assert down.value.where == {"database": str(path), "error": "OperationalError"}
    assert str(path) in down.value.message
