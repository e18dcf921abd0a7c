"""The embedded broker's exchange tables survive workers starting at once (no server needed)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from kombu import Connection, Exchange, Queue

from config.celery import STAGE_QUEUES, celery_config
from config.settings import Settings

WORKERS = 4
ROUNDS = 8


def _bind(home: str, number: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    conf = celery_config(Settings(home=Path(home)))
    exchange = Exchange("hphost", type="direct")
    with Connection("filesystem://", transport_options=conf["broker_transport_options"]) as connection:
        channel = connection.channel()
        barrier.wait(timeout=60)
        for name in (*STAGE_QUEUES, f"pidbox-{number}"):
            Queue(name, exchange, routing_key=name, channel=channel).declare()


def test_workers_binding_at_once_leave_a_whole_exchange_table(tmp_path: Path) -> None:
    # Without the tables made ahead, about one round in two ends with a truncated or doubled table.
    # (spawn: a forked child of this long-lived pytest process would not start as a worker does)
    context = multiprocessing.get_context("spawn")
    for round_number in range(ROUNDS):
        home = tmp_path / f"home-{round_number}"
        barrier = context.Barrier(WORKERS)
        processes = [context.Process(target=_bind, args=(str(home), n, barrier)) for n in range(WORKERS)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [p.exitcode for p in processes] == [0] * WORKERS
        table = json.loads((home / "broker" / "control" / "hphost.exchange").read_text())
        assert len(table) == len(STAGE_QUEUES) + WORKERS, f"round {round_number}: {table}"
        assert not [p.name for p in (home / "broker" / "control").iterdir() if p.name.startswith(".")]
