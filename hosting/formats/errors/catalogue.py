"""Every error class of the formats, the leaves of the tree (root ``errors``, then ``errors.grid`` and
``errors.profils``), for docs and tests."""

from __future__ import annotations

from hosting.formats.errors import FormatError
from hosting.formats.errors import grid as grid_errors  # noqa: F401  (registers their subclasses)
from hosting.formats.errors import profils as profils_errors  # noqa: F401


def all_format_errors() -> list[type[FormatError]]:
    """Every concrete error class of the formats."""
    found: list[type[FormatError]] = []
    pending: list[type[FormatError]] = [FormatError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return sorted(found, key=lambda cls: cls.code)
