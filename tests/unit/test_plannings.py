"""Plannings on a real SQLite control DB: names unique per hosting, resolved within a hosting."""

from __future__ import annotations

import pytest

from hosting import plannings
from hosting.errors import InvalidInput, NotFound
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.plannings import PlanningAmbiguous, PlanningNameTaken

FIRST, SECOND = "111111111111", "222222222222"


@pytest.fixture
def db(db):
    with db.transaction() as session:
        plannings.create_hosting(session, FIRST, actor="test")
        plannings.create_hosting(session, SECOND, actor="test")
    return db


def _create(db, hosting: str, name: str, label: str) -> str:
    with db.transaction() as session:
        return plannings.create_planning(session, hosting, plannings.PlanningSettings(
            name=name, domain=f"{label}.example.edu", controller_domain=f"ctl-{hosting}.example.edu"),
            actor="test").id


def _resolve(db, ident: str, hosting: str | None = None) -> str:
    with db.transaction() as session:
        return plannings.get_planning(session, ident, hosting=hosting).id


def test_a_second_hosting_may_use_the_same_name_and_each_resolves_its_own(db):
    first = _create(db, FIRST, "Lycée A", "a1")
    second = _create(db, SECOND, "Lycée A", "a2")
    assert first != second
    assert _resolve(db, "Lycée A", FIRST) == first
    assert _resolve(db, "Lycée A", SECOND) == second
    assert _resolve(db, second) == second  # an id needs no hosting
    with pytest.raises(NotFound):
        _resolve(db, second, FIRST)  # but it is never one of another hosting than the one given


def test_a_name_two_hostings_hold_is_ambiguous_without_a_hosting(db):
    _create(db, FIRST, "Lycée A", "a1")
    assert _resolve(db, "Lycée A")  # one hosting holds it: no hosting needed
    _create(db, SECOND, "Lycée A", "a2")
    with pytest.raises(PlanningAmbiguous) as caught:
        _resolve(db, "Lycée A")
    assert caught.value.where == {"planning": "Lycée A", "hostings": [FIRST, SECOND]}
    assert FIRST in caught.value.message and SECOND in caught.value.message


def test_a_name_is_unique_within_a_hosting_on_create_and_configure(db):
    _create(db, FIRST, "Lycée A", "a1")
    with pytest.raises(PlanningNameTaken) as caught:
        _create(db, FIRST, " Lycée A ", "a2")
    assert caught.value.code == "PLANNING_NAME_TAKEN" and caught.value.where["field"] == "name"
    other = _create(db, FIRST, "Lycée B", "b1")
    with pytest.raises(PlanningNameTaken), db.transaction() as session:
        plannings.configure_planning(session, other, plannings.PlanningSettings(name="Lycée A"), actor="test")
    with db.transaction() as session:  # renaming to its own name is no collision
        plannings.configure_planning(session, other, plannings.PlanningSettings(name="Lycée B"), actor="test")


def test_a_lost_race_on_the_name_is_the_same_refusal(db, monkeypatch):
    _create(db, FIRST, "Lycée A", "a1")
    monkeypatch.setattr(plannings, "_check_name_free", lambda *args: None)  # both requests saw the name free
    with pytest.raises(PlanningNameTaken):
        _create(db, FIRST, "Lycée A", "a2")
    other = _create(db, FIRST, "Lycée B", "b1")
    with pytest.raises(PlanningNameTaken), db.transaction() as session:
        plannings.configure_planning(session, other, plannings.PlanningSettings(name="Lycée A"), actor="test")


def test_enqueue_resolves_the_name_within_the_hosting_given(db):
    _create(db, FIRST, "Lycée A", "a1")
    second = _create(db, SECOND, "Lycée A", "a2")
    request = JobRequest("create_base", "Lycée A", {"time_grid": {}}, hosting=SECOND)
    with db.transaction() as session:
        job, _ = enqueue(session, request)
        assert job.planning_id == second


def test_lists_by_hosting(db):
    _create(db, SECOND, "Z", "z2")
    _create(db, FIRST, "B", "b1")
    _create(db, FIRST, "A", "a1")
    with db.transaction() as session:
        assert [(p.hosting_number, p.name) for p in plannings.list_plannings(session)] == [
            (FIRST, "A"), (FIRST, "B"), (SECOND, "Z")]
        assert [p.name for p in plannings.list_plannings(session, hosting=SECOND)] == ["Z"]
        assert [(h.number, count) for h, count in plannings.list_hostings(session)] == [(FIRST, 2), (SECOND, 1)]
        with pytest.raises(NotFound):
            plannings.list_plannings(session, hosting="999999999999")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3.", "127.1", "0x7f.0.0.1", "::1", "[::1]",
                                     "fe80::1%eth0", "2001:db8::1"])
@pytest.mark.parametrize("field", ["domain", "controller_domain"])
def test_an_ip_address_is_not_a_domain(db, address, field):
    settings = {"name": "P", "domain": "p.example.edu", "controller_domain": "ctl.example.edu", field: address}
    with db.transaction() as session, pytest.raises(InvalidInput) as caught:
        plannings.create_planning(session, FIRST, plannings.PlanningSettings(**settings), actor="test")
    assert caught.value.where == {"field": field}
    planning = _create(db, FIRST, "P", "p")
    with db.transaction() as session, pytest.raises(InvalidInput) as caught:
        plannings.configure_planning(session, planning, plannings.PlanningSettings(**{field: address}), actor="test")
    assert caught.value.where == {"field": field}


def test_host_names_with_digits_stay_valid(db):
    _create(db, FIRST, "P", "edt-2026.univ1")
    with db.transaction() as session:
        assert plannings.get_planning(session, "P").domain == "edt-2026.univ1.example.edu"
