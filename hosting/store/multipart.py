"""A stream of unknown size (an HTTP upload) into S3 as a multipart upload, in bounded memory.

Two part buffers, filled in place (``readinto``) and sent as they are: one part is sent while the next is
read, so the server holds about two parts (S3's least, 5 MiB), never the file. botocore retries each part;
an upload that fails is aborted, so S3 keeps no parts nobody will complete.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from hosting.store.s3 import S3Store

PART_BYTES = 5 * 1024 * 1024  # S3's least part


def fill(stream: BinaryIO, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``stream``; how many bytes it holds (fewer only at the stream's end)."""
    view, held = memoryview(buffer), 0
    readinto = getattr(stream, "readinto", None)
    while held < len(buffer):
        if readinto is not None:
            got = readinto(view[held:])
        else:
            data = stream.read(len(buffer) - held)
            got = len(data)
            view[held:held + got] = data
        if not got:
            break
        held += got
    return held


def put_unsized(store: S3Store, key: str, stream: BinaryIO, part_bytes: int = PART_BYTES) -> None:
    """Store ``stream`` under ``key``: one PUT when it fits in a part, else a multipart upload.

    A stream that announces its size (``expected_bytes``, an HTTP body's Content-Length) under the store's
    multipart threshold is read into one buffer and sent in one PUT, as a plain copy would be.
    """
    expected = getattr(stream, "expected_bytes", None)
    first_bytes = part_bytes
    if isinstance(expected, int) and expected < store.transfer.multipart_threshold:
        first_bytes = max(expected + 1, part_bytes)  # (+1: its end is seen)
    first = bytearray(first_bytes)
    held = fill(stream, first)
    if held < len(first):
        del first[held:]
        store._call("put", key, lambda: store.client.put_object(Bucket=store.bucket, Key=store._key(key), Body=first))
        return
    target = {"Bucket": store.bucket, "Key": store._key(key)}
    upload_id = store._call("put", key, lambda: store.client.create_multipart_upload(**target))["UploadId"]
    try:
        parts = _send_parts(store, key, stream, [first, bytearray(part_bytes)], {**target, "UploadId": upload_id})
        store._call("put", key, lambda: store.client.complete_multipart_upload(
            **target, UploadId=upload_id, MultipartUpload={"Parts": parts}))
    except BaseException:
        try:
            store.client.abort_multipart_upload(**target, UploadId=upload_id)
        except Exception:  # best effort: a bucket lifecycle rule removes what is left
            pass
        raise


def _send_parts(store: S3Store, key: str, stream: BinaryIO, buffers: list[bytearray],
                upload: dict[str, Any]) -> list[dict[str, Any]]:
    """Send part after part (the first buffer is full), each while the next is read into the other buffer."""
    parts: list[dict[str, Any]] = []
    sending: Future[dict[str, Any]] | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="s3-part") as sender:
        body, full, number = buffers[0], True, 0
        while body:
            number += 1
            if sending is not None:
                parts.append(sending.result())  # the other buffer is free again
            sending = sender.submit(_send_part, store, key, upload, number, body)
            if not full:
                break
            body = buffers[1] if body is buffers[0] else buffers[0]
            if len(body) != len(buffers[1]):
                body = buffers[0] = bytearray(len(buffers[1]))  # a first part larger than the others
            held = fill(stream, body)
            full = held == len(body)
            del body[held:]
        assert sending is not None  # (the first buffer is full)
        parts.append(sending.result())
    return parts


def _send_part(store: S3Store, key: str, upload: dict[str, Any], number: int, body: bytearray) -> dict[str, Any]:
    answer = store._call("put", key, lambda: store.client.upload_part(**upload, PartNumber=number, Body=body))
    return {"PartNumber": number, "ETag": answer["ETag"]}
