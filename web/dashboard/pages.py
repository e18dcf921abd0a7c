"""The dashboard's pages: overview, jobs, one job, failures (and a group's dry run), workers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hosting.audit_chain import last_verification
from hosting.dashboard import overview as views
from hosting.dashboard.actions import dry_run
from hosting.dashboard.jobs import JobFilter, job_detail, list_jobs
from hosting.dashboard.recovery import recovery
from hosting.jobs.kinds import JOB_KINDS
from hosting.jobs.states import JobState
from web.dashboard.auth import PREFIX, DashDep, OperatorDep
from web.dashboard.render import page
from web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix=PREFIX)
WINDOWS = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400}
Text = Annotated[str | None, Query(max_length=200)]


@router.get("", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/", status_code=307)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, dash: DashDep, operator: OperatorDep, session: SessionDep,
                  window: str = "1h", hosting: Text = None) -> HTMLResponse:
    window = window if window in WINDOWS else "1h"
    data = views.overview(session, WINDOWS[window], hosting or None)
    return page(request, dash, "overview.html", operator, view=data, window=window, windows=list(WINDOWS),
                states=list(JobState), chain=last_verification(session), hosting=hosting or None)


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, dash: DashDep, operator: OperatorDep, session: SessionDep,
              state: Text = None, kind: Text = None, hosting: Text = None, planning: Text = None,
              error_code: Text = None, since: Text = None, until: Text = None, q: Text = None,
              cursor: Text = None) -> HTMLResponse:
    f = JobFilter(state or None, kind or None, hosting or None, planning or None, error_code or None,
                  _when(since), _when(until), q or None)
    found = list_jobs(session, f, cursor)
    query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return page(request, dash, "jobs.html", operator, found=found, query=query, states=list(JobState),
                kinds=JOB_KINDS)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, dash: DashDep, operator: OperatorDep, session: SessionDep,
             job_id: str) -> HTMLResponse:
    detail = job_detail(session, job_id)
    return page(request, dash, "job.html", operator, d=detail, tl=detail.timeline)


@router.get("/failures", response_class=HTMLResponse)
def failures_page(request: Request, dash: DashDep, operator: OperatorDep, session: SessionDep,
                  hosting: Text = None) -> HTMLResponse:
    return page(request, dash, "failures.html", operator, groups=views.failure_groups(session, hosting=hosting or None),
                hosting=hosting or None)


@router.get("/failures/retry", response_class=HTMLResponse)
def failures_dry_run(request: Request, dash: DashDep, operator: OperatorDep, session: SessionDep,
                     code: Annotated[str, Query(max_length=64)], stage: Annotated[str, Query(max_length=32)],
                     hosting: Text = None) -> HTMLResponse:
    """The dry run of a group's retry: what a confirmation would do (changes nothing)."""
    return page(request, dash, "dry_run.html", operator, plan=dry_run(session, code, stage, hosting or None))


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request, dash: DashDep, operator: OperatorDep, session: SessionDep,
                 rt: RuntimeDep) -> HTMLResponse:
    return page(request, dash, "workers.html", operator, workers=views.workers(session, rt.settings.lease_s),
                running=views.running(session, views.utcnow()))


@router.get("/recovery", response_class=HTMLResponse)
def recovery_page(request: Request, dash: DashDep, operator: OperatorDep, session: SessionDep,
                  window: str = "24h", hosting: Text = None) -> HTMLResponse:
    window = window if window in WINDOWS else "24h"
    lost, jobs = recovery(session, WINDOWS[window], hosting or None)
    return page(request, dash, "recovery.html", operator, lost=lost, jobs=jobs, window=window,
                windows=list(WINDOWS), hosting=hosting or None)
