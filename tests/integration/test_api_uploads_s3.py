"""Uploads through a real ``hphost serve`` on PostgreSQL and moto's S3: streamed multipart with bounded memory,
and the presigned PUT verified afterwards."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from hosting.runtime import Runtime
from hosting.tokens import Role, TokenKind, issue
from hphost_samples.generator import generate_sample
from tests.support.api_server import ApiServer
from tests.support.hphost_stack import HOSTING, server_stack

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]
UPLOAD_RSS_MB = 16  # two 5 MiB part buffers and the request's: far less than the 24.5 MB file (bench/api.py: the peak)


@pytest.fixture(scope="module")
def served(tmp_path_factory, redis_server, postgres_server, moto_server):
    home = tmp_path_factory.mktemp("api-s3")
    stack = server_stack("api", home, broker_url=redis_server.url, postgres_url=postgres_server.url,
                         s3_endpoint=moto_server.url)
    stack.create_hosting()
    rt = Runtime(stack.settings())
    with rt.db.transaction() as session:
        token = issue(session, rt.token_key, kind=TokenKind.SERVICE, hosting_number=HOSTING, role=Role.WRITER,
                      ttl=None, actor="test")[1]
    env = {name: value for name, value in stack.env.items() if name != "HPHOST_LIMITS__MAX_ENTRIES"}  # 12,807
    with ApiServer(env, home / "logs" / "serve.log") as server:
        yield server, {"Authorization": f"Bearer {token}"}, rt
    stack.close()
    rt.db.dispose()


def _chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(size):
            yield chunk


def test_a_4x_university_streams_to_s3_in_bounded_memory(served, tmp_path):
    server, auth, rt = served
    warm = httpx2.post(f"{server.url}/v1/uploads", params={"kind": "hhyp"}, content=b"PK" * 1000, headers=auth)
    assert warm.status_code == 201, warm.text  # the S3 client and the database pool exist: what follows is the file's
    before = server.peak_rss_mb()
    sample = tmp_path / "univ4.HHYP"
    generate_sample(sample, hosting_number=HOSTING, preset="university", students=100_000)
    answer = httpx2.post(f"{server.url}/v1/uploads", params={"kind": "hhyp"}, content=_chunks(sample),
                         headers=auth, timeout=120)
    assert answer.status_code == 201, answer.text
    data = sample.read_bytes()
    assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest() and answer.json()["size_bytes"] == len(data)
    assert rt.store.get_bytes(answer.json()["id"].join(("incoming/", "/base.HHYP"))) == data
    peak = server.peak_rss_mb()
    assert peak - before < UPLOAD_RSS_MB, (
        f"hphost serve grew from {before:.0f} to {peak:.0f} MiB while uploading {len(data):,} bytes")
    checked = httpx2.post(f"{server.url}/v1/uploads/{answer.json()['id']}/check", headers=auth, timeout=120)
    assert checked.json()["ok"] is True, checked.text


def test_a_presigned_put_is_verified_by_size_and_sha256(served):
    server, auth, _rt = served
    data = b"not really a base, but bytes" * 1000
    digest = hashlib.sha256(data).hexdigest()
    good = httpx2.post(f"{server.url}/v1/uploads/presigned", headers=auth,
                       json={"kind": "hhyp", "size_bytes": len(data), "sha256": digest}).json()
    upload_id = good["upload"]["id"]
    early = httpx2.post(f"{server.url}/v1/uploads/{upload_id}/check", headers=auth)
    assert early.status_code == 409 and early.json()["code"] == "UPLOAD_NOT_VERIFIED"
    assert httpx2.put(good["url"], content=data).status_code == 200  # straight to S3, no bearer token
    done = httpx2.post(f"{server.url}/v1/uploads/{upload_id}/complete", headers=auth)
    assert done.status_code == 200 and done.json()["verified"] and done.json()["sha256"] == digest
    liar = httpx2.post(f"{server.url}/v1/uploads/presigned", headers=auth,
                       json={"kind": "hhyp", "size_bytes": len(data), "sha256": "0" * 64}).json()
    assert httpx2.put(liar["url"], content=data).status_code == 200
    refused = httpx2.post(f"{server.url}/v1/uploads/{liar['upload']['id']}/complete", headers=auth)
    assert refused.status_code == 422 and refused.json()["code"] == "UPLOAD_MISMATCH"
    assert refused.json()["where"]["sha256"] == "0" * 64
