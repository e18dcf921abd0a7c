"""Bring a control database to the newest schema (Alembic, no ini file needed), or refuse an old one.

``hphost setup`` migrates; so does the embedded default (a SQLite file on this machine) at its first
start. A server database is never migrated by another command: it is refused (``SCHEMA_OUTDATED``),
and workers wait for ``hphost setup``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from hosting.db.session import ControlDB, database_down
from hosting.errors import DatabaseUnavailable, HphostError, PermanentError

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutdated(PermanentError):
    """The control database {database} {state}; run `hphost setup` to migrate it."""

    code = "SCHEMA_OUTDATED"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every pending migration; safe to run from many processes at once."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Workers and the CLI may start together: serialise migrations.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(424242)")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def require_current(db: ControlDB) -> None:
    """Refuse (``SCHEMA_OUTDATED``) a schema older or newer than this hphost's; reads, never writes."""
    script = ScriptDirectory.from_config(alembic_config(db.engine))
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current in script.get_heads():
        return
    if current is None:
        state = "has no hphost schema"
    elif current in {rev.revision for rev in script.walk_revisions()}:
        state = f"has an older schema (revision {current})"
    else:
        state = f"has a schema this hphost does not know (revision {current}; a newer hphost?)"
    raise SchemaOutdated(database=db.server, state=state, where={"database": db.server})


def ensure_schema(db: ControlDB, *, migrate: bool) -> None:
    """Migrate (when ``migrate``) or check the schema; an unreachable server is ``DATABASE_UNAVAILABLE``."""
    try:
        if migrate:
            upgrade(db.engine)
        else:
            require_current(db)
    except OperationalError as exc:
        raise database_down(db.url, exc) from None


def migrates_itself(db: ControlDB) -> bool:
    """A SQLite control database is a file of this machine: it is migrated on first use."""
    return db.dialect == "sqlite"


def wait_for_schema(db: ControlDB, stop: threading.Event, *, poll_s: float,
                    on_wait: Callable[[HphostError], None]) -> bool:
    """Block until the schema is current (a worker's start); ``on_wait`` once; False if ``stop`` came first."""
    told = False
    while True:
        try:
            ensure_schema(db, migrate=migrates_itself(db))
            return True
        except (SchemaOutdated, DatabaseUnavailable) as exc:
            if not told:
                on_wait(exc)
                told = True
        if stop.wait(poll_s):
            return False


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)
