"""A job's stage timeline (a Gantt) from its audit trail: queue waits, each attempt a bar, and the marks.

Each transition writes an audit row in the transaction that makes it, so the trail is the stage's history:
a bar opens at ``stage.running`` and closes at the event that ends that attempt; a queue wait opens when
the stage is queued (first, after a retry, after the sweeper took back an expired lease) and closes at the
next claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hosting.db.models import AuditEvent, Job, Stage, utcnow

# What ends an attempt, and what the bar then says.
_ENDS = {"stage.succeeded": "succeeded", "stage.skipped": "skipped", "stage.retry": "retried",
         "stage.failed": "failed", "stage.lease_expired": "lease expired", "job.cancelled": "cancelled"}
# What queues a stage (a wait begins).
_QUEUES = ("job.queued", "stage.queued", "job.retried", "stage.retry", "stage.lease_expired")
# Marks drawn on the stage's line.
_MARKS = {"stage.lease_expired": "lease expired; the sweeper re-queued it", "stage.redispatched": "re-sent",
          "job.retried": "operator retry", "job.cancel_requested": "cancel requested"}


@dataclass
class Bar:
    stage: str
    kind: str  # "queue" or "run"
    start: datetime
    end: datetime
    outcome: str  # for a run: running, succeeded, failed, retried, lease expired...
    actor: str = ""
    left: float = 0.0  # percent of the job's span, for the page
    width: float = 0.0


@dataclass
class Mark:
    stage: str
    at: datetime
    label: str
    left: float = 0.0


@dataclass
class Timeline:
    start: datetime
    end: datetime
    lanes: list[str]
    bars: list[Bar] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    def lane(self, stage: str) -> tuple[list[Bar], list[Mark]]:
        return [b for b in self.bars if b.stage == stage], [m for m in self.marks if m.stage == stage]


def _stage_of(event: AuditEvent, first: str) -> str | None:
    if event.action == "job.queued":
        return first
    if event.action == "job.retried":
        return str(event.data.get("from_stage") or first)
    return event.stage


def _walk(events: list[AuditEvent], names: list[str], now: datetime) -> tuple[list[Bar], list[Mark]]:
    bars: list[Bar] = []
    marks: list[Mark] = []
    waiting: dict[str, datetime] = {}
    running: dict[str, tuple[datetime, str]] = {}
    for event in events:
        stage = _stage_of(event, names[0]) if names else event.stage
        targets = list(running) if event.action == "job.cancelled" else [stage] if stage else []
        for name in targets:
            if event.action in _ENDS and name in running:
                started, actor = running.pop(name)
                bars.append(Bar(name, "run", started, event.at, _ENDS[event.action], actor))
            if event.action == "job.cancelled" and name in waiting:
                bars.append(Bar(name, "queue", waiting.pop(name), event.at, "cancelled"))
        if stage is None:
            continue
        if event.action == "stage.running":
            if stage in waiting:
                bars.append(Bar(stage, "queue", waiting.pop(stage), event.at, "waited"))
            running[stage] = (event.at, event.actor)
        if event.action in _QUEUES:
            waiting.setdefault(stage, event.at)
        if event.action in _MARKS:
            marks.append(Mark(stage, event.at, _MARKS[event.action]))
    bars += [Bar(name, "run", at, now, "running", actor) for name, (at, actor) in running.items()]
    bars += [Bar(name, "queue", at, now, "waiting") for name, at in waiting.items()]
    return bars, marks


def build_timeline(job: Job, stages: list[Stage], events: list[AuditEvent]) -> Timeline:
    """The bars and marks of ``job``, placed in percent of its span (first event to its end, or now)."""
    names = [s.name for s in stages]
    now = job.finished_at or utcnow()
    bars, marks = _walk(events, names, now)
    start = min([job.created_at, *(b.start for b in bars)])
    end = max([now, *(b.end for b in bars), *(m.at for m in marks)])
    span = max((end - start).total_seconds(), 1e-3)
    for bar in bars:
        bar.left = 100 * (bar.start - start).total_seconds() / span
        bar.width = max(0.4, 100 * (bar.end - bar.start).total_seconds() / span)
    for mark in marks:
        mark.left = 100 * (mark.at - start).total_seconds() / span
    return Timeline(start, end, names, sorted(bars, key=lambda b: b.start), marks)
