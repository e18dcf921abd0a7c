"""The rehearsal's machines: PostgreSQL, Redis and moto's S3 in the servers' namespace, workers in theirs."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

from console.worker_pool import WorkerProcess
from tests.scaleout.netns import SERVERS, Network, private_dir
from tests.support.loopback import PG_BIN, _give_to, _kill_pidfile, _wait

PG_PORT, REDIS_PORT, S3_PORT = 5432, 6379, 5000
# The same keys on every machine, as a deployment's secrets are.
KEYS = {"HPHOST_SECRET_KEY": Fernet.generate_key().decode(),
        "HPHOST_BACKUP_KEYS": "k1=" + base64.b64encode(os.urandom(32)).decode()}


@dataclass
class ServersMachine:
    network: Network
    root: Path
    moto: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return self.network.address(SERVERS)

    @property
    def data(self) -> Path:
        return private_dir(self.root, SERVERS)

    def _in(self, argv: list[str], **kwargs: object) -> None:
        subprocess.run(self.network.run_in(SERVERS, argv), check=True, capture_output=True, timeout=120,
                       **kwargs)  # type: ignore[call-overload]

    def start(self) -> None:
        pg = self.data / "pg"
        pg.mkdir(parents=True, exist_ok=True)
        self.data.chmod(0o755)
        _give_to("postgres", pg)
        self._in(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(pg), "-A", "trust",
                  "-U", "postgres"])
        with (pg / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all 10.{self.network.subnet}.0.0/24 trust\n")
        options = (f"-p {PG_PORT} -c listen_addresses={self.host} -c unix_socket_directories={pg} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._in(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(pg), "-o", options,
                  "-l", str(pg / "pg.log"), "-w", "-t", "60", "start"])
        self._in(["redis-server", "--port", str(REDIS_PORT), "--bind", self.host, "--protected-mode", "no",
                  "--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile",
                  str(self.data / "redis.pid"), "--dir", str(self.data), "--logfile", str(self.data / "redis.log")])
        with (self.data / "moto.log").open("ab") as log:
            self.moto = subprocess.Popen(
                self.network.run_in(SERVERS, [str(Path(sys.executable).with_name("moto_server")), "-H", self.host,
                                              "-p", str(S3_PORT)]),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for port in (PG_PORT, REDIS_PORT, S3_PORT):
            _wait(lambda port=port: _port_open_at(self.host, port), 60, f"server port {port}")
        with psycopg.connect(f"postgresql://postgres@{self.host}:{PG_PORT}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE hphost")

    def stop(self) -> None:
        if self.moto is not None and self.moto.poll() is None:
            self.moto.send_signal(signal.SIGTERM)
            self.moto.wait(timeout=20)
        _kill_pidfile(self.data / "redis.pid")
        if (self.data / "pg" / "postmaster.pid").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data / "pg"),
                            "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)

    def env(self) -> dict[str, str]:
        """What every machine's hphost is configured with: servers only, nothing on a shared disk."""
        database = f"postgresql://postgres@{self.host}:{PG_PORT}/hphost"
        return {"HPHOST_DATABASE_URL": database, "HPHOST_BASEDB_URL": database,
                "HPHOST_BROKER_URL": f"redis://{self.host}:{REDIS_PORT}/0", "HPHOST_STORE_URL": "s3://hphost",
                "HPHOST_S3_ENDPOINT_URL": f"http://{self.host}:{S3_PORT}", "HPHOST_S3_ACCESS_KEY_ID": "testing",
                "HPHOST_S3_SECRET_ACCESS_KEY": "testing", **KEYS}


def _port_open_at(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class MachineWorker(WorkerProcess):
    """A ``celery worker`` run inside a machine's namespace, under that machine's host name."""

    network: Network
    machine: str

    def command(self) -> list[str]:
        return self.network.run_in(self.machine, super().command(), hostname=self.machine)


def machine_worker(network: Network, machine: str, root: Path, env: dict[str, str], queues: tuple[str, ...],
                   concurrency: int = 2) -> MachineWorker:
    disk = private_dir(root, machine)
    worker = MachineWorker(machine, disk / "worker.log", env={**env, "HPHOST_HOME": str(disk / "home"),
                                                               "TMPDIR": str(disk / "tmp")},
                           queues=queues, concurrency=concurrency)
    worker.network, worker.machine = network, machine
    return worker
