"""The transition tables of hosting/jobs/states.py: every state reachable, no state a dead end but the final ones."""

from __future__ import annotations

from enum import StrEnum

import pytest

from hosting.jobs.states import (
    BASE_TRANSITIONS,
    JOB_TRANSITIONS,
    STAGE_TRANSITIONS,
    BaseState,
    JobState,
    StageState,
)

TABLES = [
    (JOB_TRANSITIONS, JobState, {JobState.QUEUED}, {JobState.SUCCEEDED, JobState.CANCELLED}),
    (STAGE_TRANSITIONS, StageState, {StageState.PENDING}, {StageState.SKIPPED, StageState.CANCELLED}),
    (BASE_TRANSITIONS, BaseState, {BaseState.LOADING}, {BaseState.RETIRED}),
]


@pytest.mark.parametrize(("table", "states", "initial", "final"), TABLES, ids=["job", "stage", "base"])
def test_every_state_is_reachable_and_only_final_states_are_never_left(table, states: type[StrEnum], initial, final):
    pairs = [pair for made in table.values() for pair in made]
    assert all(isinstance(a, states) and isinstance(b, states) for a, b in pairs)
    reached = {to for _, to in pairs}
    left = {frm for frm, to in pairs if frm != to}
    assert set(states) - reached - initial == set()
    assert set(states) - left == final
    assert len(pairs) == len(set(pairs)), "a transition is listed twice"
