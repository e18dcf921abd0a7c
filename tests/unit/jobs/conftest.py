from __future__ import annotations

import pytest

from hosting.plannings import PlanningSettings, create_hosting, create_planning

HOSTING = "123456789012"


@pytest.fixture
def planning_id(db) -> str:
    with db.transaction() as session:
        create_hosting(session, HOSTING, actor="test")
        planning = create_planning(session, HOSTING, PlanningSettings(
            name="P", domain="p.example.edu", controller_domain="ctl.example.edu"), actor="test")
        return planning.id
