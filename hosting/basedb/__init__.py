"""Base databases behind one interface; :func:`open_basedbs` picks the adapter from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hosting.basedb.base import TABLES, BaseDatabases

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["TABLES", "BaseDatabases", "open_basedbs"]


def open_basedbs(settings: Settings) -> BaseDatabases:
    """SQLite files in a folder (``sqlite:///dir``) or schemas of one PostgreSQL database (checked by the settings)."""
    url: str = settings.basedb_url
    if url.startswith("sqlite:///"):
        from hosting.basedb.sqlite import SqliteBases

        return SqliteBases(url.removeprefix("sqlite:///"))
    from hosting.basedb.postgres import PostgresBases

    return PostgresBases(url)
