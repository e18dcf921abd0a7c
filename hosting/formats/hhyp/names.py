"""Entry names of a ``.HHYP``: a name becomes an object-store key, so whatever could climb out of the
base's folder or alias another name is refused."""

from __future__ import annotations

import re
import unicodedata

from hosting.formats import errors as e

MANIFEST = "manifest.json"
FILE_PREFIXES = ("base/", "annexes/photos/", "annexes/documents/")
# Zip tools write the parents of every folder they store: accept those as directory entries too.
DIRECTORY_PARENTS = frozenset({"annexes/"})
_UTF8_FLAG = 0x800
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Every rule of check_name but the length holds for such a name.
_PLAIN = re.compile(r"(?:base|annexes/photos|annexes/documents)(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+")


def decode_name(raw: bytes, flags: int) -> str:
    """The name as text: UTF-8 when flagged so, else the ZIP default code page 437."""
    if flags & _UTF8_FLAG:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise e.HhypNameEncoding(where={"entry": raw.decode("utf-8", "replace")}) from None
    return raw.decode("cp437")


def check_name(name: str, raw: bytes, *, max_bytes: int) -> None:
    """Refuse a name that is not relative, clean, NFC, short and under an allowed prefix."""
    where = {"entry": name}
    if _CONTROL.search(name):
        raise e.HhypControlCharacter(where=where)  # (shown with "?" for each: see FormatError)
    if "\\" in name:
        raise e.HhypBackslash(where=where)
    if name.startswith("/"):
        raise e.HhypAbsolutePath(where=where)
    if _DRIVE.match(name):
        raise e.HhypDriveLetter(where=where)
    segments = name.removesuffix("/").split("/")
    if ".." in segments:
        raise e.HhypZipSlip(where=where)
    if any(segment in ("", ".") for segment in segments):
        raise e.HhypEmptySegment(where=where)
    if unicodedata.normalize("NFC", name) != name:
        raise e.HhypNameNotNfc(where=where)
    if len(raw) > max_bytes:
        raise e.HhypNameTooLong(size=len(raw), limit=max_bytes, where=where)
    if not (is_directory(name) and _allowed_directory(name)) and not _allowed_file(name):
        raise e.HhypOutsidePrefix(where=where)


def is_plain_name(name: str) -> bool:
    """True for the usual names, which pass every rule of :func:`check_name` but its length limit."""
    return _PLAIN.fullmatch(name) is not None


def is_directory(name: str) -> bool:
    return name.endswith("/")


def _allowed_file(name: str) -> bool:
    if is_directory(name):
        return False
    return name == MANIFEST or any(name.startswith(prefix) for prefix in FILE_PREFIXES)


def _allowed_directory(name: str) -> bool:
    return name in DIRECTORY_PARENTS or any(name.startswith(prefix) for prefix in FILE_PREFIXES)


def table_of(name: str) -> str | None:
    """``base/courses.jsonl`` → ``courses``; None for any other name."""
    if name.startswith("base/") and name.endswith(".jsonl") and name.count("/") == 1:
        return name[len("base/"):-len(".jsonl")]
    return None
