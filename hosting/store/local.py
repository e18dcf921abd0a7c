"""The object store on a local directory: the embedded default, used like S3."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from hosting.errors import StorageError
from hosting.store.base import ObjectInfo

CHUNK_BYTES = 1024 * 1024


class LocalStore:
    """Objects are files under ``root``; a put is atomic (temp file, fsync, rename)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
            raise StorageError(operation="resolve", key=key, reason="not a relative key", where={"key": key})
        return self.root.joinpath(*parts)

    def put_stream(self, key: str, stream: BinaryIO, size_bytes: int | None = None) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        import io

        self.put_stream(key, io.BytesIO(data), len(data))

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(operation="get", key=key, reason="no such object", where={"key": key}) from None

    def open_read(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise StorageError(operation="open", key=key, reason="no such object", where={"key": key}) from None

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start..end`` (inclusive) of an object, as ``S3Store.read_range``."""
        with self.open_read(key) as handle:
            handle.seek(start)
            return handle.read(end - start + 1)

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        return ObjectInfo(key, path.stat().st_size) if path.is_file() else None

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        found = []
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".put-"):
                    continue
                path = Path(folder) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(ObjectInfo(key, path.stat().st_size))
        yield from sorted(found, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        doomed = list(self.list(prefix))
        for info in doomed:
            self.delete(info.key)
        if prefix.endswith("/") and prefix.strip("/"):
            shutil.rmtree(self._path(prefix.rstrip("/")), ignore_errors=True)
        return len(doomed)
