"""``/v1/uploads`` in process on SQLite and the local store: streamed, capped, walled in, checked as the CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from hosting.db.models import Upload
from hphost_samples.generator import generate_sample
from tests.unit.web.conftest import HOSTING_A, HOSTING_B


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    generate_sample(folder / "a.HHYP", hosting_number=HOSTING_A, preset="small", profils_path=folder / "a.profils")
    return folder


def _upload(api, data, who="A:writer", kind="hhyp", **params):
    return api.http.post("/v1/uploads", params={"kind": kind, **params}, content=data, headers=api.as_(who))


def test_an_upload_is_counted_hashed_and_seen_by_its_hosting_only(api, sample):
    data = (sample / "a.HHYP").read_bytes()
    answer = _upload(api, data)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["size_bytes"], body["sha256"], body["kind"]) == (len(data), hashlib.sha256(data).hexdigest(), "hhyp")
    assert body["hosting_number"] == HOSTING_A and body["verified"] and body["used_by_job"] is None
    path = f"/v1/uploads/{body['id']}"
    assert api.http.get(path, headers=api.as_("A:reader")).json() == body
    assert api.http.get(path, headers=api.as_("operator")).status_code == 200
    for who in ("B:reader", "B:writer"):
        other = api.http.get(path, headers=api.as_(who))
        assert other.status_code == 404 and other.json()["code"] == "NOT_FOUND"
        assert api.http.post(f"{path}/check", headers=api.as_(who)).status_code == 404
    assert api.http.delete(path, headers=api.as_("B:writer")).status_code == 404  # (a reader: 403, any upload)


def test_a_chunked_body_is_streamed_and_audited_with_the_request(api):
    parts = [bytes([n]) * 70_000 for n in range(20)]
    answer = api.http.post("/v1/uploads", params={"kind": "hhyp"}, content=iter(parts),
                           headers=api.as_("A:writer") | {"X-Request-ID": "upload-request-1"})
    assert answer.status_code == 201 and answer.json()["size_bytes"] == 1_400_000
    assert answer.json()["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
    with api.rt.db.transaction() as session:
        from hosting.db.models import AuditEvent

        stored = session.query(AuditEvent).filter_by(action="upload.stored").one()
        assert stored.data["request_id"] == "upload-request-1" and stored.actor.startswith("token:")


def test_a_reader_may_not_upload_and_the_operator_names_the_hosting(api):
    refused = _upload(api, b"x", who="A:reader")
    assert refused.status_code == 403 and refused.json()["code"] == "READ_ONLY_TOKEN"
    assert _upload(api, b"x", who="operator").status_code == 404
    assert _upload(api, b"x", who="operator", hosting=HOSTING_B).json()["hosting_number"] == HOSTING_B
    assert _upload(api, b"x", who="A:writer", hosting=HOSTING_B).status_code == 404


def test_too_large_is_413_announced_or_counted_and_leaves_nothing(api):
    api.rt.settings.upload_max_bytes = 100_000
    announced = _upload(api, b"y" * 100_001)
    assert announced.status_code == 413 and announced.json()["code"] == "UPLOAD_TOO_LARGE"
    counted = api.http.post("/v1/uploads", params={"kind": "hhyp"}, content=iter([b"z" * 60_000] * 2),
                            headers=api.as_("A:writer"))
    assert counted.status_code == 413 and counted.json()["where"]["limit"] == 100_000
    with api.rt.db.transaction() as session:
        assert session.query(Upload).count() == 0
    assert list(api.rt.store.list("incoming/")) == []


def _cli(kind, path, *extra):
    done = subprocess.run([sys.executable, "-m", "console", kind, "check", str(path), "--json", *extra],
                          capture_output=True, text=True, check=False)
    return json.loads(done.stdout)


def test_the_check_answers_what_the_cli_prints(api, sample):
    hhyp = _upload(api, (sample / "a.HHYP").read_bytes()).json()["id"]
    valid = api.http.post(f"/v1/uploads/{hhyp}/check", headers=api.as_("A:reader")).json()
    cli = _cli("hhyp", sample / "a.HHYP", "--hosting-number", HOSTING_A)
    assert valid["ok"] and {**valid["summary"], "seconds": 0} == {**cli["summary"], "seconds": 0}
    # The same bytes uploaded for hosting B: bound to A, refused as the CLI refuses them for B.
    wrong = _upload(api, (sample / "a.HHYP").read_bytes(), who="B:writer").json()["id"]
    refused = api.http.post(f"/v1/uploads/{wrong}/check", headers=api.as_("B:writer"))
    assert refused.status_code == 200
    assert refused.json() == _cli("hhyp", sample / "a.HHYP", "--hosting-number", HOSTING_B)
    assert refused.json()["code"].startswith("HHYP_")
    profils = _upload(api, (sample / "a.profils").read_bytes(), kind="profils").json()["id"]
    answer = api.http.post(f"/v1/uploads/{profils}/check", headers=api.as_("A:writer")).json()
    assert answer == _cli("profils", sample / "a.profils")


def test_presigned_needs_s3_and_delete_forgets(api):
    presigned = api.http.post("/v1/uploads/presigned", json={"kind": "hhyp", "size_bytes": 3, "sha256": "a" * 64},
                              headers=api.as_("A:writer"))
    assert presigned.status_code == 409 and presigned.json()["code"] == "UPLOAD_URL_UNSUPPORTED"
    upload = _upload(api, b"abc").json()
    assert api.http.delete(f"/v1/uploads/{upload['id']}", headers=api.as_("A:writer")).status_code == 204
    assert api.http.get(f"/v1/uploads/{upload['id']}", headers=api.as_("A:writer")).status_code == 404
    assert api.http.get("/v1/uploads/not-an-id", headers=api.as_("A:writer")).status_code == 422
