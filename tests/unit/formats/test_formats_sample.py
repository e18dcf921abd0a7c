"""The deterministic sample generator: valid files, same seed same bytes, real PNGs and PDFs."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import pytest

from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.profils.file import read_profils
from hphost_samples.annex_bytes import PHOTO_HEIGHT, PHOTO_WIDTH, document_pdf, photo_png
from hphost_samples.generator import PRESETS, generate_sample, preset_shape

HOSTING = "123456789012"


def test_the_small_sample_is_valid_and_matches_its_profils(tmp_path: Path) -> None:
    hhyp, profils_path = tmp_path / "s.HHYP", tmp_path / "s.profils"
    summary = generate_sample(hhyp, hosting_number=HOSTING, preset="small", seed=3, profils_path=profils_path)
    got: dict[str, bytes] = {}
    with HhypReader(hhyp, expected_hosting_number=HOSTING) as reader:
        read = reader.stream(lambda path, stream, size: got.__setitem__(path, stream.read()))
    assert read.rows == summary.rows
    assert summary.rows["students"] == 48 and summary.photos == 12
    assert summary.rows["groups"] > summary.rows["students"] // 24  # promotions, TDs and TPs
    profils = read_profils(profils_path)
    assert {user.login for user in profils.users} >= {"staff0000"}
    assert summary.profils_users == len(profils.users)
    assert any(row.startswith(b'{"id":"C') and b'"placement"' not in row
               for row in got["base/courses.jsonl"].splitlines())  # some courses are not placed yet
    assert any(path.startswith("annexes/documents/") for path in got)


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.HHYP", tmp_path / "b.HHYP", tmp_path / "c.HHYP"
    generate_sample(first, hosting_number=HOSTING, seed=7)
    generate_sample(second, hosting_number=HOSTING, seed=7)
    generate_sample(other, hosting_number=HOSTING, seed=8)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_the_school_preset_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "school.HHYP"
    summary = generate_sample(path, hosting_number=HOSTING, preset="school")
    with HhypReader(path, expected_hosting_number=HOSTING) as reader:
        assert reader.check().rows == summary.rows
    assert summary.rows["students"] == 1_500


def test_presets_scale_with_the_number_of_students() -> None:
    university = PRESETS["university"]
    assert (university.students, university.teachers, university.rooms, university.courses, university.photos) == (
        25_000, 1_500, 600, 100_000, 3_000)
    four = preset_shape("university", 100_000)
    assert (four.students, four.courses, four.teachers) == (100_000, 400_000, 6_000)
    assert preset_shape("small", 1).students == 1
    with pytest.raises(ValueError):
        preset_shape("campus")


def test_a_tiny_scaled_sample_is_still_valid(tmp_path: Path) -> None:
    path = tmp_path / "tiny.HHYP"
    generate_sample(path, hosting_number=HOSTING, preset="small", students=2)
    with HhypReader(path) as reader:
        assert reader.check().rows["students"] == 2


def test_photos_are_valid_pngs() -> None:
    import random

    png = photo_png(random.Random(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    at, chunks = 8, {}
    while at < len(png):
        (length,) = struct.unpack_from(">I", png, at)
        kind, body = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        (crc,) = struct.unpack_from(">I", png, at + 8 + length)
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        at += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == (PHOTO_WIDTH, PHOTO_HEIGHT)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    assert set(chunks) == {b"IHDR", b"IDAT", b"IEND"}


def test_documents_are_pdfs_with_a_correct_cross_reference_table() -> None:
    pdf = document_pdf("Syllabus Mathématiques (L1)", ["Objectifs", "Évaluation"])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[startxref:startxref + 4] == b"xref"
    offsets = [int(line[:10]) for line in pdf[startxref:].split(b"\n")[3:8]]
    assert all(pdf[offset:].startswith(b"%d 0 obj" % number) for number, offset in enumerate(offsets, 1))
    assert b"Mathematiques" in pdf


def test_the_profils_writer_output_is_stable(tmp_path: Path) -> None:
    paths = [tmp_path / f"{k}.profils" for k in range(2)]
    for path in paths:
        generate_sample(tmp_path / "x.HHYP", hosting_number=HOSTING, profils_path=path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert read_profils(io.BytesIO(paths[0].read_bytes())).profiles[0].name == "Administration"
