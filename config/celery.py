"""Celery configuration: queues, routes, acknowledgement and delivery policy."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from kombu import Exchange, Queue

from config.settings import Settings

# The one list of stage queues: each stage's queue, by stage name (workers consume some of them).
STAGE_QUEUE = {"unpack": "unpack", "instantiate": "instantiate", "publish": "publish", "assign": "profils",
               # A base's life after its first day (docs/lifecycle.md): object-store work beside unpack, the
               # grid change's copy beside instantiate, so the existing worker pools run them.
               "export": "unpack", "backup": "unpack", "decrypt": "unpack", "derive": "instantiate"}
STAGE_QUEUES = tuple(dict.fromkeys(STAGE_QUEUE.values()))
CONTROL_QUEUE = "control"
BACKUP_TICK_TASK, BACKUP_TICK_QUEUE = "hphost.backups.tick", "profils"
QUEUES = (*STAGE_QUEUES, CONTROL_QUEUE)
BROKER_CONNECT_TIMEOUT_S = 5.0

# From SIGTERM to exit with the default HPHOST_WORKER_SOFT_SHUTDOWN_S (10 s) and the pool's teardown:
# what supervisors wait before SIGKILL (deploy/systemd TimeoutStopSec, deploy/compose.yaml stop_grace_period).
WORKER_STOP_GRACE_S = 30


def celery_config(settings: Settings) -> dict[str, Any]:
    """Everything Celery needs, derived from the settings; no hidden defaults."""
    exchange = Exchange("hphost", type="direct")
    conf: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": BROKER_CONNECT_TIMEOUT_S,
        "task_queues": [Queue(name, exchange, routing_key=name) for name in QUEUES],
        "task_default_queue": CONTROL_QUEUE,
        "task_default_exchange": "hphost",
        "task_default_routing_key": CONTROL_QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "result_backend": None,
        # At-least-once: a message is acknowledged only once its stage has
        # recorded an outcome; a child killed mid-task gives its message back.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Long stages: a worker holds one message at a time, so nothing waits
        # behind a 20-minute unpack on a busy worker (celery#1933).
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # SIGTERM is a cold shutdown (workers/shutdown.py) preceded by a soft one (Celery 5.5+): a
        # running stage may finish within this, then its message goes back and its lease hands it on.
        "worker_soft_shutdown_timeout": settings.worker_soft_shutdown_s,
        "worker_enable_soft_shutdown_on_idle": False,
        "broker_transport_options": _transport_options(settings),
        # `hphost beat` rings the backup schedule (hosting/backups/schedule.py); the profils queue, whose
        # stages are short, carries the tick, so every installation's workers already take it.
        "beat_schedule": {"backups-tick": {"task": BACKUP_TICK_TASK, "schedule": settings.backup_tick_s,
                                           "options": {"queue": BACKUP_TICK_QUEUE}}},
    }
    return conf


def _transport_options(settings: Settings) -> dict[str, Any]:
    if settings.embedded_broker:
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        _create_exchange_tables(folder / "control")
        # control_folder defaults to ./control in the process's working directory:
        # every embedded home started from one directory would share its exchange table.
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # The stage row's lease (not Redis) detects lost workers; Redis's own
        # redelivery must never fire on a stage that is merely slow (celery#4766).
        # A broker that does not answer is refused after a few seconds (redis-py waits for ever by default).
        return {"visibility_timeout": settings.redis_visibility_timeout_s,
                "socket_connect_timeout": BROKER_CONNECT_TIMEOUT_S}
    return {}


# The exchanges a worker binds queues to at start: ours, remote control's and events'.
EMBEDDED_EXCHANGES = ("hphost", "celery.pidbox", "reply.celery.pidbox", "celeryev")


def _create_exchange_tables(control: Path) -> None:
    """Create each exchange's empty table, atomically, before any worker binds to it.

    kombu's filesystem transport creates a missing table with ``open("wb")``
    before locking it: two workers starting at once truncate and interleave
    their writes, and the next reader fails on a corrupt table. Once the file
    exists, every bind is a locked read-modify-write.
    """
    for exchange in EMBEDDED_EXCHANGES:
        table = control / f"{exchange}.exchange"
        if table.exists():
            continue
        draft = control / f".{exchange}.{os.getpid()}.{uuid.uuid4().hex}"
        draft.write_bytes(b"[]")
        try:
            os.link(draft, table)  # fails if another process created it first: theirs is as good
        except FileExistsError:
            pass
        finally:
            draft.unlink()

