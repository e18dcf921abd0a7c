"""Build .HHYP archives byte by byte, broken in exactly one chosen way.

``compose_zip`` writes local headers, data, central directory and end record
itself (no zipfile), so a test controls every field a hostile archive could
lie about. ``hhyp_bytes`` builds a valid small base on top of it and lets a
test edit the manifest or any entry first.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from config.limits import DEFAULT_LIMITS, Limits
from hosting.formats.errors import FormatError
from hosting.formats.hhyp.reader import HhypReader, HhypSummary

HOSTING = "123456789012"
GRID = {"first_monday": "2026-08-31", "weeks": 10, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 10, "sequence_minutes": 60, "steps_per_sequence": 2}
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
DOCUMENT = b"%PDF-1.4\n% syllabus\n%%EOF\n"


def base_tables() -> dict[str, list[dict[str, Any]]]:
    """A small valid base: every table, every kind of reference, optional fields present and absent."""
    return {
        "subjects": [{"id": "S1", "code": "MAT101", "name": "Mathématiques"},
                     {"id": "S2", "code": "INF101", "name": "Informatique"}],
        "teachers": [{"id": "T1", "last_name": "Dupont", "first_name": "Marie", "email": "m@example.edu",
                      "photo": "annexes/photos/T1.png"},
                     {"id": "T2", "last_name": "Martin", "first_name": "Paul"}],
        "rooms": [{"id": "R1", "name": "Amphi A", "capacity": 300}, {"id": "R2", "name": "Salle B"}],
        "groups": [{"id": "P1", "name": "L1", "kind": "promotion"},
                   {"id": "TD1", "name": "TD 1", "kind": "td", "parent": "P1"},
                   {"id": "TP1", "name": "TP 1a", "kind": "tp", "parent": "TD1"}],
        "students": [{"id": "E1", "number": "2026001", "last_name": "Petit", "first_name": "Léa",
                      "groups": ["TD1", "TP1"], "photo": "annexes/photos/E1.png"},
                     {"id": "E2", "last_name": "Roux", "first_name": "Hugo", "groups": ["TD1"]},
                     {"id": "E3", "last_name": "Morel", "first_name": "Inès", "email": "i@example.edu",
                      "groups": []}],
        "courses": [{"id": "C1", "subject": "S1", "teachers": ["T1"], "groups": ["P1"], "rooms": ["R1"],
                     "duration_steps": 4, "placement": {"day": "mon", "start_step": 0, "weeks": [1, 2, 3]},
                     "documents": ["annexes/documents/syllabus.pdf"]},
                    {"id": "C2", "subject": "S2", "teachers": ["T1", "T2"], "groups": ["TD1"], "rooms": ["R2"],
                     "duration_steps": 2, "placement": {"day": "fri", "start_step": 18, "weeks": [10]}},
                    {"id": "C3", "subject": "S2", "teachers": [], "groups": ["TP1"], "rooms": [],
                     "duration_steps": 3}],
    }


def base_annexes() -> dict[str, bytes]:
    return {"annexes/photos/T1.png": PHOTO, "annexes/photos/E1.png": PHOTO[::-1],
            "annexes/documents/syllabus.pdf": DOCUMENT}


@dataclass
class Raw:
    """One entry as the archive will store it; every field a hostile archive could lie about."""

    name: str | bytes
    data: bytes = b""
    method: int = 8
    flags: int = 0
    external_attr: int = 0o100644 << 16
    crc: int | None = None
    size: int | None = None
    compressed: bytes | None = None
    central_offset: int | None = None
    local_extra: bytes = b""
    zip64: bool = False  # sizes and offset in a ZIP64 extra field of the central entry

    def name_bytes(self) -> bytes:
        if isinstance(self.name, bytes):
            return self.name
        return self.name.encode("utf-8")

    def flag_bits(self) -> int:
        utf8 = 0x800 if not self.name_bytes().isascii() else 0
        return self.flags | utf8

    def payload(self) -> bytes:
        if self.compressed is not None:
            return self.compressed
        if self.method == 8:
            deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
            return deflater.compress(self.data) + deflater.flush()
        return self.data


def compose_zip(entries: list[Raw], *, zip64_end: bool = False, reverse_central: bool = False) -> bytes:
    """The archive of ``entries``; ``zip64_end`` writes the ZIP64 end record and locator too;
    ``reverse_central`` lists the central directory in the reverse order of the data."""
    out = bytearray()
    records: list[bytes] = []
    for raw in entries:
        name, payload = raw.name_bytes(), raw.payload()
        crc = zlib.crc32(raw.data) if raw.crc is None else raw.crc
        size = len(raw.data) if raw.size is None else raw.size
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, raw.flag_bits(), raw.method, 0, 0x5921, crc,
                           len(payload), size, len(name), len(raw.local_extra))
        out += name + raw.local_extra + payload
        recorded = offset if raw.central_offset is None else raw.central_offset
        fields, extra = (len(payload), size, recorded), b""
        if raw.zip64:
            extra = struct.pack("<HHQQQ", 1, 24, size, len(payload), recorded)
            fields = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        records.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 0x031E, 45, raw.flag_bits(), raw.method,
                                   0, 0x5921, crc, fields[0], fields[1], len(name), len(extra), 0, 0, 0,
                                   raw.external_attr, fields[2]) + name + extra)
    central = b"".join(reversed(records) if reverse_central else records)
    directory_at = len(out)
    out += central
    count = len(entries)
    if zip64_end:
        record_at = len(out)
        out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), directory_at)
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, record_at, 1)
        out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), directory_at, 0)
    return bytes(out)


def table_bytes(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows)


def hhyp_bytes(tables: dict[str, list[dict[str, Any]]] | None = None, annexes: dict[str, bytes] | None = None, *,
               manifest: Callable[[dict[str, Any]], None] | None = None,
               entries: Callable[[list[Raw]], None] | None = None,
               table_data: dict[str, bytes] | None = None, zip64_end: bool = False,
               reverse_central: bool = False) -> bytes:
    """A .HHYP of ``tables`` (default: :func:`base_tables`) whose manifest is right, then edited.

    ``table_data`` replaces a table's bytes (for lines that are not rows). ``manifest`` edits the
    manifest dict; ``entries`` edits the list of raw entries (manifest first) before composing.
    """
    tables = base_tables() if tables is None else tables
    annexes = base_annexes() if annexes is None else annexes
    files = {f"base/{table}.jsonl": table_bytes(rows) for table, rows in tables.items()}
    files.update({f"base/{table}.jsonl": data for table, data in (table_data or {}).items()})
    files.update(annexes)
    document = {"format": "HHYP", "version": 1, "hosting_number": HOSTING, "base_name": "Base de test",
                "generated_at": "2026-09-01T08:00:00+02:00", "generator": "tests", "time_grid": copy.deepcopy(GRID),
                "entries": [{"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                            for path, data in files.items()],
                "tables": {table: len(rows) for table, rows in tables.items()}}
    if manifest is not None:
        manifest(document)
    raws = [Raw("manifest.json", json.dumps(document, ensure_ascii=False).encode())]
    raws += [Raw(path, data, method=0 if path.startswith("annexes/photos/") else 8) for path, data in files.items()]
    if entries is not None:
        entries(raws)
    return compose_zip(raws, zip64_end=zip64_end, reverse_central=reverse_central)


def read_all(data: bytes, *, limits: Limits = DEFAULT_LIMITS, hosting_number: str | None = HOSTING) -> HhypSummary:
    with HhypReader(io.BytesIO(data), limits=limits, expected_hosting_number=hosting_number) as reader:
        return reader.check()


def refusal(data: bytes, code: str, *, limits: Limits = DEFAULT_LIMITS,
            hosting_number: str | None = HOSTING) -> FormatError:
    """The error reading ``data`` raises; it must carry ``code``."""
    with pytest.raises(FormatError) as caught:
        read_all(data, limits=limits, hosting_number=hosting_number)
    assert caught.value.code == code, f"{caught.value.code}: {caught.value.message} {caught.value.where}"
    return caught.value


def entry_named(raws: list[Raw], name: str) -> Raw:
    return next(raw for raw in raws if raw.name == name)
