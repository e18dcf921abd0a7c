"""Retry policies as values: one place decides how hphost retries."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from tenacity import retry_if_exception, stop_after_attempt, wait_random_exponential
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

if TYPE_CHECKING:
    from config.settings import Settings


class TenacityKwargs(TypedDict):
    """The arguments of ``tenacity.Retrying`` that :meth:`RetryPolicy.tenacity_kwargs` gives."""

    stop: stop_base
    wait: wait_base
    retry: retry_base
    reraise: bool


@dataclass(frozen=True)
class RetryPolicy:
    """How a stage and a single call are retried: one retry layer per call.

    A stage is retried ``max_retries`` times, counted in its stage row, waiting
    ``backoff_s * 2**n`` capped at ``backoff_max_s``, with equal jitter. A call
    with no retry of its own gets ``call_attempts`` tries (tenacity) waiting at
    most ``call_wait_max_s``; S3 requests are retried by botocore alone.
    """

    max_retries: int = 5
    backoff_s: float = 2.0
    backoff_max_s: float = 60.0
    call_attempts: int = 4
    call_wait_max_s: float = 8.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.retry_max,
            backoff_s=settings.retry_backoff_s,
            backoff_max_s=settings.retry_backoff_max_s,
            call_attempts=settings.call_attempts,
            call_wait_max_s=settings.call_wait_max_s,
        )

    def stage_countdown_s(self, retries_done: int, rng: random.Random | None = None) -> float:
        """Seconds before stage retry number ``retries_done + 1``: exponential with equal jitter
        (uniform between half the ceiling and the ceiling, so retries never bunch at zero)."""
        ceiling = min(self.backoff_max_s, self.backoff_s * (2**retries_done))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def celery_options(self) -> dict[str, object]:
        """The policy in Celery's terms, for ``app.task(**options)``.

        The stage row counts attempts and the broker only rings: Celery may
        re-send a stage's message any number of times (``max_retries=None`` on
        the task; ``task.retry(max_retries=None)`` would mean "the task's default").
        """
        return {"max_retries": None}

    def tenacity_kwargs(self, is_transient: Callable[[BaseException], bool]) -> TenacityKwargs:
        """tenacity's arguments for one call inside a stage."""
        return {
            "stop": stop_after_attempt(self.call_attempts),
            "wait": wait_random_exponential(multiplier=0.2, max=self.call_wait_max_s),
            "retry": retry_if_exception(is_transient),
            "reraise": True,
        }
