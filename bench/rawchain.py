"""The raw baseline of bench/pipeline.py: a plain Celery chain doing a create_base's work, no bookkeeping.

    celery -A bench.rawchain worker -Q rawbench -c 2   (bench/pipeline.py starts it)

Same broker, same settings as hphost's workers (``config.celery.celery_config``: acks_late, prefetch 1,
reject on worker lost), one queue. ``build`` does instantiate's work for an empty grid (the base
schema built and renamed into place); ``done`` is publish skipped: it pushes (base id, time) to a Redis
list, which is how the bench learns a chain ended without a result backend.
"""

from __future__ import annotations

import functools
import json
import os
import time

import redis
from celery import Celery
from kombu import Exchange, Queue

from config.celery import celery_config
from config.settings import Settings, get_settings
from hosting.basedb import open_basedbs
from hosting.basedb.base import TABLES

QUEUE = "rawbench"
DONE_LIST = "rawbench:done"
META = {"time_grid": {"weeks": 44}, "base_name": ""}

app = Celery("rawbench")


def configure(target: Celery, settings: Settings) -> Celery:
    """hphost's Celery settings for ``settings``, on one queue of the raw chains' own."""
    target.conf.update({**celery_config(settings), "task_queues": [Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE)],
                        "task_default_queue": QUEUE, "task_default_exchange": QUEUE,
                        "task_default_routing_key": QUEUE})
    return target


def sender(settings: Settings) -> Celery:
    """An app of the bench's own on the stack's broker (the module's app keeps the connection it made first)."""
    return configure(Celery("rawbench-sender"), settings)


configure(app, get_settings())


@app.task(name="rawbench.build", acks_late=True, reject_on_worker_lost=True)
def build(base_id: str) -> None:
    open_basedbs(get_settings()).build(base_id, META, [(table, ()) for table in TABLES])


@app.task(name="rawbench.done", acks_late=True, reject_on_worker_lost=True)
def done(base_id: str) -> None:
    """The second task (publish, skipped for a planning not on HYPERPLANNING.net): says the chain ended."""
    _redis().rpush(DONE_LIST, json.dumps([base_id, time.time()]))


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["RAWBENCH_REDIS_URL"])
