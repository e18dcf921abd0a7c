"""A whole hphost installation for tests: settings, a client and real worker processes.

``embedded`` is the server-less default (filesystem broker, SQLite, local store);
``redis`` and ``rabbitmq`` use the test servers (PostgreSQL and moto S3 for both).
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from cryptography.fernet import Fernet

from config.settings import Settings
from console.client import Client
from console.worker_pool import WorkerProcess
from hosting.runtime import Runtime, set_up

HOSTING = "123456789012"  # the tests' hosting number
SAMPLES = Path(__file__).parents[1] / "samples"

# Short leases and retries so crash recovery and retries are observable in seconds.
FAST = {
    "HPHOST_LEASE_S": "6",
    "HPHOST_HEARTBEAT_S": "1.5",
    "HPHOST_SWEEP_INTERVAL_S": "1",
    "HPHOST_REDISPATCH_AFTER_S": "20",
    "HPHOST_RETRY_MAX": "4",
    "HPHOST_RETRY_BACKOFF_S": "0.5",
    "HPHOST_RETRY_BACKOFF_MAX_S": "2",
    "HPHOST_CALL_ATTEMPTS": "3",
    "HPHOST_CALL_WAIT_MAX_S": "0.5",
    "HPHOST_S3_MAX_ATTEMPTS": "6",  # botocore's attempts are an S3 call's only retries
    "HPHOST_MAX_DELIVERIES": "3",
    "HPHOST_LOG_LEVEL": "INFO",
    # An operator's limit, below the default 200,000 and above every base the tests load but one.
    "HPHOST_LIMITS__MAX_ENTRIES": "5000",
}


@dataclass
class Stack:
    name: str
    home: Path
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)
    _client: Client | None = None
    _started: int = 0

    def settings(self) -> Settings:
        values: dict[str, Any] = {}
        for key, value in self.env.items():
            if key.startswith("HPHOST_"):
                *outer, name = key.removeprefix("HPHOST_").lower().split("__")  # (LIMITS__MAX_ENTRIES: nested)
                target = values
                for part in outer:
                    target = target.setdefault(part, {})
                target[name] = value
        return Settings(**values)

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.settings(), actor="test")
        return self._client

    def create_hosting(self, number: str = HOSTING) -> None:
        """The hosting account ``number``, as ``hphost hosting create`` makes it."""
        from hosting.plannings import create_hosting

        with self.client.rt.db.transaction() as session:
            create_hosting(session, number, actor="test")

    def new_planning(self, *, net: bool = True, hosting: str = HOSTING) -> str:
        """A new planning (and its hosting, the first time) with domains of its own."""
        from hosting.db.models import Hosting
        from hosting.plannings import PlanningSettings, create_hosting, create_planning

        tag = uuid.uuid4().hex[:8]
        with self.client.rt.db.transaction() as session:
            if session.get(Hosting, hosting) is None:
                create_hosting(session, hosting, actor="test")
            return create_planning(session, hosting, PlanningSettings(
                name=f"P-{tag}", domain=f"{tag}.edt.example.edu", controller_domain="ctl.example.edu",
                associate_net=net), actor="test").id

    def start_workers(self, count: int = 1, concurrency: int = 2, **kwargs: object) -> list[WorkerProcess]:
        started = []
        for _ in range(count):
            self._started += 1  # a replacement must not take a live worker's node name
            name = f"{self.name}-{self._started - 1}"
            worker = WorkerProcess(name, self.home / "logs" / f"{name}.log", env=self.env,
                                   concurrency=concurrency, **kwargs)  # type: ignore[arg-type]
            self.workers.append(worker.start())
            started.append(worker)
        for worker in started:
            worker.wait_ready(120)
        return started

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop(timeout_s=5)  # a test's teardown: no running stage worth waiting for
        self.workers.clear()

    def close(self) -> None:
        """Stop the workers and release the client's connections."""
        self.stop_workers()
        if self._client is not None:
            self._client.close()
            self._client = None

    def worker_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted((self.home / "logs").glob("*.log")))


def embedded_stack(home: Path) -> Stack:
    return Stack("embedded", home, {"HPHOST_HOME": str(home), **FAST})


def server_stack(name: str, home: Path, *, broker_url: str, postgres_url: str, s3_endpoint: str) -> Stack:
    """A stack on the test servers, with its own database and bucket."""
    suffix = uuid.uuid4().hex[:10]
    database = f"hphost_{suffix}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    db_url = admin.rsplit("/", 1)[0] + f"/{database}"
    env = {
        "HPHOST_HOME": str(home),
        "HPHOST_BROKER_URL": broker_url,
        "HPHOST_DATABASE_URL": db_url,
        "HPHOST_BASEDB_URL": db_url,
        "HPHOST_STORE_URL": f"s3://hphost-{suffix}",
        "HPHOST_S3_ENDPOINT_URL": s3_endpoint,
        "HPHOST_S3_ACCESS_KEY_ID": "testing",
        "HPHOST_S3_SECRET_ACCESS_KEY": "testing",
        "HPHOST_SECRET_KEY": Fernet.generate_key().decode(),  # required with a server control DB
        "HPHOST_BACKUP_KEYS": "k1=" + base64.b64encode(os.urandom(32)).decode(),  # required too
        **FAST,
    }
    stack = Stack(name, home, env)
    runtime = Runtime(stack.settings())
    set_up(runtime)  # what `hphost setup` does: the schema (no other command migrates PostgreSQL), the bucket
    runtime.db.dispose()
    return stack


def stack_of(kind: str, home: Path, request: Any) -> Stack:
    """``embedded``, or a stack on the test servers with ``kind``'s broker (``redis``, ``rabbitmq``)."""
    if kind == "embedded":
        return embedded_stack(home)
    return server_stack(kind, home, broker_url=request.getfixturevalue(f"{kind}_server").url,
                        postgres_url=request.getfixturevalue("postgres_server").url,
                        s3_endpoint=request.getfixturevalue("moto_server").url)


@contextmanager
def running(built: Stack, home: Path, *, hosting: str | None = HOSTING) -> Iterator[Stack]:
    """The stack with its hosting (unless None) and one worker (two pool children); closed and removed after."""
    if hosting is not None:
        built.create_hosting(hosting)
    built.start_workers(1, concurrency=2)
    try:
        yield built
    finally:
        built.close()
        shutil.rmtree(home, ignore_errors=True)
