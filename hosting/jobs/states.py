"""Every state of a job, of its stages and of its base, and every transition between them.

The values are the strings stored in the control database and shown in JSON outputs.
``hosting.jobs.lifecycle`` (a worker's claim, completion, retry, failure) and
``hosting.jobs.control`` (an operator's cancel and retry) make the transitions listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StageState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BaseState(StrEnum):
    LOADING = "loading"
    READY = "ready"
    IN_SERVICE = "in_service"
    RETIRED = "retired"
    FAILED = "failed"


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)
FINAL_JOB_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
OPEN_STAGE_STATES = (StageState.PENDING, StageState.QUEUED, StageState.RUNNING)
DONE_STAGE_STATES = (StageState.SUCCEEDED, StageState.SKIPPED)

J, S, B = JobState, StageState, BaseState

# Who makes each transition (from, to): the function, and the transitions it makes.
JOB_TRANSITIONS: dict[str, tuple[tuple[JobState, JobState], ...]] = {
    "lifecycle.claim": ((J.QUEUED, J.RUNNING),),
    "lifecycle.finish_job": ((J.RUNNING, J.SUCCEEDED),),
    "lifecycle.fail_job (STALE_JOB too)": ((J.RUNNING, J.FAILED),),
    "control.finalize_cancel": ((J.QUEUED, J.CANCELLED), (J.RUNNING, J.CANCELLED), (J.FAILED, J.CANCELLED)),
    "control.retry": ((J.FAILED, J.QUEUED),),
}
STAGE_TRANSITIONS: dict[str, tuple[tuple[StageState, StageState], ...]] = {
    "lifecycle.complete (of the previous stage)": ((S.PENDING, S.QUEUED),),
    "lifecycle.claim (again once the lease expired)": ((S.QUEUED, S.RUNNING), (S.RUNNING, S.RUNNING)),
    "lifecycle.schedule_retry, sweeper (lease expired)": ((S.RUNNING, S.QUEUED),),
    "lifecycle.complete": ((S.RUNNING, S.SUCCEEDED), (S.RUNNING, S.SKIPPED)),
    "lifecycle.fail_job": ((S.RUNNING, S.FAILED),),
    "control.finalize_cancel": ((S.PENDING, S.CANCELLED), (S.QUEUED, S.CANCELLED), (S.RUNNING, S.CANCELLED)),
    "control.retry (the stage it restarts from; the stages after it)": ((S.FAILED, S.QUEUED),
                                                                       (S.SUCCEEDED, S.PENDING)),
}
BASE_TRANSITIONS: dict[str, tuple[tuple[BaseState, BaseState], ...]] = {
    "pipeline.instantiate": ((B.LOADING, B.READY),),
    "lifecycle.finish_job (the new base; the planning's previous one)": ((B.READY, B.IN_SERVICE),
                                                                         (B.IN_SERVICE, B.RETIRED)),
    "lifecycle.fail_job, control.finalize_cancel": ((B.LOADING, B.FAILED), (B.READY, B.FAILED)),
    "control.retry": ((B.FAILED, B.LOADING),),
}


class ClaimRefusal(StrEnum):
    """Why a delivery does not run its stage (it is acknowledged and ignored)."""

    ALREADY_DONE = "already_done"
    RUNNING_ELSEWHERE = "running_elsewhere"
    JOB_FINAL = "job_final"
    NOT_QUEUED = "not_queued"
    UNKNOWN = "unknown"


class Completion(StrEnum):
    """What recording a stage's success led to."""

    NEXT = "next"  # the following stage is queued: dispatch it
    FINISHED = "finished"  # the job succeeded
    LOST = "lost"  # the lease was lost meanwhile; nothing was written
    CANCELLED = "cancelled"  # an operator cancelled the job meanwhile; its outputs are to be discarded
    STALE = "stale"  # a newer base went into service: the job failed with STALE_JOB, outputs to discard


@dataclass(frozen=True)
class Completed:
    outcome: Completion
    next_stage: str | None = None  # with Completion.NEXT


class RetryDecision(StrEnum):
    SCHEDULED = "scheduled"
    EXHAUSTED = "exhausted"
    LOST = "lost"


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # the job stopped here: discard its outputs now
    CANCELLING = "cancelling"  # a running stage stops at its next checkpoint and does the rest


class Delivery(StrEnum):
    """What became of one delivery of a stage (the Celery task's return value)."""

    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LEASE_LOST = "lease_lost"
    LEASE_ABANDONED = "lease_abandoned"
