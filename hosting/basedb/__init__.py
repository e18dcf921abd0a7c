"""Base databases behind one interface; :func:`open_basedbs` picks the adapter from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hosting.basedb.base import TABLES, BaseDatabases

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["TABLES", "BaseDatabases", "open_basedbs"]


def open_basedbs(settings: Settings) -> BaseDatabases:
    url: str = settings.basedb_url
    if url.startswith("sqlite:///"):
        from hosting.basedb.sqlite import SqliteBases

        return SqliteBases(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        from hosting.basedb.postgres import PostgresBases

        return PostgresBases(url)
    from hosting.errors import InvalidInput

    raise InvalidInput(field="HPHOST_BASEDB_URL", reason="expected sqlite:///dir or postgresql://...")
