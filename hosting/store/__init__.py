"""Object storage behind one interface; :func:`open_store` picks the adapter from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hosting.store.base import ObjectInfo, ObjectStore

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["ObjectInfo", "ObjectStore", "open_store"]


def open_store(settings: Settings) -> ObjectStore:
    """The store named by ``settings.store_url`` (``file:///dir`` or ``s3://bucket[/prefix]``)."""
    url: str = settings.store_url
    if url.startswith("file://"):
        from hosting.store.local import LocalStore

        return LocalStore(url.removeprefix("file://"))
    if url.startswith("s3://"):
        from hosting.store.s3 import S3Store

        return S3Store.from_settings(settings)
    from hosting.errors import InvalidInput

    raise InvalidInput(field="HPHOST_STORE_URL", reason="expected file:///dir or s3://bucket")
