"""``/v1/uploads``: files go to object storage first (claim check); a job names its upload ids.

``POST /v1/uploads`` streams the request body into the store while counting and hashing it: the server holds
a few parts at most, never the file. With an S3 store a caller may instead PUT the bytes straight to S3
(``POST /v1/uploads/presigned``, then ``/complete``, which checks the size and SHA-256 declared).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
import anyio.lowlevel
from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, Field

from hosting import uploads
from hosting.db.models import Upload
from hosting.errors import NotFound
from web.auth import Caller, CallerDep, WriterDep
from web.deps import RuntimeDep
from web.problems import problem_doc

router = APIRouter(prefix="/uploads", tags=["uploads"])

Kind = Literal["hhyp", "profils"]
PULL_BYTES = 1024 * 1024
UploadId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="The upload's id.")]
HostingQuery = Annotated[str | None, Query(pattern="^[0-9]{12}$", description=(
    "The hosting the file is for: the operator's token must name it; any other token's is its own."))]
_BINARY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: problem_doc("NOT_FOUND (also another hosting's upload)"),
    409: problem_doc("UPLOAD_NOT_VERIFIED, UPLOAD_USED, UPLOAD_URL_UNSUPPORTED"),
    413: problem_doc("UPLOAD_TOO_LARGE"), 422: problem_doc("INVALID_INPUT, UPLOAD_MISMATCH, UPLOAD_WRONG_KIND")}


class UploadOut(BaseModel):
    id: str
    hosting_number: str
    kind: Kind
    size_bytes: int = Field(description="Counted by the server (declared, for a presigned upload not verified).")
    sha256: str = Field(description="SHA-256 of the bytes, hex.")
    verified: bool = Field(description="False until a presigned upload is completed.")
    created_at: datetime
    expires_at: datetime = Field(description="Deleted then, unless a job uses it.")
    used_by_job: str | None

    @classmethod
    def of(cls, upload: Upload) -> UploadOut:
        return cls.model_validate(upload, from_attributes=True)


class PresignRequest(BaseModel):
    kind: Kind
    size_bytes: int = Field(ge=0, le=2**62)
    sha256: str = Field(pattern="^[0-9a-fA-F]{64}$")
    hosting_number: str | None = Field(None, pattern="^[0-9]{12}$", description="The operator's token only.")


class PresignedUpload(BaseModel):
    upload: UploadOut
    url: str = Field(description="PUT the file's bytes here (no Authorization header), then POST .../complete.")
    method: Literal["PUT"] = "PUT"


class CheckAnswer(BaseModel):
    """What ``hphost hhyp check --json`` / ``hphost profils check --json`` prints for the same file."""

    ok: bool
    code: str | None
    message: str
    where: dict[str, Any] | None
    summary: dict[str, Any] | None


def _hosting_of(caller: Caller, hosting: str | None) -> str:
    """The hosting an upload is for: the caller's own; the operator names one."""
    if caller.hosting is not None and hosting not in (None, caller.hosting):
        raise NotFound(kind="Hosting", ident=hosting, where={"hosting_number": hosting})
    number = caller.hosting or hosting
    if number is None:
        raise NotFound(kind="Hosting", ident="(none given)", where={"hosting_number": None})
    return number


def _announced_size(request: Request) -> int | None:
    length = request.headers.get("content-length", "")
    return int(length) if length.isascii() and length.isdigit() else None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UploadOut, openapi_extra=_BINARY,
             responses=_REFUSALS)
async def post_upload(request: Request, rt: RuntimeDep, caller: WriterDep, kind: Annotated[Kind, Query()],
                      hosting: HostingQuery = None) -> UploadOut:
    """Stream the body (the file's bytes) into object storage; its size and SHA-256 come back."""
    number = _hosting_of(caller, hosting)
    size_bytes = _announced_size(request)
    uploads.refuse_size(rt, kind, size_bytes)  # before a byte is read
    chunks = request.stream()
    loop = anyio.lowlevel.current_token()  # the store may read from a thread of its own, not anyio's

    async def next_batch() -> bytes:  # about a MiB of the body (one thread hop for many small chunks)
        batch = []
        held = 0
        while held < PULL_BYTES and (chunk := await anext(chunks, b"")):
            batch.append(chunk)
            held += len(chunk)
        return b"".join(batch)

    def pull() -> bytes:  # in a storing thread: the next bytes of the body, b"" at its end
        return anyio.from_thread.run(next_batch, token=loop)

    def store() -> Upload:
        return uploads.receive(rt, number, kind, pull, actor=caller.actor, size_bytes=size_bytes)

    return UploadOut.of(await anyio.to_thread.run_sync(store))


@router.post("/presigned", status_code=status.HTTP_201_CREATED, response_model=PresignedUpload,
             responses=_REFUSALS)
def presign_upload(body: PresignRequest, rt: RuntimeDep, caller: WriterDep) -> PresignedUpload:
    """An upload whose bytes go straight to S3 (a presigned PUT URL); complete it to have it verified."""
    number = _hosting_of(caller, body.hosting_number)
    upload, url = uploads.presign(rt, number, body.kind, size_bytes=body.size_bytes, sha256=body.sha256,
                                  actor=caller.actor)
    return PresignedUpload(upload=UploadOut.of(upload), url=url)


@router.post("/{upload_id}/complete", response_model=UploadOut, responses=_REFUSALS)
def complete_upload(upload_id: UploadId, rt: RuntimeDep, caller: WriterDep) -> UploadOut:
    """Verify a presigned upload: the object PUT has the size and SHA-256 declared (``UPLOAD_MISMATCH``)."""
    return UploadOut.of(uploads.complete(rt, caller.hosting, upload_id, actor=caller.actor))


@router.get("/{upload_id}", response_model=UploadOut, responses=_REFUSALS)
def get_upload(upload_id: UploadId, rt: RuntimeDep, caller: CallerDep) -> UploadOut:
    with rt.db.transaction() as session:
        return UploadOut.of(uploads.get(session, caller.hosting, upload_id))


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_REFUSALS)
def delete_upload(upload_id: UploadId, rt: RuntimeDep, caller: WriterDep) -> None:
    """Delete an upload no job uses."""
    uploads.discard(rt, caller.hosting, upload_id, actor=caller.actor)


@router.post("/{upload_id}/check", response_model=CheckAnswer, responses=_REFUSALS)
def check_upload(upload_id: UploadId, rt: RuntimeDep, caller: CallerDep,
                 planning: Annotated[str | None, Query(pattern="^[0-9a-f]{32}$", description=(
                     "A .HHYP must be bound to this planning's hosting number (default: the upload's)."))] = None,
                 ) -> CheckAnswer:
    """The dry-run check of ``hphost hhyp check`` / ``profils check`` on the upload: the same code, message
    and place. A refused file is a ``200`` whose ``ok`` is false: the check itself succeeded."""
    answer, _ = uploads.check(rt, caller.hosting, upload_id, planning=planning)
    return CheckAnswer(**answer)
