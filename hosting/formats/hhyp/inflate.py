"""The bytes of one entry, inflated in bounded chunks and verified as they come: refused the moment
they pass the manifest's size, a limit or the ratio; CRC-32, size and SHA-256 checked at the end."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

# zlib-ng: the zlib API, twice as fast; the inflating thread sets the pace (docs/formats.md).
from zlib_ng import zlib_ng as zlib

from config.limits import Limits
from hosting.formats import errors as e
from hosting.formats.hhyp.archive import LOCAL, LOCAL_SIG, STORED, Source, ZipEntry, zip64_fields

CHUNK_BYTES = 1 << 20
_ZLIB_ERROR = cast(type[Exception], zlib.error)  # (its stub declares an instance)
_READ_BYTES = 256 << 10
_DESCRIPTOR_FLAG = 0x8
_UTF8_FLAG = 0x800
_ZIP64_SIZE = 0xFFFFFFFF  # "see the ZIP64 extra field"
_DESCRIPTOR_SIG = b"PK\x07\x08"


@dataclass
class Budget:
    """Uncompressed bytes still allowed for the whole archive."""

    limit: int
    used: int = 0

    def spend(self, size: int, where: dict[str, Any]) -> None:
        self.used += size
        if self.used > self.limit:
            raise e.HhypTooLarge(limit=self.limit, where=where)


class Expected(NamedTuple):
    """What the entry must turn out to be, as the manifest says (None: not known, as at the manifest's first read)."""

    size_bytes: int | None
    sha256: bytes | None  # the digest's 32 bytes
    too_large: type[e.FormatError] = e.HhypEntryTooLarge
    limit: int = 0


def verified_chunks(source: Source, entry: ZipEntry, expected: Expected, limits: Limits,
                    budget: Budget) -> Iterator[bytes]:
    """Yield the entry's bytes; raise the entry's first fault as soon as it is known."""
    where = {"entry": entry.name}
    data_at = _data_offset(source, entry)
    size_limit = expected.limit or limits.max_entry_bytes
    announced = size_limit if expected.size_bytes is None else expected.size_bytes
    ratio_cap = limits.max_ratio * max(entry.compressed_bytes, 1)
    crc, sha, produced = 0, hashlib.sha256(), 0
    for chunk in _raw_chunks(source, entry, data_at):
        produced += len(chunk)
        if produced > size_limit:
            raise expected.too_large(limit=size_limit, where=where)
        if produced > announced:
            raise e.HhypSizeMismatch(actual=f"more than {announced}", expected=announced, where=where)
        if produced > limits.ratio_from_bytes and produced > ratio_cap:
            raise e.HhypRatio(limit=limits.max_ratio, where=where)
        budget.spend(len(chunk), where)
        crc = zlib.crc32(chunk, crc)
        sha.update(chunk)
        yield chunk
    if expected.size_bytes is not None and produced != expected.size_bytes:
        raise e.HhypSizeMismatch(actual=produced, expected=expected.size_bytes, where=where)
    if produced != entry.size_bytes:
        raise e.HhypCorrupt(reason=f"the header announces {entry.size_bytes} bytes, the data holds {produced}",
                            where=where)
    if crc != entry.crc:
        raise e.HhypBadCrc(expected=entry.crc, actual=crc, where=where)
    if expected.sha256 is not None and sha.digest() != expected.sha256:
        raise e.HhypChecksumMismatch(where=where)


def _data_offset(source: Source, entry: ZipEntry) -> int:
    """Check the local header against the central one; return where the data begins."""
    where = {"entry": entry.name}
    what = f"the local header of {entry.name}"
    header = source.read_at(entry.header_offset, LOCAL.size, what)
    sig, _, flags, method, _, _, crc, compressed, size, name_len, extra_len = LOCAL.unpack(header)
    if sig != LOCAL_SIG:
        raise e.HhypCorrupt(reason="no local header where the central directory points", where=where)
    name = source.read_at(entry.header_offset + LOCAL.size, name_len, what)
    # A streaming unzip reads only the local header: it must say what the central directory says.
    differs = (name != entry.raw_name or method != entry.method or (flags ^ entry.flags) & _DESCRIPTOR_FLAG
               or ((flags ^ entry.flags) & _UTF8_FLAG and not name.isascii()))
    if not differs and not flags & _DESCRIPTOR_FLAG:
        if _ZIP64_SIZE in (compressed, size):
            extra = source.read_at(entry.header_offset + LOCAL.size + name_len, extra_len, what)
            size, compressed, _, _ = zip64_fields(extra, size, compressed, 0, 0, entry.name)
        differs = (crc, compressed, size) != (entry.crc, entry.compressed_bytes, entry.size_bytes)
    if differs:
        raise e.HhypCorrupt(reason="the local header disagrees with the central directory", where=where)
    if flags & 0x1:
        raise e.HhypEncrypted(where=where)
    data_at = entry.header_offset + LOCAL.size + name_len + extra_len
    end = data_at + entry.compressed_bytes + _descriptor_bytes(source, entry, data_at, flags, extra_len)
    if end > entry.end_bound:
        raise e.HhypOverlappingEntries(other="the next entry", where=where)
    return data_at


def _descriptor_bytes(source: Source, entry: ZipEntry, data_at: int, flags: int, extra_len: int) -> int:
    if not flags & _DESCRIPTOR_FLAG:
        return 0
    at = data_at + entry.compressed_bytes
    signed = source.read_at(at, 4, f"the data descriptor of {entry.name}") == _DESCRIPTOR_SIG
    wide = entry.compressed_bytes >= 0xFFFFFFFF or entry.size_bytes >= 0xFFFFFFFF or extra_len >= 20
    return (4 if signed else 0) + 4 + (16 if wide else 8)


def _raw_chunks(source: Source, entry: ZipEntry, data_at: int) -> Iterator[bytes]:
    """The entry's uncompressed bytes, at most CHUNK_BYTES at a time, whatever the data claims."""
    what = f"the data of {entry.name}"
    left, at = entry.compressed_bytes, data_at
    if left == 0:  # some tools store an empty file as deflate with no data at all
        return
    if entry.method == STORED:
        while left:
            size = min(CHUNK_BYTES, left)
            yield source.read_at(at, size, what)
            at, left = at + size, left - size
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    while not inflater.eof:
        if inflater.unconsumed_tail:
            data = inflater.unconsumed_tail
        elif left:
            size = min(_READ_BYTES, left)
            data = source.read_at(at, size, what)
            at, left = at + size, left - size
        else:
            data = b""
        try:
            chunk = inflater.decompress(data, CHUNK_BYTES)
        except _ZLIB_ERROR as exc:
            raise e.HhypCorrupt(reason=f"bad deflate data ({exc})", where={"entry": entry.name}) from None
        if not chunk and not data and not inflater.eof:
            raise e.HhypTruncated(reason="the deflate stream ends early", where={"entry": entry.name})
        if chunk:
            yield chunk
    if left or inflater.unused_data:
        raise e.HhypCorrupt(reason="bytes follow the end of the deflate stream", where={"entry": entry.name})


def read_small_entry(source: Source, entry: ZipEntry, expected: Expected, limits: Limits,
                     budget: Budget) -> bytearray:
    """The whole verified entry (the manifest only), gathered in place rather than joined."""
    data = bytearray()
    for chunk in verified_chunks(source, entry, expected, limits, budget):
        data += chunk
    return data

