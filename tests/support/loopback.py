"""Real servers on loopback for the tests: Redis, PostgreSQL, RabbitMQ and moto's S3.

Each runs from Debian's (or PyPI's) binaries, on a port of its own, with its
data under a directory of the test run, and is stopped by its own pid or stop
command — never by name. They can be stopped and restarted by chaos tests.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/nonexistent"))


class ServerMissing(RuntimeError):
    pass


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _need(binary: str | Path) -> str:
    if Path(binary).is_absolute():
        found = str(binary) if Path(binary).exists() else None
    else:
        found = shutil.which(str(binary))
    if not found:
        raise ServerMissing(f"{binary} is not installed: run scripts/install-system-deps")
    return found


def _wait(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not up after {timeout_s} s")


@dataclass
class Server:
    name: str
    port: int
    root: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def data(self) -> Path:
        return self.root / self.name

    @property
    def url(self) -> str:
        raise NotImplementedError

    def is_up(self) -> bool:
        return _port_open(self.port)

    def restart(self) -> None:
        self.stop()
        self.start()

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class RedisServer(Server):
    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        subprocess.run([_need("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--daemonize", "yes",
                        "--pidfile", str(self.data / "redis.pid"), "--dir", str(self.data),
                        "--logfile", str(self.data / "redis.log")], check=True)
        _wait(self.is_up, 20, "redis")

    def stop(self) -> None:
        _kill_pidfile(self.data / "redis.pid")
        _wait(lambda: not self.is_up(), 20, "redis stop")


class PostgresServer(Server):
    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        pg_ctl = _need(PG_BIN / "pg_ctl")
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            _give_to("postgres", self.data)
            self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._as_postgres(pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.data / "pg.log"),
                          "-w", "-t", "60", "start")
        _wait(self.is_up, 30, "postgres")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class RabbitMQServer(Server):
    @property
    def node(self) -> str:
        return f"hphost-test-{self.port}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        self.data.mkdir(parents=True, exist_ok=True)
        plugins = self.data / "enabled_plugins"
        if not plugins.exists():
            plugins.write_text("[].\n")
            # Debian's wrapper runs the server as the rabbitmq user when started by root.
            _give_to("rabbitmq", self.data)
        return {**os.environ, "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_DIST_PORT": str(self.port + 20000), "RABBITMQ_MNESIA_BASE": str(self.data / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.data / "log"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
                "RABBITMQ_CONFIG_FILE": str(self.data / "rabbitmq"), "HOME": str(self.data),
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_PID_FILE": str(self.data / "rabbitmq.pid")}

    def start(self) -> None:
        env = self._env()
        # A detached node can die before it logs a line (seen once in CI, under load, right after a
        # stop: its name still taken, most likely); launched again, it comes up. A launch while the
        # first is only slow fails on the taken name and changes nothing.
        for attempt in range(3):
            subprocess.run([_need("rabbitmq-server"), "-detached"], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                # await_startup fails at once until the node has registered with epmd: poll it.
                _wait(lambda: subprocess.run([_need("rabbitmqctl"), "-n", self.node, "await_startup", "--timeout",
                                              "5"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                             timeout=30).returncode == 0, 40, "rabbitmq")
                return
            except TimeoutError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        # With the pid file, ``stop`` returns once the Erlang VM has exited, not when the
        # applications have: a node started while the old VM lingers finds its name taken.
        subprocess.run([_need("rabbitmqctl"), "-n", self.node, "stop", str(self.data / "rabbitmq.pid")],
                       env=self._env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        _wait(lambda: not self.is_up(), 30, "rabbitmq stop")


class MotoS3Server(Server):
    """moto's S3 server; it keeps objects in memory, so a restart empties it."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        binary = Path(sys.executable).with_name("moto_server")
        with (self.data / "moto.log").open("ab") as log:
            self.process = subprocess.Popen([_need(binary), "-H", "127.0.0.1", "-p", str(self.port)],
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self.is_up, 30, "moto")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        _wait(lambda: not self.is_up(), 20, "moto stop")


def _give_to(user: str, path: Path) -> None:
    """Hand a data directory to the daemon's own user when we are root (daemons refuse root)."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for folder, _dirs, files in os.walk(path):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), entry.pw_uid, entry.pw_gid)


def _kill_pidfile(path: Path) -> None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


DEFAULT_PORTS = {"redis": 16379, "postgres": 15433, "rabbitmq": 15673, "moto": 15000}
CLASSES = {"redis": RedisServer, "postgres": PostgresServer, "rabbitmq": RabbitMQServer, "moto": MotoS3Server}


def make_server(name: str, root: Path) -> Server:
    """The server ``name`` on its port (``HPHOST_TEST_<NAME>_PORT`` overrides), started."""
    port = int(os.environ.get(f"HPHOST_TEST_{name.upper()}_PORT", DEFAULT_PORTS[name]))
    server = CLASSES[name](name, port, root)
    if server.is_up() and server.data.exists():
        server.stop()  # a leftover of an earlier run of ours, stopped by its own command
    if server.is_up():
        raise RuntimeError(f"port {port} for the test {name} is taken; set HPHOST_TEST_{name.upper()}_PORT")
    shutil.rmtree(server.data, ignore_errors=True)
    server.start()
    return server
