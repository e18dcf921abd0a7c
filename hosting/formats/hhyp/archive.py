"""The ZIP layer of a ``.HHYP``: its central directory, read with seek/read/tell only, every structural
rule checked before a byte is inflated (``zipfile`` trusts sizes and overlaps: CVE-2024-0450)."""

from __future__ import annotations

import stat
import struct
import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, chain, islice
from operator import le, sub
from typing import BinaryIO

from config.limits import Limits
from hosting.formats import errors as e
from hosting.formats.hhyp.names import check_name, decode_name, is_directory, is_plain_name
from hosting.formats.rows.id_fingerprints import IdFingerprints

_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
LOCAL = struct.Struct("<4sHHHHHIIIHH")
_EOCD_SIG, _EOCD64_LOCATOR_SIG, _EOCD64_SIG = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_CENTRAL_SIG, LOCAL_SIG = b"PK\x01\x02", b"PK\x03\x04"
_ENCRYPTED_FLAGS = 0x1 | 0x40 | 0x2000  # traditional, strong, masked central directory
STORED, DEFLATED = 0, 8
_METHODS = (STORED, DEFLATED)
_REGULAR_TYPE = stat.S_IFREG
_READ_BYTES = 1 << 20
# Local headers and small entries follow one another: one read of a window serves hundreds of them.
_WINDOW_BYTES = 1 << 20
_DIRECT_BYTES = 64 << 10


class Source:
    """A seekable binary stream read by absolute offsets (one seek and read under a lock); a short read is
    a truncation. Once ``read_ahead`` is set, small reads are served from a window read ahead."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        stream.seek(0, 2)
        self.size_bytes = stream.tell()
        self._window: tuple[int, bytes] = (0, b"")  # (offset, bytes): replaced whole, so read whole
        self._lock = threading.Lock()
        self.read_ahead = False

    def read_at(self, offset: int, size: int, what: str) -> bytes:
        if offset < 0 or offset + size > self.size_bytes:
            raise e.HhypTruncated(reason=f"{what} lies beyond the end of the file", where={"offset": offset})
        window_at, window = self._window
        at = offset - window_at
        if at < 0 or at + size > len(window):
            if size >= _DIRECT_BYTES or not self.read_ahead:
                return self._checked(self._read(offset, size), offset, size, what)
            window, at = self._read(offset, _WINDOW_BYTES), 0
            self._window = (offset, window)
        return self._checked(window[at:at + size], offset, size, what)

    def _read(self, offset: int, size: int) -> bytes:
        size = min(size, self.size_bytes - offset)
        with self._lock:
            self.stream.seek(offset)
            data = self.stream.read(size)
            while len(data) < size and (more := self.stream.read(size - len(data))):
                data += more
        return data

    @staticmethod
    def _checked(data: bytes, offset: int, size: int, what: str) -> bytes:
        if len(data) != size:
            raise e.HhypTruncated(reason=f"{what} ends early", where={"offset": offset + len(data)})
        return data


@dataclass(slots=True)
class ZipEntry:
    """One central-directory entry, sizes and offset already ZIP64-resolved."""

    name: str
    raw_name: bytes  # as the archive stores it (the local header must repeat it byte for byte)
    flags: int
    method: int
    crc: int
    compressed_bytes: int
    size_bytes: int
    header_offset: int
    end_bound: int = 0  # where the next entry (or the central directory) begins

    @property
    def is_directory(self) -> bool:
        return is_directory(self.name)


_PACKED = 4  # integers an entry: crc | method << 32 | flags << 48, compressed bytes, size, header offset
_CHECK_BATCH = 4096  # names case-folded at a time


class CentralDirectory:
    """The entries of the archive in archive order, packed (four integers and the name's bytes: 40 bytes an
    entry beside its name, for up to 200,000 entries); :class:`ZipEntry` objects are made on demand."""

    def __init__(self, packed: array[int], stored_names: bytes, name_ends: array[int], offset: int):
        self._packed = packed
        self._stored_names = stored_names
        self._name_ends = name_ends
        self.offset = offset  # of the central directory: where the last entry must end

    def __len__(self) -> int:
        return len(self._name_ends)

    def raw_name(self, index: int) -> bytes:
        return self._stored_names[self._name_ends[index - 1] if index else 0:self._name_ends[index]]

    def name(self, index: int) -> str:
        raw = self.raw_name(index)
        return raw.decode("ascii") if raw.isascii() else decode_name(raw, self._packed[index * _PACKED] >> 48)

    def names(self) -> Iterator[str]:
        return map(self.name, range(len(self)))

    def entry(self, index: int, name: str | None = None) -> ZipEntry:
        """The entry at ``index``; ``name``, when given, is its name (an equal string the caller holds)."""
        packed, at = self._packed, index * _PACKED
        kind, following = packed[at], at + _PACKED + 3
        end_bound = packed[following] if following < len(packed) else self.offset
        return ZipEntry(self.name(index) if name is None else name, self.raw_name(index), kind >> 48,
                        (kind >> 32) & 0xFFFF, kind & 0xFFFFFFFF, packed[at + 1], packed[at + 2], packed[at + 3],
                        end_bound)

    def find(self, name: str) -> int | None:
        """The index of the entry named ``name``, or None."""
        if name.isascii():  # (an ASCII name is stored as itself, and no other name is stored so)
            target = name.encode("ascii")
            return next((index for index in range(len(self)) if self.raw_name(index) == target), None)
        return next((index for index, candidate in enumerate(self.names()) if candidate == name), None)

    def in_archive_order(self) -> CentralDirectory:
        """This directory sorted by offset (most archives list their entries in that order already)."""
        offsets = self._packed[3::_PACKED]
        if all(map(le, offsets, offsets[1:])):
            return self
        order = sorted(range(len(offsets)), key=offsets.__getitem__)
        packed = chain.from_iterable(self._packed[index * _PACKED:(index + 1) * _PACKED] for index in order)
        names = [self.raw_name(index) for index in order]
        return CentralDirectory(array("Q", packed), b"".join(names), array("Q", accumulate(map(len, names))),
                                self.offset)

    def check_unique(self) -> None:
        """No two names equal once case-folded (fingerprints first: 8 bytes a name; names only on a repeat)."""
        fingerprints = IdFingerprints()
        names = self.names()
        while batch := [name.casefold() for name in islice(names, _CHECK_BATCH)]:
            fingerprints.add(batch)
        suspects = fingerprints.suspects()
        if not suspects:
            return
        seen: dict[str, str] = {}
        for name in self.names():
            key = name.casefold()
            if hash(key) in suspects:
                if key in seen:
                    raise e.HhypDuplicateName(other=seen[key], where={"entry": name})
                seen[key] = name

    def check_spans(self) -> None:
        """Each entry's smallest possible span must end before the next begins (checked exactly when read)."""
        if not len(self):  # (no entry: nothing to span; the missing manifest is said next)
            return
        offsets, compressed, ends = self._packed[3::_PACKED], self._packed[1::_PACKED], self._name_ends
        name_bytes = map(sub, ends, chain((0,), ends))
        bounds = chain(islice(offsets, 1, None), (self.offset,))
        for index, span in enumerate(zip(offsets, name_bytes, compressed, bounds, strict=True)):
            start, name_size, data_size, bound = span
            if start + LOCAL.size + name_size + data_size > bound:
                other = self.name(index + 1) if index + 1 < len(self) else "the central directory"
                raise e.HhypOverlappingEntries(other=other, where={"entry": self.name(index)})


def read_central_directory(source: Source, limits: Limits) -> CentralDirectory:
    """Parse and check the central directory: names, kinds, flags, methods, count, overlaps."""
    count, size, offset, end = _end_record(source, limits)
    if offset + size != end:
        raise e.HhypCorrupt(reason="the central directory does not end where its end record begins",
                            where={"offset": end})
    packed, names, name_ends = array("Q"), bytearray(), array("Q")
    for entry in _central_entries(source, offset, size, count, limits):
        packed.extend((entry.crc | entry.method << 32 | entry.flags << 48, entry.compressed_bytes,
                       entry.size_bytes, entry.header_offset))
        names += entry.raw_name
        name_ends.append(len(names))
    directory = CentralDirectory(packed, bytes(names), name_ends, offset)
    directory.check_unique()
    directory = directory.in_archive_order()
    directory.check_spans()
    return directory


def _end_record(source: Source, limits: Limits) -> tuple[int, int, int, int]:
    # Most archives have no comment: a short read at the end finds the record without a 64 KiB one.
    for window in (1024, _EOCD.size + 0xFFFF):
        tail_size = min(source.size_bytes, window)
        tail_start = source.size_bytes - tail_size
        tail = source.read_at(tail_start, tail_size, "the end of the archive")
        at = _find_end_record(tail)
        if at >= 0 or tail_size == source.size_bytes:
            break
    if at < 0:
        head = source.read_at(0, min(4, source.size_bytes), "the start of the archive")
        if head == LOCAL_SIG:
            raise e.HhypTruncated(reason="the end-of-central-directory record is missing",
                                  where={"offset": source.size_bytes})
        raise e.HhypNotZip(reason="no end-of-central-directory record", where={"offset": tail_start})
    _, disk, cd_disk, on_disk, count, size, offset, _ = _EOCD.unpack_from(tail, at)
    eocd_at = tail_start + at
    if 0xFFFF in (count, on_disk) or 0xFFFFFFFF in (size, offset):
        count, size, offset, eocd_at = _zip64_end_record(source, eocd_at)
    elif disk or cd_disk or on_disk != count:
        raise e.HhypCorrupt(reason="multi-disk archives are not accepted", where={"offset": eocd_at})
    if count > limits.max_entries:
        raise e.HhypTooManyEntries(count=count, limit=limits.max_entries, where={"offset": eocd_at})
    if offset + size > source.size_bytes:
        raise e.HhypTruncated(reason="the central directory lies beyond the end of the file",
                              where={"offset": offset})
    return count, size, offset, eocd_at


def _find_end_record(tail: bytes) -> int:
    """Where the end record whose comment reaches exactly the end of ``tail`` begins, or -1."""
    at = tail.rfind(_EOCD_SIG)
    while at >= 0 and (len(tail) - at < _EOCD.size or at + _EOCD.size + _EOCD.unpack_from(tail, at)[7] != len(tail)):
        at = tail.rfind(_EOCD_SIG, 0, at)
    return at


def _zip64_end_record(source: Source, eocd_at: int) -> tuple[int, int, int, int]:
    locator = source.read_at(eocd_at - _EOCD64_LOCATOR.size, _EOCD64_LOCATOR.size, "the ZIP64 locator")
    sig, _, record_at, disks = _EOCD64_LOCATOR.unpack(locator)
    if sig != _EOCD64_LOCATOR_SIG or disks > 1:
        raise e.HhypCorrupt(reason="the ZIP64 end-of-central-directory locator is missing or multi-disk",
                            where={"offset": eocd_at - _EOCD64_LOCATOR.size})
    record = source.read_at(record_at, _EOCD64.size, "the ZIP64 end-of-central-directory record")
    sig, _, _, _, disk, cd_disk, on_disk, count, size, offset = _EOCD64.unpack(record)
    if sig != _EOCD64_SIG or disk or cd_disk or on_disk != count:
        raise e.HhypCorrupt(reason="bad ZIP64 end-of-central-directory record", where={"offset": record_at})
    return count, size, offset, record_at


def _central_entries(source: Source, offset: int, size: int, count: int,
                     limits: Limits) -> Iterator[ZipEntry]:
    buffer, at, position, end = b"", 0, offset, offset + size
    unpack, fixed, max_name = _CENTRAL.unpack_from, _CENTRAL.size, limits.max_name_bytes
    for parsed in range(count):
        fields = unpack(buffer, at) if len(buffer) - at >= fixed else None
        while fields is None or len(buffer) - at < fixed + fields[10] + fields[11] + fields[12]:
            more = min(_READ_BYTES, end - position)
            if more <= 0:
                raise e.HhypCorrupt(reason=f"the central directory holds {parsed} entries, not {count}",
                                    where={"offset": position})
            buffer = buffer[at:] + source.read_at(position, more, "the central directory")
            at, position = 0, position + more
            fields = unpack(buffer, at) if len(buffer) >= fixed else None
        (sig, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len,
         disk, _, external, local) = fields
        if sig != _CENTRAL_SIG:
            raise e.HhypCorrupt(reason="bad central directory entry signature",
                                where={"offset": position - len(buffer) + at})
        start = at + fixed
        raw = buffer[start:start + name_len]
        # Plain names (ASCII, a regular file, no extra field) skip the generic checks they would pass.
        ascii_name = raw.isascii()
        name = raw.decode("ascii") if ascii_name else decode_name(raw, flags)
        if extra_len:
            extra = buffer[start + name_len:start + name_len + extra_len]
            usize, csize, local, disk = zip64_fields(extra, usize, csize, local, disk, name)
        entry = ZipEntry(name, raw, flags, method, crc, csize, usize, local)
        if name_len > max_name or not is_plain_name(name):
            check_name(name, raw, max_bytes=max_name)
        if (external >> 28 != _REGULAR_TYPE >> 12 or flags & _ENCRYPTED_FLAGS or method not in _METHODS
                or name.endswith("/")):
            _check_kind(entry, external)
        if disk:
            raise e.HhypCorrupt(reason="the entry lies on another disk", where={"entry": name})
        yield entry
        at = start + name_len + extra_len + comment_len
    if at != len(buffer) or position != end:
        raise e.HhypCorrupt(reason=f"the central directory holds more than {count} entries",
                            where={"offset": position - len(buffer) + at})


def zip64_fields(extra: bytes, usize: int, csize: int, local: int, disk: int,
                  name: str) -> tuple[int, int, int, int]:
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4:at + 4 + length]
        if len(body) != length:
            raise e.HhypCorrupt(reason="malformed extra field", where={"entry": name})
        if tag == 0x0001:
            values, used = [usize, csize, local], 0
            for index, value in enumerate(values):
                if value == 0xFFFFFFFF:
                    if used + 8 > length:
                        raise e.HhypCorrupt(reason="short ZIP64 extra field", where={"entry": name})
                    values[index] = struct.unpack_from("<Q", body, used)[0]
                    used += 8
            usize, csize, local = values
            if disk == 0xFFFF and used + 4 <= length:
                disk = struct.unpack_from("<I", body, used)[0]
        at += 4 + length
    return usize, csize, local, disk


def _check_kind(entry: ZipEntry, external: int) -> None:
    where = {"entry": entry.name}
    file_type = stat.S_IFMT(external >> 16)
    if file_type == stat.S_IFLNK:
        raise e.HhypSymlink(where=where)
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR) or (file_type == stat.S_IFDIR and not entry.is_directory):
        raise e.HhypNotRegular(mode=file_type, where=where)
    if entry.flags & _ENCRYPTED_FLAGS:
        raise e.HhypEncrypted(where=where)
    if entry.method not in (STORED, DEFLATED):
        raise e.HhypCompression(method=entry.method, where=where)
    # No data; deflate writes nothing in two bytes (the reader inflates them to make sure).
    if entry.is_directory and (entry.size_bytes or entry.compressed_bytes > (2 if entry.method == DEFLATED else 0)):
        raise e.HhypDirectoryWithData(where=where)
