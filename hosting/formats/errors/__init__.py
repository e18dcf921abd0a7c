"""Every refusal of a ``.HHYP``, ``.profils`` or time grid: one class per rule, a stable ``code``, the
docstring as message template, ``where`` the place (``entry``, ``line`` from 1, ``field`` as ``weeks[2]``).
``errors.grid`` and ``errors.profils`` hold their own rules; ``errors.catalogue`` lists them all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hosting.errors import NotFound, PermanentError, Where

# Not carried from the file into a refusal: control characters (PostgreSQL stores no U+0000, an escape
# drives the operator's terminal) and lone surrogates (no UTF-8 form).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class FormatError(PermanentError):
    """The file breaks a rule of its format."""

    code = "FORMAT_ERROR"

    def __init__(self, message: str | None = None, *, where: Where | None = None, **params: Any):
        # A name or an id quoted from the file is shown with "?" in place of what no one can store or read.
        super().__init__(message, where={key: _printable(value) for key, value in (where or {}).items()},
                         **{key: _printable(value) for key, value in params.items()})
        self.message = _printable(self.message)
        self.args = (self.message,)


def no_such_file(path: Any, exc: OSError | None = None) -> NotFound:
    """A path given as a file that is none (missing, or a directory): NOT_FOUND, in a plain sentence."""
    where = {"path": str(path)}
    if isinstance(exc, IsADirectoryError) or (exc is None and Path(path).is_dir()):
        return NotFound("{ident} is a directory, not a file.", kind="file", ident=str(path), where=where)
    return NotFound(kind="file", ident=str(path), where=where)


def _printable(value: Any) -> Any:
    return _UNPRINTABLE.sub("?", value) if isinstance(value, str) else value


# --- the archive itself -------------------------------------------------------

class HhypNotZip(FormatError):
    """The file is not a ZIP archive: {reason}."""

    code = "HHYP_NOT_ZIP"


class HhypFileName(FormatError):
    """A .HHYP file's name must end in .HHYP (any case)."""

    code = "HHYP_FILE_NAME"


class HhypTruncated(FormatError):
    """The archive is truncated: {reason}."""

    code = "HHYP_TRUNCATED"


class HhypCorrupt(FormatError):
    """The archive is corrupt: {reason}."""

    code = "HHYP_CORRUPT"


class HhypBadCrc(FormatError):
    """The entry's bytes fail its CRC-32 check (stored {expected:08x}, computed {actual:08x})."""

    code = "HHYP_BAD_CRC"


class HhypOverlappingEntries(FormatError):
    """The entry shares bytes with {other} (overlapping entries, CVE-2024-0450)."""

    code = "HHYP_OVERLAPPING_ENTRIES"


class HhypTooManyEntries(FormatError):
    """The archive has {count} entries; at most {limit} are accepted."""

    code = "HHYP_TOO_MANY_ENTRIES"


class HhypTooLarge(FormatError):
    """The archive expands to more than {limit} bytes in all."""

    code = "HHYP_TOO_LARGE"


class HhypEntryTooLarge(FormatError):
    """The entry expands to more than {limit} bytes."""

    code = "HHYP_ENTRY_TOO_LARGE"


class HhypRatio(FormatError):
    """The entry expands more than {limit}:1 (a zip bomb, or a lying header)."""

    code = "HHYP_RATIO"


# --- entry names and kinds ----------------------------------------------------

class HhypZipSlip(FormatError):
    """The entry name has a '..' segment (it would escape the base's folder)."""

    code = "HHYP_ZIP_SLIP"


class HhypAbsolutePath(FormatError):
    """The entry name starts with '/'; names must be relative."""

    code = "HHYP_ABSOLUTE_PATH"


class HhypDriveLetter(FormatError):
    """The entry name starts with a drive letter."""

    code = "HHYP_DRIVE_LETTER"


class HhypBackslash(FormatError):
    """The entry name contains a backslash; names are '/'-separated."""

    code = "HHYP_BACKSLASH"


class HhypControlCharacter(FormatError):
    """The entry name contains a NUL or another control character."""

    code = "HHYP_CONTROL_CHARACTER"


class HhypEmptySegment(FormatError):
    """The entry name has an empty or '.' segment."""

    code = "HHYP_EMPTY_SEGMENT"


class HhypNameNotNfc(FormatError):
    """The entry name is not in Unicode normal form C."""

    code = "HHYP_NAME_NOT_NFC"


class HhypNameEncoding(FormatError):
    """The entry name is flagged UTF-8 but is not valid UTF-8."""

    code = "HHYP_NAME_ENCODING"


class HhypNameTooLong(FormatError):
    """The entry name is {size} bytes long; at most {limit} are accepted."""

    code = "HHYP_NAME_TOO_LONG"


class HhypOutsidePrefix(FormatError):
    """The entry is outside manifest.json, base/, annexes/photos/ and annexes/documents/."""

    code = "HHYP_OUTSIDE_PREFIX"


class HhypDuplicateName(FormatError):
    """The entry name equals {other} once case-folded."""

    code = "HHYP_DUPLICATE_NAME"


class HhypSymlink(FormatError):
    """The entry is a symbolic link."""

    code = "HHYP_SYMLINK"


class HhypNotRegular(FormatError):
    """The entry is not a regular file (file type {mode:o})."""

    code = "HHYP_NOT_REGULAR"


class HhypDirectoryWithData(FormatError):
    """The directory entry carries data."""

    code = "HHYP_DIRECTORY_WITH_DATA"


class HhypEncrypted(FormatError):
    """The entry is encrypted."""

    code = "HHYP_ENCRYPTED"


class HhypCompression(FormatError):
    """The entry uses compression method {method}; only stored (0) and deflate (8) are accepted."""

    code = "HHYP_COMPRESSION"


# --- the manifest -------------------------------------------------------------

class HhypManifestMissing(FormatError):
    """The archive has no manifest.json."""

    code = "HHYP_MANIFEST_MISSING"


class HhypManifestTooLarge(FormatError):
    """manifest.json is larger than {limit} bytes."""

    code = "HHYP_MANIFEST_TOO_LARGE"


class HhypManifestTooComplex(FormatError):
    """manifest.json holds more than {limit} JSON values, more than a manifest of {entries} entries can."""

    code = "HHYP_MANIFEST_TOO_COMPLEX"


class HhypManifestNotJson(FormatError):
    """manifest.json is not a UTF-8 JSON object: {reason}."""

    code = "HHYP_MANIFEST_NOT_JSON"


class HhypNulCharacter(FormatError):
    """The row has the character U+0000 at {field}, which no database stores."""

    code = "HHYP_NUL_CHARACTER"


class HhypTooDeep(FormatError):
    """The JSON nests more than {limit} arrays or objects inside one another."""

    code = "HHYP_TOO_DEEP"


class HhypUnsupportedVersion(FormatError):
    """This is a {format} version {version} file; only version 1 is supported."""

    code = "HHYP_UNSUPPORTED_VERSION"


class HhypManifestInvalid(FormatError):
    """manifest.json breaks its schema: {reason}."""

    code = "HHYP_MANIFEST_INVALID"


class HhypWrongHostingNumber(FormatError):
    """This base is bound to hosting {actual}, not to hosting {expected}."""

    code = "HHYP_WRONG_HOSTING_NUMBER"


class HhypMissingEntry(FormatError):
    """The manifest lists an entry the archive does not have."""

    code = "HHYP_MISSING_ENTRY"


class HhypExtraEntry(FormatError):
    """The archive has an entry the manifest does not list."""

    code = "HHYP_EXTRA_ENTRY"


class HhypSizeMismatch(FormatError):
    """The entry has {actual} bytes where the manifest says {expected}."""

    code = "HHYP_SIZE_MISMATCH"


class HhypChecksumMismatch(FormatError):
    """The entry's SHA-256 differs from the manifest's."""

    code = "HHYP_CHECKSUM_MISMATCH"


class HhypUnknownTable(FormatError):
    """base/ holds {name}, which is not one of the tables {tables}."""

    code = "HHYP_UNKNOWN_TABLE"


class HhypTableMismatch(FormatError):
    """The manifest's tables and the base/ entries disagree about table {table}."""

    code = "HHYP_TABLE_MISMATCH"


class HhypRowCountMismatch(FormatError):
    """The table has {actual} rows where the manifest says {expected}."""

    code = "HHYP_ROW_COUNT_MISMATCH"


# --- rows of the tables -------------------------------------------------------

class HhypLineTooLong(FormatError):
    """The line is longer than {limit} bytes."""

    code = "HHYP_LINE_TOO_LONG"


class HhypRowNotJson(FormatError):
    """The line is not a UTF-8 JSON object: {reason}."""

    code = "HHYP_ROW_NOT_JSON"


class HhypRowInvalid(FormatError):
    """The row breaks the table's schema: {reason}."""

    code = "HHYP_ROW_INVALID"


class HhypUnknownField(FormatError):
    """Unknown field {name} (a sign of a newer format: refused, not ignored)."""

    code = "HHYP_UNKNOWN_FIELD"


class HhypDuplicateId(FormatError):
    """Id {ident} is already used by an earlier row of the same table."""

    code = "HHYP_DUPLICATE_ID"


class HhypDanglingReference(FormatError):
    """{ident} names no row of table {table}."""

    code = "HHYP_DANGLING_REFERENCE"


class HhypGroupCycle(FormatError):
    """Group {ident} is its own ancestor through parent: {cycle}."""

    code = "HHYP_GROUP_CYCLE"


class HhypPlacementOutsideGrid(FormatError):
    """The placement does not fit the time grid: {reason}."""

    code = "HHYP_PLACEMENT_OUTSIDE_GRID"


class HhypMissingAnnex(FormatError):
    """The row names annex {path}, which the archive does not have."""

    code = "HHYP_MISSING_ANNEX"
