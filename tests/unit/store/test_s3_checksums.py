"""S3 checksums: `when_required` unless configured (boto3 >= 1.36 defaults that S3-compatible servers refuse)."""

from __future__ import annotations

import pytest

from config.settings import Settings
from hosting.store.s3 import S3Store


def _config(**values: str):
    settings = Settings(store_url="s3://bucket", s3_endpoint_url="http://127.0.0.1:9", **values)  # type: ignore[arg-type]
    return S3Store.from_settings(settings).client.meta.config


def test_checksums_are_asked_for_only_when_required_by_default():
    config = _config()
    assert (config.request_checksum_calculation, config.response_checksum_validation) == (
        "when_required", "when_required")


@pytest.mark.parametrize("policy", ["when_required", "when_supported"])
def test_each_checksum_policy_is_passed_on_as_configured(policy: str):
    config = _config(s3_request_checksum_calculation=policy, s3_response_checksum_validation=policy)
    assert (config.request_checksum_calculation, config.response_checksum_validation) == (policy, policy)
