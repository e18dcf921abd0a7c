"""The archive rules of a .HHYP: names, entry kinds, flags, methods, overlaps, corruption."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from typing import Any, BinaryIO, cast

import pytest
from hhyp_craft import Raw, base_annexes, compose_zip, entry_named, hhyp_bytes, read_all, refusal

from hosting.formats.hhyp.reader import HhypReader


def with_extra(raw: Raw):
    return lambda raws: raws.append(raw)


@pytest.mark.parametrize(("name", "code"), [
    ("base/../../etc/passwd", "HHYP_ZIP_SLIP"),
    ("annexes/photos/../../x.png", "HHYP_ZIP_SLIP"),
    ("/etc/passwd", "HHYP_ABSOLUTE_PATH"),
    ("C:/Windows/evil.dll", "HHYP_DRIVE_LETTER"),
    ("c:evil", "HHYP_DRIVE_LETTER"),
    ("annexes\\photos\\x.png", "HHYP_BACKSLASH"),
    ("annexes/photos/a\x00b.png", "HHYP_CONTROL_CHARACTER"),
    ("annexes/photos/a\x1bb.png", "HHYP_CONTROL_CHARACTER"),
    ("annexes//photos/x.png", "HHYP_EMPTY_SEGMENT"),
    ("annexes/photos/./x.png", "HHYP_EMPTY_SEGMENT"),
    ("annexes/photos/e\u0301cole.png", "HHYP_NAME_NOT_NFC"),
    ("annexes/photos/" + "x" * 241 + ".png", "HHYP_NAME_TOO_LONG"),
    ("other/x.txt", "HHYP_OUTSIDE_PREFIX"),
    ("annexes/videos/x.mp4", "HHYP_OUTSIDE_PREFIX"),
    ("Manifest.json", "HHYP_OUTSIDE_PREFIX"),
])
def test_entry_names_are_refused(name: str, code: str) -> None:
    error = refusal(hhyp_bytes(entries=with_extra(Raw(name, b"x"))), code)
    assert error.where["entry"] in (name, name.replace("\x00", "?").replace("\x1b", "?"))


def test_a_name_flagged_utf8_must_be_utf8() -> None:
    error = refusal(hhyp_bytes(entries=with_extra(Raw(b"annexes/photos/\xff.png", b"x", flags=0x800))),
                    "HHYP_NAME_ENCODING")
    assert error.where["entry"].startswith("annexes/photos/")


def test_names_equal_once_case_folded_are_duplicates() -> None:
    def twins(raws: list[Raw]) -> None:
        raws.append(Raw("annexes/photos/T1.PNG", b"x"))

    error = refusal(hhyp_bytes(entries=twins), "HHYP_DUPLICATE_NAME")
    assert error.where == {"entry": "annexes/photos/T1.PNG"}


def test_exactly_repeated_names_are_duplicates() -> None:
    error = refusal(hhyp_bytes(entries=with_extra(Raw("base/rooms.jsonl", b""))), "HHYP_DUPLICATE_NAME")
    assert error.where == {"entry": "base/rooms.jsonl"}


@pytest.mark.parametrize(("mode", "code"), [
    (0o120777, "HHYP_SYMLINK"),
    (0o010644, "HHYP_NOT_REGULAR"),
    (0o020644, "HHYP_NOT_REGULAR"),
    (0o060644, "HHYP_NOT_REGULAR"),
    (0o140644, "HHYP_NOT_REGULAR"),
])
def test_non_regular_entries_are_refused(mode: int, code: str) -> None:
    def kind(raws: list[Raw]) -> None:
        entry_named(raws, "annexes/photos/T1.png").external_attr = mode << 16

    error = refusal(hhyp_bytes(entries=kind), code)
    assert error.where == {"entry": "annexes/photos/T1.png"}


@pytest.mark.parametrize("flag", [0x1, 0x40, 0x2000])
def test_encrypted_entries_are_refused(flag: int) -> None:
    def encrypt(raws: list[Raw]) -> None:
        entry_named(raws, "base/rooms.jsonl").flags |= flag

    error = refusal(hhyp_bytes(entries=encrypt), "HHYP_ENCRYPTED")
    assert error.where == {"entry": "base/rooms.jsonl"}


@pytest.mark.parametrize("method", [1, 9, 12, 14, 93, 99])
def test_only_stored_and_deflate_are_accepted(method: int) -> None:
    def compress(raws: list[Raw]) -> None:
        raw = entry_named(raws, "base/subjects.jsonl")
        raw.compressed, raw.method = raw.payload(), method

    error = refusal(hhyp_bytes(entries=compress), "HHYP_COMPRESSION")
    assert error.where == {"entry": "base/subjects.jsonl"}
    assert str(method) in error.message


def test_directory_entries_under_allowed_prefixes_are_ignored() -> None:
    def folders(raws: list[Raw]) -> None:
        raws[1:1] = [Raw(name, b"", method=0, external_attr=0o040755 << 16)
                     for name in ("base/", "annexes/", "annexes/photos/", "annexes/documents/")]

    summary = read_all(hhyp_bytes(entries=folders))
    assert summary.directories == 4
    assert summary.entries == 9


def test_a_directory_outside_the_prefixes_is_refused() -> None:
    error = refusal(hhyp_bytes(entries=with_extra(Raw("secrets/", b"", method=0))), "HHYP_OUTSIDE_PREFIX")
    assert error.where == {"entry": "secrets/"}


FOLDER = 0o040755 << 16


@pytest.mark.parametrize("raw", [
    Raw("annexes/photos/", b"surprise", method=0),
    Raw("annexes/photos/", b"MZ", method=0, size=0, external_attr=FOLDER),  # stored: no byte at all
    Raw("annexes/photos/", b"", method=8, compressed=b"\x02\x00\x00", external_attr=FOLDER),  # 3 bytes: too many
], ids=["stored-8-bytes", "stored-2-bytes-size-0", "deflate-3-bytes"])
def test_a_directory_entry_with_data_is_refused(raw: Raw) -> None:
    assert len(raw.payload()) <= 8
    error = refusal(hhyp_bytes(entries=with_extra(raw)), "HHYP_DIRECTORY_WITH_DATA")
    assert error.where == {"entry": "annexes/photos/"}


def test_a_directory_entry_written_as_an_empty_deflate_stream_is_accepted() -> None:
    folder = Raw("annexes/photos/", b"", method=8, external_attr=FOLDER)
    assert folder.payload() == b"\x03\x00"
    assert read_all(hhyp_bytes(entries=with_extra(folder))).directories == 1


def _folder_first(raws: list[Raw]) -> None:
    raws.insert(1, Raw("base/", b"", method=0, external_attr=FOLDER))


def _local_header_of(data: bytes, name: bytes) -> int:
    at = 0
    while data[at + 30:at + 30 + struct.unpack_from("<H", data, at + 26)[0]] != name:
        at = data.index(b"PK\x03\x04", at + 4)
    return at


@pytest.mark.parametrize(("damage", "code"), [
    (lambda data, at: struct.pack_into("<H", data, at + 28, 400), "HHYP_OVERLAPPING_ENTRIES"),  # extra runs on
    (lambda data, at: data.__setitem__(slice(at, at + 4), b"XXXX"), "HHYP_CORRUPT"),  # no local header there
    (lambda data, at: struct.pack_into("<H", data, at + 6, 1), "HHYP_ENCRYPTED"),
])
def test_a_directory_entry_is_checked_like_any_other(damage, code: str) -> None:
    # Ignored is not unread: its local header must agree with the central one and end before the next entry.
    data = bytearray(hhyp_bytes(entries=_folder_first))
    damage(data, _local_header_of(bytes(data), b"base/"))
    error = refusal(bytes(data), code)
    assert error.where == {"entry": "base/"}


def test_entries_pointing_at_the_same_bytes_overlap() -> None:
    # CVE-2024-0450: two central entries share one local header and its data.
    def alias(raws: list[Raw]) -> None:
        raws.append(Raw("annexes/photos/X.png", PHOTO_ALIAS, method=0, central_offset=0))

    error = refusal(hhyp_bytes(entries=alias), "HHYP_OVERLAPPING_ENTRIES")
    assert error.where["entry"] in ("manifest.json", "annexes/photos/X.png")


PHOTO_ALIAS = b"\x89PNG"


def test_overlap_hidden_in_a_local_extra_field_is_caught_when_read() -> None:
    # The central directory alone looks fine; the local header's extra field runs into the next entry.
    data = bytearray(hhyp_bytes())
    rooms_at = data.index(b"PK\x03\x04" + struct.pack("<H", 20), data.index(b"base/rooms.jsonl") - 40)
    extra_len_at = rooms_at + 28
    struct.pack_into("<H", data, extra_len_at, 400)
    error = refusal(bytes(data), "HHYP_OVERLAPPING_ENTRIES")
    assert error.where == {"entry": "base/rooms.jsonl"}


def test_a_truncated_archive_is_refused() -> None:
    data = hhyp_bytes()
    error = refusal(data[: len(data) // 2], "HHYP_TRUNCATED")
    assert error.where == {"offset": len(data) // 2}


def test_a_central_directory_beyond_the_end_is_truncation() -> None:
    data = bytearray(hhyp_bytes())
    struct.pack_into("<I", data, len(data) - 6, len(data) * 2)
    error = refusal(bytes(data), "HHYP_TRUNCATED")
    assert error.where == {"offset": len(data) * 2}


@pytest.mark.parametrize("before", [b"", b"PK\x03\x04 bytes no directory lists" * 100])
def test_an_archive_whose_directory_lists_no_entry_has_no_manifest(before: bytes) -> None:
    # An end record saying "0 entries" crashed the overlap check (found by a fuzz campaign).
    empty = compose_zip([])
    data = before + empty[:16] + struct.pack("<I", len(before)) + empty[20:]  # (the directory starts after them)
    error = refusal(data, "HHYP_MANIFEST_MISSING")
    assert error.where == {"entry": "manifest.json"}


def test_not_a_zip_at_all() -> None:
    error = refusal(b"just some text, no archive here" * 10, "HHYP_NOT_ZIP")
    assert error.where == {"offset": 0}


def test_corrupt_deflate_data_is_refused() -> None:
    def garble(raws: list[Raw]) -> None:
        entry_named(raws, "base/courses.jsonl").compressed = b"\xff" * 64

    error = refusal(hhyp_bytes(entries=garble), "HHYP_CORRUPT")
    assert error.where == {"entry": "base/courses.jsonl"}


def test_a_deflate_stream_cut_short_is_truncation() -> None:
    def cut(raws: list[Raw]) -> None:
        raw = entry_named(raws, "base/courses.jsonl")
        raw.compressed = raw.payload()[:-10]

    error = refusal(hhyp_bytes(entries=cut), "HHYP_TRUNCATED")
    assert error.where == {"entry": "base/courses.jsonl"}


def test_bytes_after_the_deflate_stream_are_refused() -> None:
    def pad(raws: list[Raw]) -> None:
        raw = entry_named(raws, "base/courses.jsonl")
        raw.compressed = raw.payload() + b"hidden"

    error = refusal(hhyp_bytes(entries=pad), "HHYP_CORRUPT")
    assert error.where == {"entry": "base/courses.jsonl"}


def test_a_bad_crc_is_refused() -> None:
    def wrong_crc(raws: list[Raw]) -> None:
        entry_named(raws, "base/groups.jsonl").crc = 0x12345678

    error = refusal(hhyp_bytes(entries=wrong_crc), "HHYP_BAD_CRC")
    assert error.where == {"entry": "base/groups.jsonl"}


def test_a_local_header_that_disagrees_with_the_central_one_is_refused() -> None:
    data = bytearray(hhyp_bytes())
    at = data.index(b"base/rooms.jsonl")  # the first occurrence is the local header's
    data[at:at + 4] = b"BASE"
    error = refusal(bytes(data), "HHYP_CORRUPT")
    assert error.where == {"entry": "base/rooms.jsonl"}


@pytest.mark.parametrize("header", ["local", "central"])
def test_a_data_descriptor_announced_by_one_header_only_is_refused(header: str) -> None:
    # Readers that trust the other header would look for the entry's end elsewhere (found by a fuzz campaign).
    data = bytearray(hhyp_bytes())
    signature, flags_at = (b"PK\x03\x04", 6) if header == "local" else (b"PK\x01\x02", 8)
    at = data.index(b"base/rooms.jsonl", data.index(signature))  # the name in that kind of header
    start = data.rindex(signature, 0, at)
    struct.pack_into("<H", data, start + flags_at, struct.unpack_from("<H", data, start + flags_at)[0] | 0x8)
    error = refusal(bytes(data), "HHYP_CORRUPT")
    assert error.where == {"entry": "base/rooms.jsonl"}


@pytest.mark.parametrize(("offset", "field"), [(14, "crc"), (18, "compressed size"), (22, "size")])
def test_a_local_crc_or_size_that_disagrees_with_the_central_one_is_refused(offset: int, field: str) -> None:
    # A streaming unzip reads the local header only: it must say what was verified (found by a fuzz campaign).
    data = bytearray(hhyp_bytes())
    at = _local_header_of(bytes(data), b"base/rooms.jsonl")
    struct.pack_into("<I", data, at + offset, struct.unpack_from("<I", data, at + offset)[0] ^ 1)
    error = refusal(bytes(data), "HHYP_CORRUPT")
    assert error.where == {"entry": "base/rooms.jsonl"}


@pytest.mark.parametrize(("size_off_by", "compressed_off_by"), [(0, 0), (1, 0), (0, 1)])
def test_local_sizes_in_a_zip64_extra_field_are_compared_too(size_off_by: int, compressed_off_by: int) -> None:
    valid = size_off_by == compressed_off_by == 0

    def zip64_local(raws: list[Raw]) -> None:
        rooms = entry_named(raws, "base/rooms.jsonl")
        rooms.local_extra = struct.pack("<HHQQ", 1, 16, len(rooms.data) + size_off_by,
                                        len(rooms.payload()) + compressed_off_by)

    data = bytearray(hhyp_bytes(entries=zip64_local))
    at = _local_header_of(bytes(data), b"base/rooms.jsonl")
    struct.pack_into("<II", data, at + 18, 0xFFFFFFFF, 0xFFFFFFFF)  # "see the ZIP64 extra field"
    if valid:
        assert read_all(bytes(data)).rows["rooms"] == 2
    else:
        assert refusal(bytes(data), "HHYP_CORRUPT").where == {"entry": "base/rooms.jsonl"}


@pytest.mark.parametrize(("name", "refused"), [("annexes/photos/Élodie.png", True), ("annexes/photos/E1.png", False)])
def test_a_name_whose_encoding_only_one_header_says_is_refused(name: str, refused: bool) -> None:
    # Another reader would decode a non-ASCII name another way, as another path.
    data = bytearray(hhyp_bytes(annexes={**base_annexes(), name: b"\x89PNG"}))
    at = _local_header_of(bytes(data), name.encode())
    struct.pack_into("<H", data, at + 6, struct.unpack_from("<H", data, at + 6)[0] ^ 0x800)
    if refused:
        assert refusal(bytes(data), "HHYP_CORRUPT").where == {"entry": name}
    else:
        assert read_all(bytes(data)).annexes == 3


def test_a_non_ascii_name_is_read_and_its_local_header_compared_byte_for_byte() -> None:
    photo = "annexes/photos/Élodie Müller.png"
    archive = hhyp_bytes(annexes={photo: b"\x89PNG portrait"}, tables={})
    with HhypReader(io.BytesIO(archive)) as reader:
        names: list[str] = []
        reader.stream(lambda name, stream, size: names.append(name))
    assert names == [photo]

    data = bytearray(archive)
    stored = photo.encode("utf-8")
    at = data.index(stored)  # the first occurrence is the local header's
    data[at + len(stored) - 5] ^= 0x20  # "Müller" -> "MülleR", in the local header only
    error = refusal(bytes(data), "HHYP_CORRUPT")
    assert error.where == {"entry": photo}


def test_a_central_directory_out_of_archive_order_is_read_in_archive_order() -> None:
    # Non-ASCII names keep their stored bytes: each must follow its entry when the directory is sorted.
    annexes = {"annexes/photos/Élodie Müller.png": b"\x89PNG portrait", "annexes/photos/T1.png": b"\x89PNG T1",
               "annexes/documents/Ça.pdf": b"%PDF-1.4"}
    archive = hhyp_bytes(annexes=annexes, tables={}, reverse_central=True)
    with HhypReader(io.BytesIO(archive)) as reader:
        names: list[str] = []
        summary = reader.stream(lambda name, stream, size: names.append(name))
    assert names == list(annexes)
    assert summary.entries == 3 and summary.bytes == sum(map(len, annexes.values()))


def test_a_header_that_understates_the_size_is_caught_by_counting() -> None:
    def lie(raws: list[Raw]) -> None:
        entry_named(raws, "base/students.jsonl").size = 10

    error = refusal(hhyp_bytes(entries=lie), "HHYP_CORRUPT")
    assert error.where == {"entry": "base/students.jsonl"}


def test_a_zip_bomb_with_a_lying_header_stops_at_the_announced_size() -> None:
    # Header and manifest both claim 1 KiB; the data inflates to 64 MiB of zeros.
    bomb = zlib.compress(bytes(64 << 20), 9)[2:-4]

    def plant(raws: list[Raw]) -> None:
        raws.append(Raw("annexes/documents/bomb.pdf", bytes(1024), compressed=bomb))

    def announce(manifest: dict) -> None:
        manifest["entries"].append({"path": "annexes/documents/bomb.pdf", "size": 1024,
                                    "sha256": "0" * 64})

    tracemalloc.start()
    try:
        error = refusal(hhyp_bytes(manifest=announce, entries=plant), "HHYP_SIZE_MISMATCH")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.where == {"entry": "annexes/documents/bomb.pdf"}
    assert peak < 16 << 20


def test_a_zip_bomb_announced_truthfully_is_caught_by_its_ratio() -> None:
    zeros = bytes(16 << 20)
    import hashlib

    def plant(raws: list[Raw]) -> None:
        raws.append(Raw("annexes/documents/bomb.pdf", zeros, size=1024))

    def announce(manifest: dict) -> None:
        manifest["entries"].append({"path": "annexes/documents/bomb.pdf", "size": len(zeros),
                                    "sha256": hashlib.sha256(zeros).hexdigest()})

    error = refusal(hhyp_bytes(manifest=announce, entries=plant), "HHYP_RATIO")
    assert error.where == {"entry": "annexes/documents/bomb.pdf"}


def test_zip64_archives_and_data_descriptors_are_read(tmp_path) -> None:
    from hhyp_craft import GRID, HOSTING, base_annexes, base_tables

    from hosting.formats.hhyp.writer import HhypWriter

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            self.buffer += data
            return len(data)

    sink = Unseekable()
    # a raw stream that cannot seek, as the writer may be given; BinaryIO is what it is annotated with
    with HhypWriter(cast(BinaryIO, sink), hosting_number=HOSTING, base_name="B", time_grid=GRID) as writer:
        for table, rows in base_tables().items():
            writer.add_table(table, rows)
        for path, data in base_annexes().items():
            writer.add_file(path, io.BytesIO(data))
    data = bytes(sink.buffer)
    assert b"PK\x07\x08" in data  # data descriptors: the writer could not seek back
    assert read_all(data).rows["courses"] == 3


def test_zip64_end_records_and_extra_fields_are_read() -> None:
    def widen(raws: list[Raw]) -> None:
        for raw in raws:
            raw.zip64 = True

    summary = read_all(hhyp_bytes(entries=widen, zip64_end=True))
    assert summary.rows["courses"] == 3 and summary.entries == 9


def test_a_zip64_end_record_that_is_not_there_is_corrupt() -> None:
    data = bytearray(hhyp_bytes(zip64_end=True))
    at = data.rindex(b"PK\x06\x06")
    data[at:at + 4] = b"PK\x00\x00"
    error = refusal(bytes(data), "HHYP_CORRUPT")
    assert error.where == {"offset": at}


def test_an_empty_deflate_entry_without_data_is_read() -> None:
    def empty(raws: list[Raw]) -> None:
        entry_named(raws, "base/rooms.jsonl").compressed = b""

    tables: dict[str, list[dict[str, Any]]] = {"rooms": []}
    summary = read_all(hhyp_bytes(tables, {}, entries=empty))
    assert summary.rows == {"rooms": 0}


def test_the_reader_accepts_a_path(tmp_path) -> None:
    path = tmp_path / "base.hhyp"
    path.write_bytes(hhyp_bytes())
    with HhypReader(path) as reader:
        assert reader.check().entries == 9




def test_central_entries_are_checked_in_order_of_the_archive() -> None:
    raws = [Raw("annexes/photos/a.png", b"a"), Raw("/abs", b"b")]
    error = refusal(compose_zip(raws), "HHYP_ABSOLUTE_PATH")
    assert error.where == {"entry": "/abs"}
