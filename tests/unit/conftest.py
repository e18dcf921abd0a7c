"""Unit fixtures: a migrated SQLite control database of the test's own (no server)."""

from __future__ import annotations

import pytest

from hosting.db.migrate import upgrade
from hosting.db.session import ControlDB


@pytest.fixture
def db(tmp_path):
    control = ControlDB(f"sqlite:///{tmp_path / 'control.db'}")
    upgrade(control.engine)
    yield control
    control.dispose()
