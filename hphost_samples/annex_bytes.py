"""Small, valid annex files made from a seeded random source: ID-photo PNGs and one-page PDFs.

The sample bases need photos and documents that real tools open, without
shipping fixtures or reaching the network.
"""

from __future__ import annotations

import random
import struct
import unicodedata
import zlib

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PHOTO_WIDTH, PHOTO_HEIGHT = 60, 80


def photo_png(rng: random.Random) -> bytes:
    """A 60×80 RGB portrait: plain background, a head and shoulders, with a little grain."""
    background, skin, clothes = (bytes(rng.randrange(256) for _ in range(3)) for _ in range(3))
    rows = []
    for y in range(PHOTO_HEIGHT):
        half = _head_half_width(y) if y < 52 else min(PHOTO_WIDTH // 2, 12 + (y - 52))
        colour = skin if y < 52 else clothes
        left = PHOTO_WIDTH // 2 - half
        line = background * left + colour * (2 * half) + background * (PHOTO_WIDTH - left - 2 * half)
        grain = rng.randbytes(6)
        rows.append(b"\x00" + grain + line[6:])
    raw = b"".join(rows)
    header = struct.pack(">IIBBBBB", PHOTO_WIDTH, PHOTO_HEIGHT, 8, 2, 0, 0, 0)
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def _head_half_width(y: int) -> int:
    # An ellipse centred at (30, 30) with radii 14 × 20; empty above and below it.
    dy = (y - 30) / 20
    return int(14 * max(0.0, 1 - dy * dy) ** 0.5)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def document_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF 1.4 showing ``title`` and ``lines`` (ASCII-folded), with a correct xref table."""
    text = ["BT /F1 16 Tf 56 780 Td (" + _pdf_text(title) + ") Tj ET"]
    text += [f"BT /F1 11 Tf 56 {750 - 16 * index} Td ({_pdf_text(line)}) Tj ET" for index, line in enumerate(lines)]
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


def _pdf_text(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
