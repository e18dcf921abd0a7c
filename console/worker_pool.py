"""Starting and stopping real ``celery worker`` processes (for ``hphost demo`` and the tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from config.celery import STAGE_QUEUES, WORKER_STOP_GRACE_S


def worker_argv(queues: tuple[str, ...] | list[str], concurrency: int, name: str, *, quiet: bool = False) -> list[str]:
    """The command of one ``celery worker`` on the stage ``queues`` (run it with :func:`worker_env`)."""
    return [sys.executable, "-m", "celery", "-A", "workers.app", *(["--quiet"] if quiet else []), "worker",
            "-Q", ",".join(queues), "-c", str(concurrency), "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"]


def worker_env(base: dict[str, str], *, sweeper: bool) -> dict[str, str]:
    """``base`` plus what a worker needs before its interpreter starts (see workers/shutdown.py)."""
    from workers.shutdown import SIGNAL_ENV

    return {**base, **SIGNAL_ENV, "HPHOST_WORKER_SWEEPER": "1" if sweeper else "0"}


@dataclass
class WorkerProcess:
    """One ``celery worker`` (main process + prefork children), logging JSON to ``log_path``."""

    name: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    queues: tuple[str, ...] = STAGE_QUEUES
    concurrency: int = 2
    sweeper: bool = True
    process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return worker_argv(self.queues, self.concurrency, self.name, quiet=True)

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = worker_env({**os.environ, **self.env}, sweeper=self.sweeper)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            env=env, start_new_session=True)
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the worker says it is ready; raise if it died or took too long."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited; see {self.log_path}")
            if self.log_path.exists() and b" ready." in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker {self.name} not ready after {timeout_s} s; see {self.log_path}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        """Pids of the prefork pool's children."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and children, as a crash would."""
        if self.process is not None and self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout_s: float = WORKER_STOP_GRACE_S) -> None:
        """SIGTERM (a running stage is handed back, see workers/shutdown.py), then SIGKILL if it lingers."""
        if self.process is None or not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
