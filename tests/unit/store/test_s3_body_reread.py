"""The one retry S3Store adds to botocore's: a response body that broke mid-read is asked for again."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.exceptions import ResponseStreamingError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from structlog.testing import capture_logs

from config.retry import RetryPolicy
from hosting.errors import StorageUnavailable
from hosting.store.s3 import S3Store


class _BrokenBody:
    def read(self, *_args: object) -> bytes:
        raise ResponseStreamingError(error="connection reset by peer")


def _stubbed(bodies: list[object]) -> tuple[S3Store, Stubber]:
    client = boto3.session.Session().client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                                            aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    for body in bodies:
        stubber.add_response("get_object", {"Body": body}, {"Bucket": "b", "Key": "k"})
    return S3Store(client, "b", policy=RetryPolicy(call_attempts=3, call_wait_max_s=0.01)), stubber


def test_a_body_broken_mid_read_is_read_again_and_the_reread_logged():
    store, stubber = _stubbed([_BrokenBody(), StreamingBody(io.BytesIO(b"data"), 4)])
    with stubber, capture_logs() as logs:
        assert store.get_bytes("k") == b"data"
        stubber.assert_no_pending_responses()
    rereads = [line for line in logs if line["event"] == "s3_body_reread"]
    assert [(r["endpoint"], r["error"], r["log_level"]) for r in rereads] == [
        ("127.0.0.1:9", "ResponseStreamingError", "warning")]


def test_a_body_that_keeps_breaking_is_storage_unavailable_after_call_attempts():
    store, stubber = _stubbed([_BrokenBody(), _BrokenBody(), _BrokenBody()])
    with stubber, pytest.raises(StorageUnavailable) as down:
        store.get_bytes("k")
    stubber.assert_no_pending_responses()
    assert down.value.where == {"key": "k", "operation": "get", "endpoint": "127.0.0.1:9",
                                "error": "ResponseStreamingError"}
