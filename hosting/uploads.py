"""Uploads: the claim check of the HTTP API. A file goes to object storage first; a job names its upload id.

An upload belongs to one hosting (another hosting's is ``NOT_FOUND``), is counted and hashed (SHA-256) as
its bytes go by, and expires at ``expires_at`` unless a job uses it: then the job owns its object (the job's
cleanup deletes it). The row is written before the first byte is stored, so an upload cut short (a crash,
a refused size) is a row the sweeper expires with its object, never an object nobody accounts for.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, BinaryIO, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from config.logging import get_logger
from hosting import audit
from hosting.db.models import Hosting, Planning, Upload, utcnow
from hosting.db.session import rows_updated
from hosting.errors import Conflict, InvalidInput, NotFound, PermanentError
from hosting.runtime import Runtime
from hosting.store.base import ObjectStore

log = get_logger("hphost.uploads")
KINDS = {"hhyp": "base.HHYP", "profils": "users.profils"}  # the kinds, and the name of their object
HASH_READ_BYTES = 8 * 1024 * 1024


class UploadTooLarge(PermanentError):
    """The upload is larger than {limit} bytes, the most a {kind} upload may hold."""

    code = "UPLOAD_TOO_LARGE"
    http_status = 413


class UploadNotVerified(Conflict):
    """Upload {upload_id} is not complete: PUT its bytes to the URL given, then POST /v1/uploads/{upload_id}/complete."""  # noqa: E501

    code = "UPLOAD_NOT_VERIFIED"


class UploadUsed(Conflict):
    """Upload {upload_id} is already the input of job {job_id}; upload the file again for another job."""

    code = "UPLOAD_USED"


class UploadMismatch(PermanentError):
    """The object PUT for upload {upload_id} has {actual}, not the {declared} declared; upload it again."""

    code = "UPLOAD_MISMATCH"


class UploadUrlUnsupported(Conflict):
    """Presigned upload URLs need an S3 object store; this one is {store}: POST the file to /v1/uploads instead."""

    code = "UPLOAD_URL_UNSUPPORTED"


class UploadKindMismatch(InvalidInput):
    """Upload {upload_id} holds a {kind} file, not a {expected} file."""

    code = "UPLOAD_WRONG_KIND"


def max_bytes(rt: Runtime, kind: str) -> int:
    """The most an upload of ``kind`` may hold (a .profils is also bound by its format's limit)."""
    if kind == "profils":
        return min(rt.settings.upload_max_bytes, rt.settings.limits.max_profils_bytes)
    return rt.settings.upload_max_bytes


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(field="kind", reason=f"one of {', '.join(KINDS)}", where={"field": "kind"})
    return kind


def refuse_size(rt: Runtime, kind: str, size_bytes: int | None) -> None:
    """``UPLOAD_TOO_LARGE`` before a byte is read, when the announced size is over the cap."""
    limit = max_bytes(rt, kind)
    if size_bytes is not None and size_bytes > limit:
        raise UploadTooLarge(limit=limit, kind=kind, where={"size_bytes": size_bytes, "limit": limit})


# --- receiving -------------------------------------------------------------------------------------------


class CountingReader:
    """A binary reader over pulled chunks that counts and hashes them, and refuses past ``limit`` bytes.

    ``read(n)`` returns ``n`` bytes until the end (an S3 multipart part must be whole).
    """

    def __init__(self, pull: Callable[[], bytes], *, limit: int, kind: str, expected_bytes: int | None = None):
        self._pull, self._limit, self._kind = pull, limit, kind
        self.expected_bytes = expected_bytes  # announced (Content-Length): a small upload is stored in one PUT
        self._pending = bytearray()
        self._ended = False
        self.size_bytes = 0
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._pending) < size) and not self._ended:
            self._pull_one()
        size = len(self._pending) if size < 0 else min(size, len(self._pending))
        data = bytes(memoryview(self._pending)[:size])
        del self._pending[:size]
        return data

    def readinto(self, buffer: Any) -> int:
        """Copy the next bytes into ``buffer`` (an S3 part filled in place); 0 at the end."""
        if not self._pending and not self._ended:
            self._pull_one()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = memoryview(self._pending)[:size]
        del self._pending[:size]
        return size

    def _pull_one(self) -> None:
        chunk = self._pull()
        if not chunk:
            self._ended = True
            return
        self._count(chunk)
        self._pending += chunk

    def _count(self, chunk: bytes) -> None:
        self.size_bytes += len(chunk)
        if self.size_bytes > self._limit:
            raise UploadTooLarge(limit=self._limit, kind=self._kind,
                                 where={"size_bytes": f"more than {self._limit}", "limit": self._limit})
        self.sha256.update(chunk)


def begin(session: Session, hosting_number: str, kind: str, *, ttl_s: float, actor: str,
          size_bytes: int = 0, sha256: str = "") -> Upload:
    """The upload's row, unverified, before any byte is stored (its expiry covers an upload cut short)."""
    check_kind(kind)
    if session.get(Hosting, hosting_number) is None:
        raise NotFound(kind="Hosting", ident=hosting_number, where={"hosting_number": hosting_number})
    upload_id = uuid.uuid4().hex
    now = utcnow()
    upload = Upload(id=upload_id, hosting_number=hosting_number, kind=kind, store_key=f"incoming/{upload_id}/"
                    f"{KINDS[kind]}", size_bytes=size_bytes, sha256=sha256, verified=False, created_at=now,
                    expires_at=now + timedelta(seconds=ttl_s))
    session.add(upload)
    audit.record(session, "upload.started", actor=actor, hosting_number=hosting_number, upload_id=upload_id,
                 kind=kind)
    return upload


def receive(rt: Runtime, hosting_number: str, kind: str, pull: Callable[[], bytes], *, actor: str,
            size_bytes: int | None = None) -> Upload:
    """Stream what ``pull`` yields (``b""`` at the end) into object storage, counting and hashing it."""
    refuse_size(rt, kind, size_bytes)
    with rt.db.transaction() as session:
        upload = begin(session, hosting_number, kind, ttl_s=rt.settings.upload_ttl_s, actor=actor)
        upload_id, key = upload.id, upload.store_key
    reader = CountingReader(pull, limit=max_bytes(rt, kind), kind=kind, expected_bytes=size_bytes)
    try:
        rt.store.put_stream(key, cast(BinaryIO, reader))
    except BaseException:
        _forget(rt, upload_id, key)
        raise
    return _verified(rt, upload_id, reader.size_bytes, reader.sha256.hexdigest(), actor=actor)


def _verified(rt: Runtime, upload_id: str, size_bytes: int, sha256: str, *, actor: str) -> Upload:
    with rt.db.transaction() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:  # expired by a sweeper while it was stored: it is no more
            raise NotFound(kind="Upload", ident=upload_id, where={"upload_id": upload_id})
        upload.size_bytes, upload.sha256, upload.verified = size_bytes, sha256, True
        audit.record(session, "upload.stored", actor=actor, hosting_number=upload.hosting_number,
                     upload_id=upload_id, kind=upload.kind, size_bytes=size_bytes, sha256=sha256)
        session.flush()
        session.expunge(upload)
        return upload


def _forget(rt: Runtime, upload_id: str, key: str) -> None:
    """An upload that failed: no row, no object (best effort: what is left expires or fsck finds it)."""
    try:
        with rt.db.transaction() as session:
            session.execute(delete(Upload).where(Upload.id == upload_id))
        rt.store.delete(key)
    except Exception as exc:
        log.warning("upload_forget_failed", upload_id=upload_id, error=type(exc).__name__)


# --- presigned PUT (S3) ----------------------------------------------------------------------------------


def presign(rt: Runtime, hosting_number: str, kind: str, *, size_bytes: int, sha256: str,
            actor: str) -> tuple[Upload, str]:
    """An upload whose bytes the caller PUTs straight to S3 at the URL returned; verified by :func:`complete`."""
    presigned_put = getattr(rt.store, "presigned_put", None)
    if presigned_put is None:
        raise UploadUrlUnsupported(store=type(rt.store).__name__, where={"store": type(rt.store).__name__})
    refuse_size(rt, kind, size_bytes)
    _check_sha256(sha256)
    with rt.db.transaction() as session:
        upload = begin(session, hosting_number, kind, ttl_s=rt.settings.upload_ttl_s, actor=actor,
                       size_bytes=size_bytes, sha256=sha256.lower())
        session.flush()
        session.expunge(upload)
    return upload, presigned_put(upload.store_key, rt.settings.upload_url_ttl_s)


def complete(rt: Runtime, caller_hosting: str | None, upload_id: str, *, actor: str) -> Upload:
    """Verify a presigned upload: the object has the declared size and SHA-256 (read back, streamed)."""
    with rt.db.transaction() as session:
        upload = get(session, caller_hosting, upload_id)
        if upload.verified:
            session.expunge(upload)
            return upload
        key, size_bytes, sha256 = upload.store_key, upload.size_bytes, upload.sha256
    info = rt.store.head(key)
    if info is None or info.size_bytes != size_bytes:
        actual = "no object" if info is None else f"{info.size_bytes} bytes"
        raise UploadMismatch(upload_id=upload_id, actual=actual, declared=f"{size_bytes} bytes",
                             where={"upload_id": upload_id, "size_bytes": size_bytes})
    digest = _sha256_of(rt.store, key)
    if digest != sha256:
        raise UploadMismatch(upload_id=upload_id, actual=f"SHA-256 {digest}", declared=f"SHA-256 {sha256}",
                             where={"upload_id": upload_id, "sha256": sha256})
    return _verified(rt, upload_id, size_bytes, sha256, actor=actor)


def _sha256_of(store: ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    with store.open_read(key) as stream:
        while chunk := stream.read(HASH_READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(sha256: str) -> None:
    if len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256):
        raise InvalidInput(field="sha256", reason="64 hexadecimal digits expected", where={"field": "sha256"})


# --- reading and using -----------------------------------------------------------------------------------


def get(session: Session, caller_hosting: str | None, upload_id: str) -> Upload:
    """The upload, if the caller's hosting owns it (``None``: the operator, every hosting) and it lives."""
    upload = session.get(Upload, upload_id)
    visible = upload is not None and (caller_hosting is None or upload.hosting_number == caller_hosting)
    if upload is None or not visible or (upload.used_by_job is None and upload.expires_at <= utcnow()):
        raise NotFound(kind="Upload", ident=upload_id, where={"upload_id": upload_id})
    return upload


def resolve_upload(session: Session, caller_hosting: str | None, upload_id: str, *,
                   kind: str | None = None) -> Upload:
    """The upload a new job may take as input: the caller's, verified, unused, of ``kind`` when given."""
    upload = get(session, caller_hosting, upload_id)
    if not upload.verified:
        raise UploadNotVerified(upload_id=upload_id, where={"upload_id": upload_id})
    if upload.used_by_job is not None:
        raise UploadUsed(upload_id=upload_id, job_id=upload.used_by_job,
                         where={"upload_id": upload_id, "job_id": upload.used_by_job})
    if kind is not None and upload.kind != kind:
        raise UploadKindMismatch(upload_id=upload_id, kind=upload.kind, expected=kind,
                                 where={"upload_id": upload_id, "kind": upload.kind})
    return upload


def resolve(session: Session, caller_hosting_id: str | None, upload_id: str, *, kind: str | None = None) -> str:
    """The object-store key of an upload a new job may take (see :func:`resolve_upload`)."""
    return resolve_upload(session, caller_hosting_id, upload_id, kind=kind).store_key


def mark_used(session: Session, upload_id: str, job_id: str) -> None:
    """The job owns the upload's object from now on (in the job's transaction; one job per upload)."""
    won = rows_updated(session, update(Upload).where(Upload.id == upload_id, Upload.used_by_job.is_(None))
                       .values(used_by_job=job_id))
    if not won:
        current = session.scalar(select(Upload.used_by_job).where(Upload.id == upload_id))
        if current is None:
            raise NotFound(kind="Upload", ident=upload_id, where={"upload_id": upload_id})
        raise UploadUsed(upload_id=upload_id, job_id=current, where={"upload_id": upload_id, "job_id": current})


def check(rt: Runtime, caller_hosting: str | None, upload_id: str, *,
          planning: str | None = None) -> tuple[dict[str, Any], PermanentError | None]:
    """The dry-run check of ``hphost hhyp check``/``profils check`` on an upload: the same answer object.

    A .HHYP must be bound to the hosting number of ``planning`` (the caller's), or of the upload's hosting.
    """
    from hosting.formats import dry_run

    with rt.db.transaction() as session:
        upload = get(session, caller_hosting, upload_id)
        if not upload.verified:
            raise UploadNotVerified(upload_id=upload_id, where={"upload_id": upload_id})
        hosting_number, kind, key = upload.hosting_number, upload.kind, upload.store_key
        if planning is not None:
            hosting_number = _planning_hosting(session, caller_hosting, planning)
    limits = rt.settings.limits

    def run() -> dict[str, Any]:
        with rt.store.open_read(key) as stream:
            if kind == "hhyp":
                return dry_run.hhyp_summary(stream, hosting_number=hosting_number, limits=limits)
            return dry_run.profils_summary(stream, limits=limits)

    answer, error = dry_run.outcome(run)
    return answer, cast(PermanentError | None, error)


def _planning_hosting(session: Session, caller_hosting: str | None, planning_id: str) -> str:
    planning = session.get(Planning, planning_id)
    if planning is None or (caller_hosting is not None and planning.hosting_number != caller_hosting):
        raise NotFound(kind="Planning", ident=planning_id, where={"planning": planning_id})
    return planning.hosting_number


def discard(rt: Runtime, caller_hosting: str | None, upload_id: str, *, actor: str) -> None:
    """Delete an upload no job uses (``UPLOAD_USED`` otherwise: the job owns it)."""
    with rt.db.transaction() as session:
        upload = _unused(session, caller_hosting, upload_id)
        key = upload.store_key
        session.delete(upload)
        audit.record(session, "upload.deleted", actor=actor, hosting_number=upload.hosting_number,
                     upload_id=upload_id)
    rt.store.delete(key)


def _unused(session: Session, caller_hosting: str | None, upload_id: str) -> Upload:
    upload = get(session, caller_hosting, upload_id)
    if upload.used_by_job is not None:
        raise UploadUsed(upload_id=upload_id, job_id=upload.used_by_job,
                         where={"upload_id": upload_id, "job_id": upload.used_by_job})
    return upload


# --- expiry ----------------------------------------------------------------------------------------------


def expire(rt: Runtime, *, actor: str = "sweeper") -> list[str]:
    """Delete uploads past their expiry: an unused one with its object, a used one's row only (its job's
    cleanup deletes its inputs). An unused row is deleted by a conditional statement before its object, so a
    job taking the upload at the same moment either wins it or is refused."""
    now = utcnow()
    with rt.db.transaction() as session:
        unused = session.execute(select(Upload.id, Upload.store_key, Upload.hosting_number).where(
            Upload.expires_at < now, Upload.used_by_job.is_(None))).all()
        # A used upload's object is its job's input now (fsck counts it there): only the row goes.
        session.execute(delete(Upload).where(Upload.expires_at < now, Upload.used_by_job.is_not(None)))
    expired = []
    for upload_id, key, hosting_number in unused:
        with rt.db.transaction() as session:
            gone = session.execute(delete(Upload).where(Upload.id == upload_id, Upload.used_by_job.is_(None)))
            if not cast(CursorResult[Any], gone).rowcount:  # taken by a job meanwhile
                continue
            audit.record(session, "upload.expired", actor=actor, hosting_number=hosting_number, upload_id=upload_id)
        rt.store.delete(key)
        expired.append(upload_id)
    return expired


def live_keys(session: Session) -> tuple[set[str], list[dict[str, Any]]]:
    """For fsck: the keys of unused uploads that live (a used one's key is its job's input), and the expired
    ones a sweeper has not deleted yet (their objects are orphans)."""
    now = utcnow()
    keys: set[str] = set()
    expired: list[dict[str, Any]] = []
    for upload in session.scalars(select(Upload).where(Upload.used_by_job.is_(None))):
        if upload.expires_at > now:
            keys.add(upload.store_key)
        else:
            expired.append({"kind": "upload_expired", "upload_id": upload.id})
    return keys, expired
