"""Object storage behind one interface; :func:`open_store` picks the adapter from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hosting.store.base import ObjectInfo, ObjectStore

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["ObjectInfo", "ObjectStore", "open_store"]


def open_store(settings: Settings) -> ObjectStore:
    """The store named by ``settings.store_url``: ``s3://bucket[/prefix]``, else ``file:///dir``.

    The settings have refused any other scheme (``INVALID_SETTING``); adapters are imported on use.
    """
    if settings.store_url.startswith("s3://"):
        from hosting.store.s3 import S3Store

        return S3Store.from_settings(settings)
    from hosting.store.local import LocalStore

    return LocalStore(settings.store_url.removeprefix("file://"))
