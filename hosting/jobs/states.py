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

# (from, to): the function that makes the transition.
JOB_TRANSITIONS = {
    (JobState.QUEUED, JobState.RUNNING): "lifecycle.claim",
    (JobState.RUNNING, JobState.SUCCEEDED): "lifecycle.finish_job",
    (JobState.RUNNING, JobState.FAILED): "lifecycle.fail_job (STALE_JOB too)",
    (JobState.QUEUED, JobState.CANCELLED): "control.finalize_cancel",
    (JobState.RUNNING, JobState.CANCELLED): "control.finalize_cancel",
    (JobState.FAILED, JobState.CANCELLED): "control.finalize_cancel",
    (JobState.FAILED, JobState.QUEUED): "control.retry",
}
STAGE_TRANSITIONS = {
    (StageState.PENDING, StageState.QUEUED): "lifecycle.complete (the previous stage's)",
    (StageState.QUEUED, StageState.RUNNING): "lifecycle.claim",
    (StageState.RUNNING, StageState.RUNNING): "lifecycle.claim (lease expired)",
    (StageState.RUNNING, StageState.QUEUED): "lifecycle.schedule_retry, sweeper (lease expired)",
    (StageState.RUNNING, StageState.SUCCEEDED): "lifecycle.complete",
    (StageState.RUNNING, StageState.SKIPPED): "lifecycle.complete",
    (StageState.RUNNING, StageState.FAILED): "lifecycle.fail_job",
    (StageState.PENDING, StageState.CANCELLED): "control.finalize_cancel",
    (StageState.QUEUED, StageState.CANCELLED): "control.finalize_cancel",
    (StageState.RUNNING, StageState.CANCELLED): "control.finalize_cancel",
    (StageState.FAILED, StageState.QUEUED): "control.retry (the stage it restarts from)",
    (StageState.SUCCEEDED, StageState.PENDING): "control.retry (the stages after it)",
}
BASE_TRANSITIONS = {
    (BaseState.LOADING, BaseState.READY): "pipeline.instantiate",
    (BaseState.READY, BaseState.IN_SERVICE): "lifecycle.finish_job",
    (BaseState.IN_SERVICE, BaseState.RETIRED): "lifecycle.finish_job (the planning's previous base)",
    (BaseState.LOADING, BaseState.FAILED): "lifecycle.fail_job, control.finalize_cancel",
    (BaseState.READY, BaseState.FAILED): "lifecycle.fail_job, control.finalize_cancel",
    (BaseState.FAILED, BaseState.LOADING): "control.retry",
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
