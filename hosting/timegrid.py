"""The time grid (grille horaire) of a base: weeks, working days, sequences and steps.

Shared by ``.HHYP`` files (their manifest carries one) and by "Créer une base",
where the operator sets it. A *step* is the unit of placement: a day has
``sequences_per_day × steps_per_sequence`` of them, from ``day_start``.
The rules live in ``hosting/formats/schemas/time_grid.json``; what a schema
cannot say (a real Monday, the day ending by 24:00, whole-minute steps) is
checked here. Each rule has its own ``GRID_*`` code and ``where={"field": ...}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hosting.formats.errors import grid as g
from hosting.formats.json.compiled import conforms
from hosting.formats.json.schema import first_fault
from hosting.formats.json.strict import MAX_DEPTH, nests_deeper_than

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_SEQUENCE_MINUTES = 60
MINUTES_PER_DAY = 24 * 60
_FIELD_ERRORS: dict[str, type[g.GridError]] = {
    "first_monday": g.GridFirstMonday,
    "weeks": g.GridWeeks,
    "working_days": g.GridWorkingDays,
    "day_start": g.GridDayStart,
    "sequences_per_day": g.GridSequencesPerDay,
    "sequence_minutes": g.GridSequenceMinutes,
    "steps_per_sequence": g.GridStepsPerSequence,
}


@dataclass(frozen=True)
class TimeGrid:
    """A valid time grid; build one with :meth:`from_dict`."""

    first_monday: dt.date
    weeks: int
    working_days: tuple[str, ...]  # in week order
    day_start: str  # HH:MM
    sequences_per_day: int
    steps_per_sequence: int
    sequence_minutes: int = DEFAULT_SEQUENCE_MINUTES

    @classmethod
    def from_dict(cls, data: Any) -> TimeGrid:
        """Check ``data`` against every grid rule; raise the ``GRID_*`` error of the first broken one."""
        if not isinstance(data, Mapping):
            raise g.GridNotObject(where={"field": ""})
        _check_schema(dict(data))
        grid = cls(
            first_monday=_monday(data["first_monday"]),
            weeks=data["weeks"],
            working_days=tuple(day for day in DAYS if day in data["working_days"]),
            day_start=data["day_start"],
            sequences_per_day=data["sequences_per_day"],
            steps_per_sequence=data["steps_per_sequence"],
            sequence_minutes=data.get("sequence_minutes", DEFAULT_SEQUENCE_MINUTES),
        )
        grid._check_steps()
        grid._check_day_end()
        return grid

    def to_dict(self) -> dict[str, Any]:
        """The grid as JSON-ready data; ``from_dict(to_dict())`` gives an equal grid."""
        return {
            "first_monday": self.first_monday.isoformat(),
            "weeks": self.weeks,
            "working_days": list(self.working_days),
            "day_start": self.day_start,
            "sequences_per_day": self.sequences_per_day,
            "sequence_minutes": self.sequence_minutes,
            "steps_per_sequence": self.steps_per_sequence,
        }

    @property
    def steps_per_day(self) -> int:
        return self.sequences_per_day * self.steps_per_sequence

    @property
    def step_minutes(self) -> int:
        return self.sequence_minutes // self.steps_per_sequence

    @property
    def day_end(self) -> str:
        """End of the last sequence, HH:MM (``24:00`` at most)."""
        return clock_of(minutes_of(self.day_start) + self.sequences_per_day * self.sequence_minutes)

    @property
    def last_sunday(self) -> dt.date:
        return self.first_monday + dt.timedelta(weeks=self.weeks, days=-1)

    def fits(self, day: str, start_step: int, duration_steps: int, weeks: Collection[int]) -> bool:
        """True when a course of ``duration_steps`` placed so lies wholly inside the grid."""
        return self.placement_fault(day, start_step, duration_steps, weeks) is None

    def placement_fault(self, day: str, start_step: int, duration_steps: int,
                        weeks: Collection[int]) -> tuple[str, str] | None:
        """``(field, reason)`` of the first way the placement leaves the grid, or None when it fits."""
        if day not in self.working_days:
            return "day", f"{day} is not a working day ({' '.join(self.working_days)})"
        if start_step < 0:
            return "start_step", "start_step is negative"
        if start_step + duration_steps > self.steps_per_day:
            return "start_step", (f"steps {start_step}..{start_step + duration_steps - 1} overflow the "
                                  f"{self.steps_per_day} steps of a day")
        seen: set[int] = set()
        for index, week in enumerate(weeks):
            if not 1 <= week <= self.weeks:
                return f"weeks[{index}]", f"week {week} is outside 1..{self.weeks}"
            if week in seen:
                return f"weeks[{index}]", f"week {week} is listed twice"
            seen.add(week)
        return None

    def _check_steps(self) -> None:
        minutes, steps = divmod(self.sequence_minutes, self.steps_per_sequence)
        if steps or minutes < 5:
            raise g.GridStepMinutes(sequence_minutes=self.sequence_minutes, steps=self.steps_per_sequence,
                                    where={"field": "steps_per_sequence"})

    def _check_day_end(self) -> None:
        end = minutes_of(self.day_start) + self.sequences_per_day * self.sequence_minutes
        if end > MINUTES_PER_DAY:
            raise g.GridDayEnd(end=clock_of(end), where={"field": "sequences_per_day"})


def _check_schema(data: dict[str, Any]) -> None:
    if conforms("time_grid", data):
        return
    # jsonschema would recurse into a value as deep as Python's stack (a grid handed over as a dict).
    deep = next((key for key, value in data.items() if nests_deeper_than(value, MAX_DEPTH - 1)), None)
    if deep is not None:
        if deep not in _FIELD_ERRORS:
            raise g.GridUnknownField(name=deep, where={"field": deep})
        raise _FIELD_ERRORS[deep](reason=f"it nests more than {MAX_DEPTH} arrays or objects inside one another",
                                  where={"field": deep})
    fault = first_fault("time_grid", data)
    if fault is None:  # the schema takes what msgspec refuses, an integer written 4.0: keep the stricter answer
        decimal = next((key for key, value in data.items() if isinstance(value, float)), None)
        if decimal is None:
            return
        raise _FIELD_ERRORS.get(decimal, g.GridError)(reason="an integer is written without a decimal point",
                                                      where={"field": decimal})
    top = fault.field.split(".")[0].split("[")[0]
    where = {"field": fault.field}
    if fault.kind == "unknown_field":
        raise g.GridUnknownField(name=fault.name, where=where)
    if fault.kind == "missing_field":
        raise g.GridMissingField(name=fault.name, where=where)
    raise _FIELD_ERRORS.get(top, g.GridError)(reason=fault.reason, where={"field": top or fault.field})


def _monday(text: str) -> dt.date:
    where = {"field": "first_monday"}
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise g.GridFirstMonday(reason="not a real date", where=where) from None
    if day.weekday() != 0:
        raise g.GridFirstMonday(reason=f"{text} is a {DAYS[day.weekday()]}", where=where)
    return day


def minutes_of(clock: str) -> int:
    """Minutes since midnight of an "HH:MM" time."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def clock_of(minutes: int) -> str:
    """The "HH:MM" time of minutes since midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
