"""The S3 adapter against moto's S3 server over HTTP, directly and through injected faults."""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from config.settings import Settings
from hosting.errors import StorageError, StorageUnavailable
from hosting.store.s3 import S3Store

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]
SAMPLES = Path(__file__).parent.parent / "samples"


def _store(endpoint: str, bucket: str | None = None, **overrides) -> S3Store:
    values = {"s3_multipart_chunksize_bytes": 5 * 1024 * 1024, "retry_backoff_s": 0.05, "call_attempts": 3,
              "call_wait_max_s": 0.2, "s3_max_attempts": 2, **overrides}
    settings = Settings(home="var/test-s3", store_url=f"s3://{bucket or 'hphost-' + uuid.uuid4().hex[:12]}/p",
                        s3_endpoint_url=endpoint, s3_access_key_id="testing", s3_secret_access_key="testing",
                        **values)
    return S3Store.from_settings(settings)


def test_multipart_put_get_list_and_delete(moto_server):
    store = _store(moto_server.url)
    store.ensure_bucket()
    data = os.urandom(12 * 1024 * 1024 + 17)  # three parts
    store.put_stream("bases/x/big.bin", io.BytesIO(data), len(data))
    store.put_bytes("bases/x/small.txt", b"hello")
    assert store.get_bytes("bases/x/big.bin") == data
    info = store.head("bases/x/big.bin")
    assert info is not None and info.size_bytes == len(data)
    assert store.head("bases/x/none") is None
    assert [i.key for i in store.list("bases/x/")] == ["bases/x/big.bin", "bases/x/small.txt"]
    assert store.delete_prefix("bases/x/") == 2
    assert list(store.list("bases/")) == []


def test_zipfile_reads_an_archive_in_s3_by_ranges(moto_server):
    store = _store(moto_server.url)
    store.ensure_bucket()
    store.put_bytes("in/small.HHYP", (SAMPLES / "small.HHYP").read_bytes())
    with store.open_read("in/small.HHYP") as stream, zipfile.ZipFile(stream) as archive:
        assert archive.read("manifest.json") == zipfile.ZipFile(SAMPLES / "small.HHYP").read("manifest.json")


def test_missing_bucket_and_key_are_permanent_errors(moto_server):
    store = _store(moto_server.url, bucket="hphost-never-created")
    with pytest.raises(StorageError) as missing:
        store.get_bytes("k")
    assert missing.value.code == "STORAGE_ERROR" and missing.value.where["key"] == "k"


def test_transient_faults_are_retried_then_given_up(moto_server, s3_fault_proxy):
    store = _store(s3_fault_proxy.url, s3_max_attempts=6)  # botocore's retries are the only layer
    store.ensure_bucket()
    s3_fault_proxy.error_rate = 0.3
    for index in range(20):
        store.put_bytes(f"k/{index}", b"x" * index)
    assert [store.get_bytes(f"k/{index}") for index in range(20)] == [b"x" * i for i in range(20)]
    assert s3_fault_proxy.faults > 0
    s3_fault_proxy.error_rate = 1.0
    with pytest.raises(StorageUnavailable) as exhausted:
        store.get_bytes("k/1")
    assert exhausted.value.transient and exhausted.value.code == "STORAGE_UNAVAILABLE"


def test_a_failing_call_reaches_s3_exactly_max_attempts_times_and_each_retry_is_logged(moto_server, s3_fault_proxy):
    store = _store(s3_fault_proxy.url, s3_max_attempts=3, call_attempts=4)
    store.ensure_bucket()
    store.put_bytes("k", b"x")
    endpoint = s3_fault_proxy.url.removeprefix("http://")
    s3_fault_proxy.error_rate = 1.0
    for call in (lambda: store.get_bytes("k"), lambda: store.put_bytes("k", b"y"), lambda: store.head("k"),
                 lambda: store.read_range("k", 0, 0)):
        before = s3_fault_proxy.requests
        with capture_logs() as logs, pytest.raises(StorageUnavailable) as exhausted:
            call()
        assert s3_fault_proxy.requests - before == 3  # botocore's three attempts, and no other layer
        retries = [line for line in logs if line["event"] == "s3_retry"]
        assert [line["attempt"] for line in retries] == [2, 3]
        assert all(line["endpoint"] == endpoint and line["log_level"] == "warning" for line in retries)
        assert all(line["error"] not in ("", "unknown") for line in retries)  # the error class or S3 code
        error = exhausted.value
        assert error.code == "STORAGE_UNAVAILABLE" and error.where["endpoint"] == endpoint
        assert endpoint in error.message and error.where["error"] in error.message
