"""Bring a control database to the newest schema (Alembic, no ini file needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


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


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)
