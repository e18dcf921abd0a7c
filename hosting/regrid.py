"""Changing the time grid of a base (FORMATS.md): courses that no longer fit are not deleted but put
*in failure*: their placement is taken off and kept aside in the base's meta (``in_failure``), and
put back when a later grid fits it again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hosting.basedb.base import BaseDatabases, Row
from hosting.errors import Conflict
from hosting.timegrid import TimeGrid

SHOWN = 10  # courses named in a refusal's ``where``


class GridChangeFailsCourses(Conflict):
    """The new grid leaves {count} placed course(s) outside it (first: {first}); nothing changed. Confirm
    with --accept-failures to put them in failure (their placements are kept aside)."""

    code = "GRID_CHANGE_FAILS_COURSES"


@dataclass
class Regrid:
    """What a new grid does to a base's courses."""

    grid: TimeGrid
    kept_aside: dict[str, Any]  # course id -> placement, before the change
    failed: list[str] = field(default_factory=list)  # newly put in failure
    restored: list[str] = field(default_factory=list)  # placed again from what was kept aside

    def course(self, row: Row) -> Row:
        """The course under the new grid (a new dict when it changes)."""
        placement = row.get("placement")
        if placement is not None:
            if _fits(self.grid, placement, row["duration_steps"]):
                return row
            self.failed.append(row["id"])
            self.kept_aside[row["id"]] = placement
            return {name: value for name, value in row.items() if name != "placement"}
        kept = self.kept_aside.get(row["id"])
        if kept is not None and _fits(self.grid, kept, row["duration_steps"]):
            del self.kept_aside[row["id"]]
            self.restored.append(row["id"])
            return {**row, "placement": kept}
        return row

    def refusal(self) -> GridChangeFailsCourses:
        first = ", ".join(self.failed[:SHOWN])
        return GridChangeFailsCourses(count=len(self.failed), first=first,
                                      where={"courses": self.failed[:SHOWN], "count": len(self.failed)})

    def report(self) -> dict[str, Any]:
        return {"in_failure": self.failed, "restored": self.restored, "still_in_failure": sorted(self.kept_aside)}


def regrid(basedbs: BaseDatabases, base_id: str, grid: dict[str, Any]) -> Regrid:
    """A regrid of the base to ``grid`` (validated as ``base create --grid`` does)."""
    return Regrid(TimeGrid.from_dict(grid), dict(basedbs.meta(base_id).get("in_failure") or {}))


def preview(basedbs: BaseDatabases, base_id: str, grid: dict[str, Any]) -> Regrid:
    """Run the change on every course without writing anything: who would fail, who would come back."""
    change = regrid(basedbs, base_id, grid)
    for row in basedbs.rows(base_id, "courses"):
        change.course(row)
    return change


def regridded(change: Regrid, rows: Iterator[Row]) -> Iterator[Row]:
    return (change.course(row) for row in rows)


def _fits(grid: TimeGrid, placement: dict[str, Any], duration_steps: int) -> bool:
    return grid.fits(placement["day"], placement["start_step"], duration_steps, placement["weeks"])
