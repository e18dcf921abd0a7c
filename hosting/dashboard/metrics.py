"""Prometheus metrics, computed at scrape time from the control database (prometheus-client's text format).

Every worker writes its stage rows and audit rows to the control database, so one scrape of any `hphost serve`
replica sees all of them: no multiprocess mode, no per-worker port, nothing lost when a worker dies. Counters
come from append-only audit rows and final job rows (monotonic); gauges from the stage rows. Base units
(seconds); no tenant label (hosting, planning, job): their cardinality is unbounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from config.celery import STAGE_QUEUE
from hosting.audit_chain import last_verification
from hosting.dashboard.overview import queues
from hosting.db.models import AuditEvent, Job, Stage, utcnow
from hosting.jobs.states import FINAL_JOB_STATES, StageState

BUCKETS_S = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_AUDIT_COUNTERS = {  # metric -> (audit action, help)
    "hphost_stage_deliveries": ("stage.running", "Deliveries of a stage that claimed it (each runs it once)."),
    "hphost_lease_expiries": ("stage.lease_expired", "Running stages whose lease expired (their worker died)."),
    "hphost_sweeper_recoveries": ("stage.lease_expired", "Stages the sweeper queued again after a lease expiry."),
    "hphost_sweeper_redispatches": ("stage.redispatched", "Queued stages the sweeper sent again (message lost)."),
}


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * literal_column("86400.0")


def _jobs(session: Session) -> Iterator[Any]:
    total = CounterMetricFamily("hphost_jobs", "Jobs that ended, by kind and outcome.", labels=["kind", "outcome"])
    query = (select(Job.kind, Job.state, func.count()).where(Job.state.in_(FINAL_JOB_STATES))
             .group_by(Job.kind, Job.state))
    for kind, state, count in session.execute(query):
        total.add_metric([kind, state], count)
    yield total


def _durations(session: Session) -> Iterator[Any]:
    """Run time of the last attempt of each finished stage (a histogram with one query)."""
    family = HistogramMetricFamily("hphost_stage_duration_seconds", "Run time of finished stages.",
                                   labels=["stage", "outcome"])
    spent = _seconds(session, Stage.finished_at, Stage.started_at)
    columns = [func.count().filter(spent <= bound) for bound in BUCKETS_S]
    query = (select(Stage.name, Stage.state, func.count(), func.coalesce(func.sum(spent), 0), *columns)
             .where(Stage.state.in_((StageState.SUCCEEDED, StageState.FAILED, StageState.SKIPPED)),
                    Stage.started_at.is_not(None), Stage.finished_at.is_not(None))
             .group_by(Stage.name, Stage.state))
    for name, state, count, total, *cumulative in session.execute(query):
        buckets = [(str(float(b)), int(c)) for b, c in zip(BUCKETS_S, cumulative, strict=True)]
        family.add_metric([name, state], buckets + [("+Inf", int(count))], float(total))
    yield family


def _queues(session: Session) -> Iterator[Any]:
    latency = GaugeMetricFamily("hphost_queue_latency_seconds", "Age of the oldest due queued stage.",
                                labels=["queue"])
    depth = GaugeMetricFamily("hphost_queue_depth", "Queued stages that are due.", labels=["queue"])
    now = utcnow()
    for row in queues(session, now):
        queue = STAGE_QUEUE.get(row.stage, row.stage)
        latency.add_metric([queue], row.latency_s)
        depth.add_metric([queue], row.depth)
    stuck = GaugeMetricFamily("hphost_stuck_stages", "Running stages whose lease expired (not yet taken back).",
                              labels=["stage"])
    expired = (select(Stage.name, func.count()).where(Stage.state == StageState.RUNNING, Stage.lease_expires_at < now)
               .group_by(Stage.name))
    counts = dict(session.execute(expired).all())
    for name in STAGE_QUEUE:
        stuck.add_metric([name], counts.get(name, 0))
    yield latency
    yield depth
    yield stuck


def _audit_counts(session: Session) -> Iterator[Any]:
    actions = {action for action, _ in _AUDIT_COUNTERS.values()} | {"stage.retry"}
    counted = session.execute(select(AuditEvent.action, AuditEvent.stage, func.count())
                              .where(AuditEvent.action.in_(actions)).group_by(AuditEvent.action, AuditEvent.stage))
    by_action: dict[str, dict[str, int]] = {}
    for action, stage, count in counted:
        by_action.setdefault(action, {})[stage or ""] = count
    for name, (action, doc) in _AUDIT_COUNTERS.items():
        family = CounterMetricFamily(name, doc, labels=["stage"])
        for stage, count in sorted(by_action.get(action, {}).items()):
            family.add_metric([stage], count)
        yield family
    retries = CounterMetricFamily("hphost_stage_retries", "Stage retries scheduled, by error code.",
                                  labels=["stage", "code"])
    code = AuditEvent.data["code"].as_string()
    query = (select(AuditEvent.stage, code, func.count()).where(AuditEvent.action == "stage.retry")
             .group_by(AuditEvent.stage, code))
    for stage, error_code, count in session.execute(query):
        retries.add_metric([stage or "", error_code or ""], count)
    yield retries


def _chain(session: Session) -> Iterator[Any]:
    last = last_verification(session)
    verified = GaugeMetricFamily("hphost_audit_chain_verified_timestamp_seconds",
                                 "When the audit's hash chain was last verified (Unix time).")
    intact = GaugeMetricFamily("hphost_audit_chain_ok", "1 if the last verification found the chain intact.")
    if last is not None:
        verified.add_metric([], last.at.timestamp())
        intact.add_metric([], 1.0 if last.data.get("ok") else 0.0)
    yield verified
    yield intact


class ControlDBCollector(Collector):
    """Collects from a fresh transaction per scrape (``transaction``: ``ControlDB.transaction``)."""

    def __init__(self, transaction: Callable[[], AbstractContextManager[Session]],
                 extra: Callable[[Session], Iterator[Any]] | None = None):
        self.transaction, self.extra = transaction, extra

    def collect(self) -> Iterator[Any]:
        with self.transaction() as session:
            parts = [_jobs, _durations, _queues, _audit_counts, _chain, *([self.extra] if self.extra else [])]
            families = [family for part in parts for family in part(session)]
        yield from families
