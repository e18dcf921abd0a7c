"""TimeGrid: every rule of the grille horaire, its derived values, and what fits in it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hosting.formats.errors.grid import GridError
from hosting.timegrid import DAYS, TimeGrid

GRID: dict[str, Any] = {"first_monday": "2026-08-31", "weeks": 44, "working_days": ["mon", "tue", "wed", "thu", "fri"],
                        "day_start": "08:00", "sequences_per_day": 10, "sequence_minutes": 60, "steps_per_sequence": 4}


def refused(change: dict[str, Any], code: str, *, drop: str | None = None) -> GridError:
    data = {**GRID, **change}
    if drop:
        data.pop(drop)
    with pytest.raises(GridError) as caught:
        TimeGrid.from_dict(data)
    assert caught.value.code == code, caught.value
    return caught.value


def test_a_valid_grid_and_what_follows_from_it() -> None:
    grid = TimeGrid.from_dict(GRID)
    assert grid.first_monday == dt.date(2026, 8, 31)
    assert grid.steps_per_day == 40
    assert grid.step_minutes == 15
    assert grid.day_end == "18:00"
    assert grid.last_sunday == dt.date(2027, 7, 4)
    assert TimeGrid.from_dict(grid.to_dict()) == grid
    assert grid.to_dict() == GRID


def test_sequence_minutes_defaults_to_60_and_days_come_in_week_order() -> None:
    data = {**GRID, "working_days": ["fri", "mon"]}
    data.pop("sequence_minutes")
    grid = TimeGrid.from_dict(data)
    assert grid.sequence_minutes == 60
    assert grid.working_days == ("mon", "fri")


@pytest.mark.parametrize(("field", "value", "code"), [
    ("first_monday", "2026-09-01", "GRID_FIRST_MONDAY"),
    ("first_monday", "2026-13-01", "GRID_FIRST_MONDAY"),
    ("first_monday", 20260831, "GRID_FIRST_MONDAY"),
    ("weeks", 0, "GRID_WEEKS"),
    ("weeks", 63, "GRID_WEEKS"),
    ("weeks", "40", "GRID_WEEKS"),
    ("weeks", True, "GRID_WEEKS"),
    ("working_days", [], "GRID_WORKING_DAYS"),
    ("working_days", ["mon", "mon"], "GRID_WORKING_DAYS"),
    ("working_days", ["lundi"], "GRID_WORKING_DAYS"),
    ("working_days", "mon", "GRID_WORKING_DAYS"),
    ("day_start", "8h00", "GRID_DAY_START"),
    ("day_start", "25:00", "GRID_DAY_START"),
    ("day_start", "08:60", "GRID_DAY_START"),
    ("sequences_per_day", 0, "GRID_SEQUENCES_PER_DAY"),
    ("sequences_per_day", 2.5, "GRID_SEQUENCES_PER_DAY"),
    ("sequence_minutes", 4, "GRID_SEQUENCE_MINUTES"),
    ("sequence_minutes", 62, "GRID_SEQUENCE_MINUTES"),
    ("sequence_minutes", 245, "GRID_SEQUENCE_MINUTES"),
    ("steps_per_sequence", 5, "GRID_STEPS_PER_SEQUENCE"),
    ("steps_per_sequence", 0, "GRID_STEPS_PER_SEQUENCE"),
])
def test_each_field_rule_has_its_code(field: str, value: Any, code: str) -> None:
    error = refused({field: value}, code)
    assert error.where == {"field": field}


def test_a_step_must_be_a_whole_number_of_minutes_of_at_least_five() -> None:
    error = refused({"sequence_minutes": 50, "steps_per_sequence": 4}, "GRID_STEP_MINUTES")
    assert error.where == {"field": "steps_per_sequence"}
    short = refused({"sequence_minutes": 30, "steps_per_sequence": 12}, "GRID_STEP_MINUTES")
    assert short.where == {"field": "steps_per_sequence"}


def test_the_day_must_end_by_midnight() -> None:
    error = refused({"day_start": "20:00", "sequences_per_day": 5}, "GRID_DAY_END")
    assert error.where == {"field": "sequences_per_day"}
    assert "25:00" in error.message
    assert TimeGrid.from_dict({**GRID, "day_start": "20:00", "sequences_per_day": 4}).day_end == "24:00"


def test_missing_and_unknown_fields_and_non_objects() -> None:
    assert refused({}, "GRID_MISSING_FIELD", drop="weeks").where == {"field": "weeks"}
    assert refused({"holidays": []}, "GRID_UNKNOWN_FIELD").where == {"field": "holidays"}
    with pytest.raises(GridError) as caught:
        TimeGrid.from_dict(["not", "a", "grid"])
    assert caught.value.code == "GRID_NOT_OBJECT"


def test_what_fits_in_the_grid() -> None:
    grid = TimeGrid.from_dict(GRID)
    assert grid.fits("mon", 0, 40, [1, 44])
    assert grid.fits("fri", 36, 4, range(1, 45))
    assert grid.placement_fault("sat", 0, 4, [1]) == ("day", "sat is not a working day (mon tue wed thu fri)")
    assert grid.placement_fault("mon", 37, 4, [1])[0] == "start_step"  # type: ignore[index]
    assert grid.placement_fault("mon", -1, 4, [1])[0] == "start_step"  # type: ignore[index]
    assert grid.placement_fault("mon", 0, 4, [1, 45]) == ("weeks[1]", "week 45 is outside 1..44")
    assert grid.placement_fault("mon", 0, 4, [0]) == ("weeks[0]", "week 0 is outside 1..44")
    assert grid.placement_fault("mon", 0, 4, [2, 3, 2]) == ("weeks[2]", "week 2 is listed twice")


@given(steps=st.sampled_from([1, 2, 3, 4, 6, 12]), minutes=st.integers(1, 48).map(lambda k: 5 * k),
       sequences=st.integers(1, 30), start=st.integers(0, 23 * 60 + 59), days=st.sets(st.sampled_from(DAYS)))
def test_a_grid_is_valid_exactly_when_its_rules_hold(steps: int, minutes: int, sequences: int, start: int,
                                                      days: set[str]) -> None:
    data = {**GRID, "steps_per_sequence": steps, "sequence_minutes": minutes, "sequences_per_day": sequences,
            "day_start": f"{start // 60:02d}:{start % 60:02d}", "working_days": sorted(days)}
    valid = (bool(days) and minutes % steps == 0 and minutes // steps >= 5
             and start + sequences * minutes <= 24 * 60)
    try:
        grid = TimeGrid.from_dict(data)
    except GridError:
        assert not valid
    else:
        assert valid
        assert grid.steps_per_day == sequences * steps
        assert grid.step_minutes * steps == minutes


def test_a_value_nested_too_deep_is_refused_at_its_field_not_by_a_recursion_error() -> None:
    # A grid handed over as a dict (the Python client): jsonschema would recurse into it to word its message.
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    for field, code in (("weeks", "GRID_WEEKS"), ("working_days", "GRID_WORKING_DAYS"), ("x", "GRID_UNKNOWN_FIELD")):
        with pytest.raises(GridError) as caught:
            TimeGrid.from_dict({**GRID, field: deep})
        assert (caught.value.code, caught.value.where) == (code, {"field": field})


@pytest.mark.parametrize(("field", "value", "code"), [
    ("weeks", 10.0, "GRID_WEEKS"), ("sequences_per_day", 4.0, "GRID_SEQUENCES_PER_DAY"),
    ("sequence_minutes", 60.0, "GRID_SEQUENCE_MINUTES"), ("steps_per_sequence", 2.0, "GRID_STEPS_PER_SEQUENCE"),
])
def test_an_integer_written_with_a_decimal_point_is_refused(field: str, value: float, code: str) -> None:
    # JSON Schema calls 4.0 an integer; a float went through and crashed the reader later (range(4.0)).
    with pytest.raises(GridError) as caught:
        TimeGrid.from_dict({**GRID, field: value})
    assert (caught.value.code, caught.value.where) == (code, {"field": field})
