"""The backup schedule's tick, rung by Celery beat (``hphost beat``); the work is in hosting.backups."""

from __future__ import annotations

import os
import socket

from config.celery import BACKUP_TICK_QUEUE, BACKUP_TICK_TASK
from config.logging import get_logger
from hosting.backups.schedule import tick
from hosting.db.models import utcnow
from hosting.runtime import get_runtime
from tasks.dispatch import dispatch
from workers.app import app

log = get_logger("hphost.backups")


@app.task(name=BACKUP_TICK_TASK, queue=BACKUP_TICK_QUEUE, acks_late=True, ignore_result=True)
def backups_tick() -> dict:
    rt = get_runtime()
    done = tick(rt, now=utcnow(), owner=f"{socket.gethostname()}:{os.getpid()}",
                ring=lambda job_id, stage: dispatch(job_id, stage, settings=rt.settings))
    log.info("backups_tick", **done)
    return done
