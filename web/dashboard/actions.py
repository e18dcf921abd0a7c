"""The dashboard's actions: POST only, with the session's CSRF token, operator role or above, and a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from hosting import audit_chain
from hosting.dashboard import actions
from hosting.runtime import BrokerUnavailable, Runtime
from tasks.dispatch import dispatch
from web.dashboard.auth import PREFIX, CsrfDep, DashDep, OperatorDep, require
from web.dashboard.render import page, redirect
from web.deps import RuntimeDep

router = APIRouter(prefix=PREFIX)
Reason = Annotated[str, Form(max_length=500)]


def _ring(rt: Runtime) -> actions.Ring:
    def ring(job_id: str, stage: str) -> None:
        try:
            dispatch(job_id, stage, settings=rt.settings)
        except Exception as exc:  # the stage row stays queued: a sweeper re-sends it once the broker is back
            raise BrokerUnavailable.of(rt.settings, job_id, exc) from None

    return ring


@router.post("/jobs/{job_id}/cancel")
async def cancel(request: Request, dash: DashDep, operator: OperatorDep, rt: RuntimeDep, _csrf: CsrfDep,
                 job_id: str, reason: Reason = "") -> RedirectResponse:
    actor = require(operator)
    await run_in_threadpool(actions.cancel_job, rt, job_id, actor=actor, reason=actions.require_reason(reason))
    return redirect(request, dash, f"{PREFIX}/jobs/{job_id}")


@router.post("/jobs/{job_id}/retry")
async def retry(request: Request, dash: DashDep, operator: OperatorDep, rt: RuntimeDep, _csrf: CsrfDep,
                job_id: str, reason: Reason = "") -> RedirectResponse:
    actor = require(operator)
    await run_in_threadpool(actions.retry_job, rt, job_id, actor=actor, reason=actions.require_reason(reason),
                            ring=_ring(rt))
    return redirect(request, dash, f"{PREFIX}/jobs/{job_id}")


@router.post("/failures/retry", response_class=HTMLResponse)
async def retry_group(request: Request, dash: DashDep, operator: OperatorDep, rt: RuntimeDep, _csrf: CsrfDep,
                      code: Annotated[str, Form(max_length=64)], stage: Annotated[str, Form(max_length=32)],
                      reason: Reason = "", hosting: Annotated[str, Form(max_length=12)] = "") -> HTMLResponse:
    """The confirmed retry of a failure group: one batch id, audited with the operator and the reason."""
    actor = require(operator)
    result = await run_in_threadpool(actions.retry_group, rt, code, stage, actor=actor, reason=reason,
                                     ring=_ring(rt), hosting=hosting or None)
    return page(request, dash, "batch.html", operator, batch=result, code=code, stage=stage)


@router.post("/audit/verify")
async def verify_chain(request: Request, dash: DashDep, operator: OperatorDep, rt: RuntimeDep,
                       _csrf: CsrfDep) -> RedirectResponse:
    """Walk the audit's hash chain now; its result shows on the overview (and in /metrics)."""
    actor = require(operator)

    def walk() -> None:
        with rt.db.transaction() as session:
            report = audit_chain.verify(session)
        with rt.db.transaction() as session:
            audit_chain.record_verification(session, report, actor=actor)

    await run_in_threadpool(walk)
    return redirect(request, dash, f"{PREFIX}/#audit-chain")
