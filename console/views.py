"""Read models of jobs for the client, the CLI and dashboards (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from hosting.db.models import Job, Stage
from hosting.jobs.states import FINAL_JOB_STATES


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class StageView:
    name: str
    state: str
    attempts: int  # runs begun: the row's retries, plus the run since the last retry if one began
    deliveries: int
    progress_done: int
    progress_total: int
    error_code: str | None
    error_message: str | None
    result: dict[str, Any] | None

    @classmethod
    def of(cls, stage: Stage) -> StageView:
        return cls(stage.name, stage.state, stage.attempts_begun, stage.deliveries, stage.progress_done,
                   stage.progress_total, stage.error_code, stage.error_message, stage.result)


@dataclass
class JobView:
    id: str
    kind: str
    planning_id: str
    state: str
    base_id: str | None
    requested_by: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    error: dict[str, Any] | None
    cancel_requested: bool
    stages: list[StageView] = field(default_factory=list)

    @classmethod
    def of(cls, job: Job, stages: list[Stage]) -> JobView:
        error = ({"code": job.error_code, "message": job.error_message, "where": job.error_where}
                 if job.error_code else None)
        return cls(job.id, job.kind, job.planning_id, job.state, job.base_id, job.requested_by,
                   _iso(job.created_at), _iso(job.started_at), _iso(job.finished_at), error,
                   job.cancel_requested, [StageView.of(s) for s in stages])

    @property
    def final(self) -> bool:
        return self.state in FINAL_JOB_STATES

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
