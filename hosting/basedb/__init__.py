"""Base databases behind one interface; :func:`open_basedbs` picks the adapter from a URL."""

from hosting.basedb.base import TABLES, BaseDatabases

__all__ = ["TABLES", "BaseDatabases", "open_basedbs"]


def open_basedbs(settings) -> BaseDatabases:  # type: ignore[no-untyped-def]
    url: str = settings.basedb_url
    if url.startswith("sqlite:///"):
        from hosting.basedb.sqlite import SqliteBases

        return SqliteBases(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        from hosting.basedb.postgres import PostgresBases

        return PostgresBases(url)
    from hosting.errors import InvalidInput

    raise InvalidInput(field="HPHOST_BASEDB_URL", reason="expected sqlite:///dir or postgresql://...")
