"""Plannings: the Configuration pane (create, read, list, change) and the base in service with its publication.

Validations and codes are ``hosting/plannings.py``'s, the CLI's own. A caller sees its hosting's plannings
only; the operator sees all and names the hosting when it creates one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from hosting import scoped
from hosting.db.models import BaseRecord, Planning, Publication
from hosting.errors import InvalidInput
from hosting.plannings import PlanningSettings, configure_planning, create_planning, list_plannings
from web.auth import Caller, CallerDep, WriterDep
from web.deps import SessionDep
from web.problems import problem_doc
from web.v1.views import PLAIN_TEXT, PlanningId

router = APIRouter(prefix="/plannings", tags=["plannings"])


class PlanningChange(BaseModel):
    """The Configuration pane's fields; an absent field is left unchanged."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200, pattern=PLAIN_TEXT)
    controller_domain: str | None = Field(None, max_length=253, pattern=PLAIN_TEXT)
    domain: str | None = Field(None, max_length=253, pattern=PLAIN_TEXT, description="The users' domain.")
    associate_net: bool | None = Field(None, description="Associer HYPERPLANNING.net.")
    time_zone: str | None = Field(None, max_length=64, pattern=PLAIN_TEXT)
    publication_name: str | None = Field(None, max_length=200, pattern=PLAIN_TEXT)

    def settings(self) -> PlanningSettings:
        return PlanningSettings(**self.model_dump(exclude={"hosting_number"}))


class PlanningCreate(PlanningChange):
    hosting_number: str | None = Field(None, pattern="^[0-9]{12}$", description="The operator's only; else yours.")


class PlanningOut(BaseModel):
    id: str
    hosting_number: str
    name: str
    controller_domain: str
    domain: str
    associate_net: bool
    time_zone: str
    publication_name: str
    current_base_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, planning: Planning) -> PlanningOut:
        fields: dict[str, Any] = {name: getattr(planning, name) for name in cls.model_fields}
        return cls(**fields | {"publication_name": planning.effective_publication_name})


class PlanningList(BaseModel):
    plannings: list[PlanningOut]


class BaseOut(BaseModel):
    id: str
    job_id: str
    source: str
    base_name: str | None
    row_counts: dict[str, Any] | None
    time_grid: dict[str, Any] | None
    in_service_at: datetime | None


class PublicationOut(BaseModel):
    domain: str
    publication_name: str
    espaces: list[str]
    created_at: datetime


class InService(BaseModel):
    planning_id: str
    base: BaseOut | None = Field(description="None before the first base went into service.")
    publication: PublicationOut | None


@router.get("", response_model=PlanningList)
def list_(caller: CallerDep, session: SessionDep,
          hosting_number: str | None = Query(None, pattern="^[0-9]{12}$", description="The operator's filter."),
          ) -> PlanningList:
    """The caller's plannings (the operator's: every hosting's, or ``hosting_number``'s), by name."""
    hosting = caller.hosting if caller.hosting is not None else hosting_number
    if caller.hosting is not None and hosting_number not in (None, caller.hosting):
        return PlanningList(plannings=[])
    return PlanningList(plannings=[PlanningOut.of(p) for p in list_plannings(session, hosting=hosting)])


@router.post("", response_model=PlanningOut, status_code=status.HTTP_201_CREATED,
             responses={409: problem_doc("PLANNING_NAME_TAKEN, DOMAIN_TAKEN")})
def create(body: PlanningCreate, caller: WriterDep, session: SessionDep, response: Response) -> PlanningOut:
    """Create a planning (name, Controller domain and users' domain are required)."""
    planning = create_planning(session, _hosting_for(caller, body.hosting_number), body.settings(), actor=caller.actor)
    response.headers["Location"] = f"/v1/plannings/{planning.id}"
    return PlanningOut.of(planning)


@router.get("/{planning_id}", response_model=PlanningOut)
def read(planning_id: PlanningId, caller: CallerDep, session: SessionDep) -> PlanningOut:
    return PlanningOut.of(scoped.planning(session, caller.hosting, planning_id))


@router.patch("/{planning_id}", response_model=PlanningOut,
              responses={409: problem_doc("PLANNING_NAME_TAKEN, DOMAIN_TAKEN")})
def change(planning_id: PlanningId, body: PlanningChange, caller: WriterDep, session: SessionDep) -> PlanningOut:
    """Change the Configuration pane's settings; the fields given only."""
    scoped.planning(session, caller.hosting, planning_id)
    return PlanningOut.of(configure_planning(session, planning_id, body.settings(), actor=caller.actor))


@router.get("/{planning_id}/base", response_model=InService)
def base_in_service(planning_id: PlanningId, caller: CallerDep, session: SessionDep) -> InService:
    """The base in service and its HYPERPLANNING.net publication."""
    scoped.planning(session, caller.hosting, planning_id)
    base, publication = scoped.in_service(session, planning_id)
    return InService(planning_id=planning_id, base=_base_out(base), publication=_publication_out(publication))


def _hosting_for(caller: Caller, given: str | None) -> str:
    """A hosting's caller creates in its own hosting; the operator names one."""
    if caller.hosting is not None:
        if given not in (None, caller.hosting):
            raise InvalidInput(field="hosting_number", reason="a token creates in its own hosting only",
                               where={"field": "hosting_number"})
        return caller.hosting
    if given is None:
        raise InvalidInput(field="hosting_number", reason="required with the operator's token",
                           where={"field": "hosting_number"})
    return given


def _base_out(base: BaseRecord | None) -> BaseOut | None:
    if base is None:
        return None
    return BaseOut(id=base.id, job_id=base.job_id, source=base.source, base_name=base.base_name,
                   row_counts=base.row_counts, time_grid=base.time_grid, in_service_at=base.in_service_at)


def _publication_out(publication: Publication | None) -> PublicationOut | None:
    if publication is None:
        return None
    return PublicationOut(domain=publication.domain, publication_name=publication.publication_name,
                          espaces=publication.espaces, created_at=publication.created_at)
