"""Which domain function runs which stage."""

from __future__ import annotations

from collections.abc import Callable

from hosting.pipeline.assign import assign
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.instantiate import instantiate
from hosting.pipeline.publish import publish
from hosting.pipeline.unpack import unpack

STAGE_FUNCTIONS: dict[str, Callable[[StageContext], StageOutcome]] = {
    "unpack": unpack,
    "instantiate": instantiate,
    "publish": publish,
    "assign": assign,
}
