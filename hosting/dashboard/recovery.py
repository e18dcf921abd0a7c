"""The recovery page: how long a stage whose worker died stays lost, and how long jobs take, against targets.

Lease expiry -> running again is measured on the audit trail (``stage.lease_expired``, then the next
``stage.running`` of the same job and stage); enqueue -> done on the jobs that succeeded in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting.dashboard.overview import STAGE_ORDER, of_hosting
from hosting.db.models import AuditEvent, Job, utcnow
from hosting.jobs.states import JobState

RECOVERY_TARGET_S = 30.0  # a lost stage runs again within this (the lease, a sweep, a claim)
SAMPLE_LIMIT = 50_000


@dataclass
class Percentiles:
    name: str
    samples: int
    p50_s: float | None
    p95_s: float | None
    target_s: float | None = None

    @property
    def meets(self) -> bool | None:
        if self.target_s is None or self.p95_s is None:
            return None
        return self.p95_s <= self.target_s


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))]


def _summary(name: str, values: list[float], target_s: float | None = None) -> Percentiles:
    values.sort()
    return Percentiles(name, len(values), percentile(values, 0.5), percentile(values, 0.95), target_s)


def recoveries(session: Session, since: datetime, hosting: str | None = None) -> list[Percentiles]:
    """Per stage: lease expiry -> the stage's next claim, in seconds."""
    lost_jobs = select(AuditEvent.job_id).where(AuditEvent.action == "stage.lease_expired",
                                                AuditEvent.at >= since).distinct()
    if hosting is not None:
        lost_jobs = lost_jobs.where(AuditEvent.hosting_number == hosting)
    events = session.execute(
        select(AuditEvent.job_id, AuditEvent.stage, AuditEvent.action, AuditEvent.at)
        .where(AuditEvent.job_id.in_(lost_jobs), AuditEvent.action.in_(("stage.lease_expired", "stage.running")))
        .order_by(AuditEvent.id).limit(SAMPLE_LIMIT))
    expired: dict[tuple[str | None, str | None], datetime] = {}
    spent: dict[str, list[float]] = {}
    for job_id, stage, action, at in events:
        key = (job_id, stage)
        if action == "stage.lease_expired":
            expired[key] = at
        elif key in expired:
            spent.setdefault(stage or "?", []).append((at - expired.pop(key)).total_seconds())
    names = (*STAGE_ORDER, *sorted(set(spent) - set(STAGE_ORDER)))
    return [_summary(name, spent.get(name, []), RECOVERY_TARGET_S) for name in names]


def job_times(session: Session, since: datetime, hosting: str | None = None) -> list[Percentiles]:
    """Per kind: enqueue -> succeeded, in seconds."""
    query = of_hosting(select(Job.kind, Job.created_at, Job.finished_at).where(
        Job.state == JobState.SUCCEEDED, Job.finished_at >= since).limit(SAMPLE_LIMIT), hosting)
    spent: dict[str, list[float]] = {}
    for kind, created, finished in session.execute(query):
        spent.setdefault(kind, []).append((finished - created).total_seconds())
    return [_summary(kind, values) for kind, values in sorted(spent.items())]


def recovery(session: Session, window_s: float, hosting: str | None = None) -> tuple[list[Percentiles],
                                                                                      list[Percentiles]]:
    since = utcnow() - timedelta(seconds=window_s)
    return recoveries(session, since, hosting), job_times(session, since, hosting)
