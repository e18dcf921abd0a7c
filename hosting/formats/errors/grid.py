"""Refusals of a time grid (``hosting.timegrid``), one class per rule; ``where`` names the field."""

from __future__ import annotations

from hosting.formats.errors import FormatError


class GridError(FormatError):
    """The time grid is invalid: {reason}."""

    code = "GRID_INVALID"


class GridNotObject(GridError):
    """The time grid must be a JSON object."""

    code = "GRID_NOT_OBJECT"


class GridMissingField(GridError):
    """The time grid has no {name}."""

    code = "GRID_MISSING_FIELD"


class GridUnknownField(GridError):
    """The time grid has an unknown field {name}."""

    code = "GRID_UNKNOWN_FIELD"


class GridFirstMonday(GridError):
    """first_monday must be an ISO date that is a Monday: {reason}."""

    code = "GRID_FIRST_MONDAY"


class GridWeeks(GridError):
    """weeks must be an integer from 1 to 62: {reason}."""

    code = "GRID_WEEKS"


class GridWorkingDays(GridError):
    """working_days must be a non-empty set of mon tue wed thu fri sat sun: {reason}."""

    code = "GRID_WORKING_DAYS"


class GridDayStart(GridError):
    """day_start must be a time HH:MM: {reason}."""

    code = "GRID_DAY_START"


class GridSequencesPerDay(GridError):
    """sequences_per_day must be an integer of at least 1: {reason}."""

    code = "GRID_SEQUENCES_PER_DAY"


class GridSequenceMinutes(GridError):
    """sequence_minutes must be a multiple of 5 from 5 to 240: {reason}."""

    code = "GRID_SEQUENCE_MINUTES"


class GridStepsPerSequence(GridError):
    """steps_per_sequence must be 1, 2, 3, 4, 6 or 12: {reason}."""

    code = "GRID_STEPS_PER_SEQUENCE"


class GridStepMinutes(GridError):
    """A step must last a whole number of minutes, at least 5 ({sequence_minutes} / {steps})."""

    code = "GRID_STEP_MINUTES"


class GridDayEnd(GridError):
    """The day must end by 24:00; this one ends at {end}."""

    code = "GRID_DAY_END"
