"""A stream of unknown size (an HTTP upload) into moto's S3: whole parts, in order, whatever the reads."""

from __future__ import annotations

import io
import os
import uuid
from typing import BinaryIO, cast

import pytest

from config.settings import Settings
from hosting.store.s3 import S3Store

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]


class _Trickle(io.RawIOBase):
    """A stream that hands out at most 70,000 bytes a read, as an HTTP body does."""

    def __init__(self, data: bytes, expected_bytes: int | None = None):
        self._data = io.BytesIO(data)
        self.expected_bytes = expected_bytes  # announced (as an HTTP upload's Content-Length)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._data.read(min(len(buffer), 70_000))
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.parametrize("announced", [False, True])
@pytest.mark.parametrize("size", [0, 1000, 5 * 1024 * 1024, 12 * 1024 * 1024 + 17, 17 * 1024 * 1024 + 3])
def test_an_unsized_stream_is_stored_whole(moto_server, size, announced):
    settings = Settings(home="var/test-s3", store_url=f"s3://hphost-{uuid.uuid4().hex[:12]}",
                        s3_endpoint_url=moto_server.url, s3_access_key_id="testing", s3_secret_access_key="testing")
    store = S3Store.from_settings(settings)
    store.ensure_bucket()
    data = os.urandom(size)
    store.put_stream("incoming/x/base.HHYP", cast(BinaryIO, _Trickle(data, size if announced else None)))
    assert store.get_bytes("incoming/x/base.HHYP") == data
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert uploads == []
