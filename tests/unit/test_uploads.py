"""Uploads (the claim check of the API) on SQLite and the local store: streamed, counted, hashed, walled in,
expired, known to fsck."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from config.settings import Settings
from hosting import uploads
from hosting.db.models import Upload, utcnow
from hosting.errors import NotFound
from hosting.fsck import fsck
from hosting.plannings import PlanningSettings, create_hosting, create_planning
from hosting.runtime import Runtime

SAMPLES = Path(__file__).parents[1] / "samples"
HOSTING, OTHER = "123456789012", "210987654321"


@pytest.fixture
def rt(db, tmp_path) -> Runtime:
    runtime = Runtime(Settings(home=tmp_path, database_url=db.url, upload_max_bytes=4 * 1024 * 1024))
    with runtime.db.transaction() as session:
        for number in (HOSTING, OTHER):
            create_hosting(session, number, actor="test")
    return runtime


def _pull(data: bytes, chunk: int = 1000):
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    return lambda: chunks.pop(0) if chunks else b""


def _receive(rt: Runtime, data: bytes, kind: str = "hhyp", hosting: str = HOSTING) -> Upload:
    return uploads.receive(rt, hosting, kind, _pull(data), actor="test")


def test_an_upload_is_stored_counted_and_hashed(rt):
    data = (SAMPLES / "small.HHYP").read_bytes()
    upload = _receive(rt, data)
    assert (upload.size_bytes, upload.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert upload.verified and rt.store.get_bytes(upload.store_key) == data
    with rt.db.transaction() as session:
        assert uploads.resolve(session, HOSTING, upload.id) == upload.store_key
        assert uploads.resolve(session, None, upload.id) == upload.store_key  # the operator


def test_another_hostings_upload_does_not_exist(rt):
    upload = _receive(rt, b"x" * 10)
    with rt.db.transaction() as session, pytest.raises(NotFound):
        uploads.resolve(session, OTHER, upload.id)
    with pytest.raises(NotFound):
        uploads.check(rt, OTHER, upload.id)


def test_too_large_is_refused_announced_or_counted_and_leaves_nothing(rt):
    limit = rt.settings.upload_max_bytes
    with pytest.raises(uploads.UploadTooLarge) as announced:
        uploads.receive(rt, HOSTING, "hhyp", _pull(b""), actor="test", size_bytes=limit + 1)
    assert announced.value.code == "UPLOAD_TOO_LARGE" and announced.value.http_status == 413
    with pytest.raises(uploads.UploadTooLarge):
        uploads.receive(rt, HOSTING, "hhyp", _pull(b"y" * (limit + 1), chunk=64 * 1024), actor="test")
    with rt.db.transaction() as session:
        assert session.query(Upload).count() == 0
    assert list(rt.store.list("incoming/")) == []


def test_a_reader_returns_whole_parts_whatever_the_chunks(rt):
    reader = uploads.CountingReader(_pull(bytes(range(256)) * 100, chunk=7), limit=10**6, kind="hhyp")
    parts = iter(lambda: reader.read(1000), b"")
    assert [len(part) for part in parts] == [1000] * 25 + [600]
    assert reader.size_bytes == 25600


def test_one_job_per_upload_and_of_the_right_kind(rt):
    upload = _receive(rt, (SAMPLES / "small.profils").read_bytes(), kind="profils")
    with rt.db.transaction() as session, pytest.raises(uploads.UploadKindMismatch):
        uploads.resolve(session, HOSTING, upload.id, kind="hhyp")
    with rt.db.transaction() as session:
        uploads.mark_used(session, upload.id, "job-1")
    with rt.db.transaction() as session, pytest.raises(uploads.UploadUsed) as used:
        uploads.resolve(session, HOSTING, upload.id)
    assert used.value.where == {"upload_id": upload.id, "job_id": "job-1"}
    with rt.db.transaction() as session, pytest.raises(uploads.UploadUsed):
        uploads.mark_used(session, upload.id, "job-2")


def _cli_check(kind: str, path: Path, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "console", kind, "check", str(path), "--json", *extra],
                          capture_output=True, text=True, check=False)
    return json.loads(done.stdout)


def test_the_dry_run_answers_as_the_cli(rt, tmp_path):
    with rt.db.transaction() as session:
        planning = create_planning(session, OTHER, PlanningSettings(
            name="P", domain="p.example.edu", controller_domain="ctl.example.edu"), actor="test")
    hhyp = _receive(rt, (SAMPLES / "small.HHYP").read_bytes())
    answer, error = uploads.check(rt, HOSTING, hhyp.id)
    assert error is None and answer["ok"] and answer["summary"]["hosting_number"] == HOSTING
    cli = _cli_check("hhyp", SAMPLES / "small.HHYP", "--hosting-number", HOSTING)
    assert {**answer["summary"], "seconds": 0} == {**cli["summary"], "seconds": 0}
    # Bound to another hosting than the planning's: the CLI's refusal, word for word.
    wrong = _receive(rt, (SAMPLES / "small.HHYP").read_bytes(), hosting=OTHER)
    answer, error = uploads.check(rt, None, wrong.id, planning=planning.id)
    cli = _cli_check("hhyp", SAMPLES / "small.HHYP", "--hosting-number", OTHER)
    assert error is not None and not answer["ok"] and answer == cli
    broken = tmp_path / "broken.profils"
    broken.write_bytes(b'{"format": "hyperplanning-profils"')
    bad = _receive(rt, broken.read_bytes(), kind="profils")
    answer, _ = uploads.check(rt, HOSTING, bad.id)
    assert answer == _cli_check("profils", broken)


def test_unused_uploads_expire_with_their_object_and_fsck_knows_them(rt):
    kept, stale, used = (_receive(rt, bytes([n]) * 100) for n in range(3))
    with rt.db.transaction() as session:
        uploads.mark_used(session, used.id, "job-1")
    report = fsck(rt)
    assert {kept.store_key, stale.store_key} & set(report.orphan_objects) == set()
    past = utcnow() - timedelta(seconds=1)
    with rt.db.transaction() as session:
        session.execute(update(Upload).where(Upload.id.in_([stale.id, used.id])).values(expires_at=past))
    report = fsck(rt)
    assert stale.store_key in report.orphan_objects and {"kind": "upload_expired", "upload_id": stale.id} in \
        report.problems
    assert uploads.expire(rt) == [stale.id]
    assert rt.store.head(stale.store_key) is None and rt.store.head(kept.store_key) is not None
    assert rt.store.head(used.store_key) is not None  # its job's input now
    with rt.db.transaction() as session:
        assert {row.id for row in session.query(Upload)} == {kept.id}


def test_a_presigned_upload_needs_an_s3_store(rt):
    with pytest.raises(uploads.UploadUrlUnsupported):
        uploads.presign(rt, HOSTING, "hhyp", size_bytes=10, sha256="0" * 64, actor="test")
