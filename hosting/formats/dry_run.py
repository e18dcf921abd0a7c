"""The dry-run checks of ``hphost hhyp check``, ``hphost profils check`` and ``POST /v1/uploads/{id}/check``.

One answer for both doors: ``{"ok", "code", "message", "where", "summary"}``, the same code, message and place
of a refusal whether the file came by path or from object storage.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from config.limits import Limits
from hosting.errors import HphostError, InvalidInput

Source = str | os.PathLike[str] | BinaryIO


def hhyp_summary(source: Source, *, hosting_number: str | None, limits: Limits,
                 tune_interpreter: bool = False) -> dict[str, Any]:
    """Read a .HHYP through every rule of its format, keeping nothing; what it holds."""
    from hosting.formats.hhyp.reader import HhypReader

    started = time.perf_counter()
    with HhypReader(source, expected_hosting_number=hosting_number, limits=limits,
                    tune_interpreter=tune_interpreter) as reader:
        summary = reader.check().to_dict()
        manifest = reader.manifest
    return {**summary, "hosting_number": manifest.hosting_number, "base_name": manifest.base_name,
            "tables": manifest.tables, "seconds": round(time.perf_counter() - started, 3)}


def profils_summary(source: Source, *, limits: Limits) -> dict[str, Any]:
    """Read a .profils through every rule of its format; how many profiles and users it holds."""
    from hosting.formats.profils.file import read_profils

    profils = read_profils(source, limits=limits)
    return {"profiles": len(profils.profiles), "users": len(profils.users),
            "users_with_password_hash": sum(1 for user in profils.users if user.password_hash)}


def outcome(check: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], HphostError | None]:
    """Run a check: its answer object, and the refusal when the file was refused."""
    try:
        summary = check()
    except HphostError as exc:
        return refused(exc), exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        error = InvalidInput(field="file", reason=reason, where={"path": str(exc.filename or "")})
        return refused(error), error
    return {"ok": True, "code": None, "message": "valid", "where": None, "summary": summary}, None


def refused(exc: HphostError) -> dict[str, Any]:
    return {"ok": False, **exc.to_dict(), "summary": None}
