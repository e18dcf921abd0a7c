"""Every error code of hphost is documented, and codes are unique per class."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import hosting
from hosting.errors import HphostError

DOCS = Path(__file__).parents[2] / "docs" / "errors.md"


def _all_error_classes() -> set[type[HphostError]]:
    for module in pkgutil.walk_packages(hosting.__path__, "hosting."):
        importlib.import_module(module.name)
    import console.client  # noqa: F401
    import tasks.runner  # noqa: F401

    found, todo = set(), [HphostError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_concrete_code_is_documented():
    documented = DOCS.read_text(encoding="utf-8")
    abstract = {"HPHOST_ERROR", "TRANSIENT", "PERMANENT", "FORMAT_ERROR", "GRID_INVALID"}
    codes = {cls.code for cls in _all_error_classes()} - abstract
    assert len(codes) > 60
    assert sorted(code for code in codes if f"`{code}`" not in documented) == []


def test_messages_format_their_parameters():
    from hosting.jobs.enqueue import PlanningBusy

    error = PlanningBusy(planning_id="p1", active_job="j1", where={"planning_id": "p1"})
    assert error.to_dict() == {"code": "PLANNING_BUSY", "where": {"planning_id": "p1"},
                               "message": "Planning p1 already has an active job (j1); wait for it or cancel it."}
