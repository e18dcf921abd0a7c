"""The manifest of a .HHYP: JSON, schema, version, hosting number, entries, tables, time grid, limits."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from hhyp_craft import HOSTING, Raw, base_annexes, entry_named, hhyp_bytes, read_all, refusal

from config.limits import Limits
from hosting.formats.errors import FormatError
from hosting.formats.hhyp.manifest import parse_manifest
from hosting.formats.hhyp.reader import HhypReader


def edit(change):
    return hhyp_bytes(manifest=change)


def replace_manifest(data: bytes):
    def swap(raws: list[Raw]) -> None:
        raws[0].data = data

    return hhyp_bytes(entries=swap)


def test_the_manifest_must_be_there() -> None:
    error = refusal(hhyp_bytes(entries=lambda raws: raws.pop(0)), "HHYP_MANIFEST_MISSING")
    assert error.where == {"entry": "manifest.json"}


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b"\xff\xfe{}", b'{"a": NaN}', b""])
def test_a_manifest_that_is_not_a_json_object_is_refused(data: bytes) -> None:
    error = refusal(replace_manifest(data), "HHYP_MANIFEST_NOT_JSON")
    assert error.where == {"entry": "manifest.json"}


def test_a_newer_version_is_unsupported_not_guessed_at() -> None:
    def newer(manifest: dict[str, Any]) -> None:
        manifest["version"] = 2
        manifest["something_new"] = {"x": 1}

    error = refusal(edit(newer), "HHYP_UNSUPPORTED_VERSION")
    assert error.where == {"entry": "manifest.json", "field": "version"}


@pytest.mark.parametrize(("field", "value"), [
    ("format", "ZIP"), ("version", 0), ("version", "1"), ("hosting_number", "12345678901"),
    ("hosting_number", 123456789012), ("base_name", ""), ("base_name", "a/b"), ("base_name", "a\\b"),
    ("base_name", "tab\there"), ("base_name", "x" * 65), ("generated_at", "2026-09-01T08:00:00"),
    ("generated_at", "yesterday"), ("generator", "g" * 201), ("time_grid", []), ("entries", {}),
    ("tables", {"rooms": -1}), ("tables", {"chairs": 1}),
    # "$" in a schema pattern is the very end of the text (ECMA-262), not also before a final newline
    ("hosting_number", "123456789012\n"), ("base_name", "Base\n"), ("generated_at", "2026-09-01T08:00:00Z\n"),
    ("hosting_number", "١٢٣٤٥٦٧٨٩٠١٢"),  # digits of another script
])
def test_a_manifest_breaking_its_schema_is_refused(field: str, value: Any) -> None:
    def breaking(manifest: dict[str, Any]) -> None:
        manifest[field] = value

    error = refusal(edit(breaking), "HHYP_MANIFEST_INVALID", hosting_number=None)
    assert error.where["entry"] == "manifest.json"
    assert error.where["field"].startswith(field)


def test_a_generated_at_that_is_not_a_real_time_is_refused() -> None:
    def impossible(manifest: dict[str, Any]) -> None:
        manifest["generated_at"] = "2026-02-30T08:00:00Z"

    error = refusal(edit(impossible), "HHYP_MANIFEST_INVALID")
    assert error.where == {"entry": "manifest.json", "field": "generated_at"}


@pytest.mark.parametrize(("change", "field"), [
    (lambda m: m["entries"][0].update(sha256="ABC"), "entries[0].sha256"),
    (lambda m: m["entries"][1].update(size=-1), "entries[1].size"),
    (lambda m: m["entries"][1].update(size=2**64), "entries[1].size"),  # msgspec takes it: it crashed the packing
    (lambda m: m["entries"][1].update(size=2**53), "entries[1].size"),
    (lambda m: m["entries"][2].pop("path"), "entries[2].path"),
    (lambda m: m["entries"][2].update(sha256=m["entries"][2]["sha256"] + "\n"), "entries[2].sha256"),
])
def test_entries_must_be_well_formed(change, field: str) -> None:
    error = refusal(edit(change), "HHYP_MANIFEST_INVALID")
    assert error.where == {"entry": "manifest.json", "field": field}


def test_an_unknown_field_of_the_manifest_is_refused() -> None:
    error = refusal(edit(lambda m: m.update(signature="x")), "HHYP_UNKNOWN_FIELD")
    assert error.where == {"entry": "manifest.json", "field": "signature"}


def test_the_manifest_may_not_list_itself_or_an_entry_twice() -> None:
    itself = refusal(edit(lambda m: m["entries"].append({"path": "manifest.json", "size": 1, "sha256": "0" * 64})),
                     "HHYP_MANIFEST_INVALID")
    assert itself.where == {"entry": "manifest.json", "field": "entries[9].path"}
    twice = refusal(edit(lambda m: m["entries"].append(dict(m["entries"][0]))), "HHYP_MANIFEST_INVALID")
    assert twice.where == {"entry": "manifest.json", "field": "entries[9].path"}


def test_every_batch_of_a_long_manifest_is_checked() -> None:
    def listing(fault: Callable[[list[dict[str, Any]]], None]) -> Callable[[dict[str, Any]], None]:
        def change(manifest: dict[str, Any]) -> None:  # 9,000 entries more: its entries are decoded in batches
            manifest["entries"] += [{"path": f"annexes/documents/{number:05d}.pdf", "size": 1, "sha256": "0" * 64}
                                    for number in range(9000)]
            fault(manifest["entries"])
        return change

    twice = refusal(edit(listing(lambda entries: entries.append(dict(entries[20])))), "HHYP_MANIFEST_INVALID")
    assert twice.where == {"entry": "manifest.json", "field": "entries[9009].path"}
    unknown = refusal(edit(listing(lambda entries: entries[8500].update(signed=True))), "HHYP_UNKNOWN_FIELD")
    assert unknown.where == {"entry": "manifest.json", "field": "entries[8500].signed"}
    upper = refusal(edit(listing(lambda entries: entries[4100].update(sha256="A" * 64))), "HHYP_MANIFEST_INVALID")
    assert upper.where == {"entry": "manifest.json", "field": "entries[4100].sha256"}
    extra = refusal(edit(listing(lambda entries: None)), "HHYP_MISSING_ENTRY")  # valid: then compared to the archive
    assert extra.where == {"entry": "annexes/documents/00000.pdf", "field": "entries[9]"}


def test_a_base_bound_to_another_hosting_is_refused() -> None:
    error = refusal(hhyp_bytes(), "HHYP_WRONG_HOSTING_NUMBER", hosting_number="999999999999")
    assert error.where == {"entry": "manifest.json", "field": "hosting_number"}
    assert HOSTING in error.message and "999999999999" in error.message


class ReadSpy(io.BytesIO):
    """Records which byte ranges were read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.ranges: list[tuple[int, int]] = []

    def read(self, size: int | None = -1) -> bytes:
        start = self.tell()
        data = super().read(size)
        self.ranges.append((start, start + len(data)))
        return data


def test_the_hosting_number_is_checked_before_any_other_entry_is_touched() -> None:
    big = random.Random(1).randbytes(100_000)  # pushes the other entries out of the end-of-archive read
    annexes = {"annexes/documents/big.pdf": big, **base_annexes()}

    def corrupt_everything_else(raws: list[Raw]) -> None:
        raws.insert(1, raws.pop(raws.index(entry_named(raws, "annexes/documents/big.pdf"))))
        for raw in raws[1:]:
            raw.crc = 0

    data = hhyp_bytes(annexes=annexes, entries=corrupt_everything_else)
    big_at = data.index(big[:64])
    big_header_at = data.rindex(b"PK\x03\x04", 0, big_at)
    spy = ReadSpy(data)
    with pytest.raises(FormatError) as caught:
        HhypReader(spy, expected_hosting_number="999999999999")
    assert caught.value.code == "HHYP_WRONG_HOSTING_NUMBER"
    assert all(end <= big_header_at or start >= big_at + len(big) for start, end in spy.ranges)


def test_without_an_expected_hosting_number_any_binding_is_read() -> None:
    assert read_all(hhyp_bytes(), hosting_number=None).entries == 9


def test_every_listed_entry_must_be_in_the_archive() -> None:
    error = refusal(hhyp_bytes(entries=lambda raws: raws.remove(entry_named(raws, "annexes/photos/E1.png"))),
                    "HHYP_MISSING_ENTRY")
    assert error.where == {"entry": "annexes/photos/E1.png", "field": "entries[7]"}


def test_every_entry_must_be_listed() -> None:
    error = refusal(hhyp_bytes(entries=lambda raws: raws.append(Raw("annexes/documents/x.pdf", b"%PDF"))),
                    "HHYP_EXTRA_ENTRY")
    assert error.where == {"entry": "annexes/documents/x.pdf"}


@pytest.mark.parametrize("delta", [1, -1])
def test_an_entry_whose_size_differs_from_the_manifest_is_refused(delta: int) -> None:
    def resize(manifest: dict[str, Any]) -> None:
        manifest["entries"][3]["size"] += delta

    error = refusal(edit(resize), "HHYP_SIZE_MISMATCH")
    assert error.where == {"entry": "base/groups.jsonl"}


def test_an_entry_whose_sha256_differs_from_the_manifest_is_refused() -> None:
    def tamper(manifest: dict[str, Any]) -> None:
        manifest["entries"][8]["sha256"] = "0" * 64

    error = refusal(edit(tamper), "HHYP_CHECKSUM_MISMATCH")
    assert error.where == {"entry": "annexes/documents/syllabus.pdf"}


def test_base_holds_only_tables() -> None:
    def stray(raws: list[Raw]) -> None:
        raws.append(Raw("base/notes.txt", b"hello"))

    def listed(manifest: dict[str, Any]) -> None:
        manifest["entries"].append({"path": "base/notes.txt", "size": 5, "sha256": "0" * 64})

    error = refusal(hhyp_bytes(manifest=listed, entries=stray), "HHYP_UNKNOWN_TABLE")
    assert error.where == {"entry": "base/notes.txt"}


def test_tables_and_entries_must_agree() -> None:
    missing = refusal(edit(lambda m: m["tables"].pop("rooms")), "HHYP_TABLE_MISMATCH")
    assert missing.where == {"entry": "manifest.json", "field": "tables"}
    tables = {"subjects": [{"id": "S1", "code": "M", "name": "Maths"}]}

    def ghost(manifest: dict[str, Any]) -> None:
        manifest["tables"]["rooms"] = 0

    extra = refusal(hhyp_bytes(tables, {}, manifest=ghost), "HHYP_TABLE_MISMATCH")
    assert extra.where == {"entry": "manifest.json", "field": "tables.rooms"}


def test_the_row_count_must_match_the_manifest() -> None:
    error = refusal(edit(lambda m: m["tables"].update(students=4)), "HHYP_ROW_COUNT_MISMATCH")
    assert error.where == {"entry": "base/students.jsonl", "field": "tables.students"}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("first_monday", "2026-09-01", "GRID_FIRST_MONDAY"),
    ("first_monday", "2026-02-30", "GRID_FIRST_MONDAY"),
    ("first_monday", "31/08/2026", "GRID_FIRST_MONDAY"),
    ("weeks", 0, "GRID_WEEKS"),
    ("weeks", 63, "GRID_WEEKS"),
    ("working_days", [], "GRID_WORKING_DAYS"),
    ("working_days", ["mon", "mon"], "GRID_WORKING_DAYS"),
    ("working_days", ["monday"], "GRID_WORKING_DAYS"),
    ("day_start", "8:00", "GRID_DAY_START"),
    ("day_start", "24:00", "GRID_DAY_START"),
    ("sequences_per_day", 0, "GRID_SEQUENCES_PER_DAY"),
    ("sequence_minutes", 7, "GRID_SEQUENCE_MINUTES"),
    ("sequence_minutes", 245, "GRID_SEQUENCE_MINUTES"),
    ("steps_per_sequence", 5, "GRID_STEPS_PER_SEQUENCE"),
    ("sequences_per_day", 4.0, "GRID_SEQUENCES_PER_DAY"),  # the schema takes 4.0; it crashed the rows' check
    ("weeks", 10.0, "GRID_WEEKS"),
    ("day_start", "08:00\n", "GRID_DAY_START"),
    ("first_monday", "2026-08-31\n", "GRID_FIRST_MONDAY"),
])
def test_each_bad_time_grid_field_has_its_code(field: str, value: Any, code: str) -> None:
    def bad_grid(manifest: dict[str, Any]) -> None:
        manifest["time_grid"][field] = value

    error = refusal(edit(bad_grid), code)
    assert error.where == {"entry": "manifest.json", "field": f"time_grid.{field}"}


def test_time_grid_cross_field_rules_in_a_manifest() -> None:
    def long_day(manifest: dict[str, Any]) -> None:
        manifest["time_grid"].update(day_start="20:00", sequences_per_day=5)

    error = refusal(edit(long_day), "GRID_DAY_END")
    assert error.where == {"entry": "manifest.json", "field": "time_grid.sequences_per_day"}


def test_limits_on_entry_count() -> None:
    error = refusal(hhyp_bytes(), "HHYP_TOO_MANY_ENTRIES", limits=Limits(max_entries=5))
    assert error.where["offset"] > 0


def test_limits_on_one_entry() -> None:
    error = refusal(hhyp_bytes(), "HHYP_ENTRY_TOO_LARGE", limits=Limits(max_entry_bytes=400))
    assert error.where == {"entry": "base/courses.jsonl"}


def test_limits_on_the_total() -> None:
    error = refusal(hhyp_bytes(), "HHYP_TOO_LARGE", limits=Limits(max_total_bytes=2500))
    assert error.where["entry"].startswith("base/")


def test_limits_hold_even_when_the_manifest_lies() -> None:
    # The manifest announces 10 bytes; counting the real bytes stops the entry at the limit.
    def understate(manifest: dict[str, Any]) -> None:
        manifest["entries"][5]["size"] = 10

    error = refusal(edit(understate), "HHYP_ENTRY_TOO_LARGE", limits=Limits(max_entry_bytes=400))
    assert error.where == {"entry": "base/courses.jsonl"}


def test_limits_on_the_compression_ratio() -> None:
    text = b"all work and no play " * 5000

    def plant(raws: list[Raw]) -> None:
        raws.append(Raw("annexes/documents/dull.pdf", text))

    def listed(manifest: dict[str, Any]) -> None:
        import hashlib

        manifest["entries"].append({"path": "annexes/documents/dull.pdf", "size": len(text),
                                    "sha256": hashlib.sha256(text).hexdigest()})

    data = hhyp_bytes(manifest=listed, entries=plant)
    assert read_all(data).entries == 10
    error = refusal(data, "HHYP_RATIO", limits=Limits(max_ratio=20, ratio_from_bytes=1024))
    assert error.where == {"entry": "annexes/documents/dull.pdf"}


def test_limits_on_the_manifest() -> None:
    error = refusal(hhyp_bytes(), "HHYP_MANIFEST_TOO_LARGE", limits=Limits(max_manifest_bytes=500))
    assert error.where == {"entry": "manifest.json"}


def test_limits_on_name_length() -> None:
    error = refusal(hhyp_bytes(), "HHYP_NAME_TOO_LONG", limits=Limits(max_name_bytes=20))
    assert error.where == {"entry": "annexes/photos/T1.png"}


def test_the_manifest_is_read_again_as_the_archive_holds_it() -> None:
    data = hhyp_bytes()
    with HhypReader(io.BytesIO(data)) as reader:
        manifest = reader.manifest
        again = reader.manifest_bytes()
    assert again == zipfile.ZipFile(io.BytesIO(data)).read("manifest.json")
    assert json.loads(again)["hosting_number"] == manifest.hosting_number == HOSTING
    assert manifest.size_bytes == len(again) and manifest.sha256 == hashlib.sha256(again).digest()
    assert manifest.tables == {"subjects": 2, "teachers": 2, "rooms": 2, "groups": 3, "students": 3, "courses": 3}
    assert manifest.time_grid.steps_per_day == 20
    assert len(manifest.entries) == 9


def test_a_manifest_changed_since_it_was_checked_is_not_read_again() -> None:
    stream = io.BytesIO(hhyp_bytes(entries=lambda raws: setattr(entry_named(raws, "manifest.json"), "method", 0)))
    with HhypReader(stream) as reader:
        view = stream.getbuffer()
        at = bytes(view).index(b'"generator": "tests"') + len('"generator": "')
        view[at] = ord("T")  # the same size, another text (and so another CRC and SHA-256)
        del view
        with pytest.raises(FormatError) as caught:
            reader.manifest_bytes()
    assert caught.value.code == "HHYP_BAD_CRC"
    assert caught.value.where == {"entry": "manifest.json"}


def _manifest_of(data: bytes) -> dict[str, Any]:
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "breaking-its-schema-too"])
def test_a_manifest_listing_more_entries_than_the_limit_is_refused(broken: bool) -> None:
    manifest = _manifest_of(hhyp_bytes())
    if broken:  # the slow path counts first too
        manifest["entries"][-1]["sha256"] = "not hex"
    listed = len(manifest["entries"])
    with pytest.raises(FormatError) as refused:
        parse_manifest(json.dumps(manifest).encode(), limits=Limits(max_entries=listed - 1))
    assert (refused.value.code, refused.value.where) == ("HHYP_TOO_MANY_ENTRIES",
                                                         {"entry": "manifest.json", "field": "entries"})
    if not broken:
        assert len(parse_manifest(json.dumps(manifest).encode(), limits=Limits(max_entries=listed)).entries) == listed


def test_a_raised_limit_admits_a_manifest_of_more_than_200_000_entries() -> None:
    # The schema once capped the list at 200,000 whatever the limits said.
    manifest = _manifest_of(hhyp_bytes())
    manifest["entries"] += [{"path": f"annexes/documents/{index:06d}.pdf", "size": 1, "sha256": "0" * 64}
                            for index in range(200_001)]
    parsed = parse_manifest(json.dumps(manifest).encode(), limits=Limits(max_entries=300_000))
    assert len(parsed.entries) == len(manifest["entries"])
    with pytest.raises(FormatError, match="HHYP_TOO_MANY_ENTRIES"):
        parse_manifest(json.dumps(manifest).encode())


def test_a_manifest_of_more_values_than_its_entries_allow_is_refused_before_it_is_parsed() -> None:
    # 64 MiB of "[1]," once made 18 million objects (1.8 GB) before any rule was asked (found by a fuzz campaign).
    limits = Limits(max_entries=20)  # a budget of 8 * 20 + 4,096 values
    bomb = refusal(edit(lambda m: m.update(x=[[1]] * 4_300)), "HHYP_MANIFEST_TOO_COMPLEX", limits=limits)
    assert bomb.where == {"entry": "manifest.json"}
    # Under the budget, the manifest's own fault is named.
    refusal(edit(lambda m: m.update(x=[[1]] * 1_500)), "HHYP_UNKNOWN_FIELD", limits=limits)  # (2 marks each)
    # Punctuation inside strings is no value: counted out on a second look.
    commas = {f"annexes/documents/{index},{',' * 200}.pdf": b"%PDF" for index in range(25)}
    assert read_all(hhyp_bytes(annexes={**base_annexes(), **commas}), limits=Limits(max_entries=40)).annexes == 28


@pytest.mark.parametrize(("change", "code", "field"), [
    (lambda m: m.update(version=1.0), "HHYP_MANIFEST_INVALID", "version"),
    (lambda m: m["entries"][2].update(size=float(m["entries"][2]["size"])), "HHYP_MANIFEST_INVALID", "entries[2].size"),
    (lambda m: m["time_grid"].update(weeks=1e400), "GRID_WEEKS", "time_grid.weeks"),  # (written 1e400, see below)
])
def test_what_only_msgspec_refuses_is_placed_too(change, code: str, field: str) -> None:
    # JSON Schema calls 1.0 an integer and leaves the grid to TimeGrid; msgspec refuses both: the
    # refusal named no field, and an entry's place was its place in a batch (found by a fuzz campaign).
    def written(raws: list[Raw]) -> None:
        document = json.loads(raws[0].data)
        change(document)
        raws[0].data = json.dumps(document).replace("Infinity", "1e400").encode()

    error = refusal(hhyp_bytes(entries=written), code)
    assert error.where == {"entry": "manifest.json", "field": field}
    assert "$" not in error.message
