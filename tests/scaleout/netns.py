"""Machines as Linux network namespaces: servers in one, workers in others, each with a disk of its own.

Every namespace is joined to a bridge inside the servers' namespace by a veth pair on a private /24 of
its own; the test process gets one address there too (a veth in its own namespace) to enqueue and
check. Cutting a machine is ``ip link set … down`` on its side of the pair. Everything made here is
named ``hp<tag>-…`` and removed by :meth:`Network.remove`, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SERVERS = "srv"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass
class Network:
    """Namespaces ``hp<tag>-<name>``; ``address(name)`` is ``10.<subnet>.0.<n>`` (the servers: .1)."""

    tag: str
    subnet: int
    machines: list[str]
    made: list[str] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"hp{self.tag}br"

    def namespace(self, name: str) -> str:
        return f"hp{self.tag}-{name}"

    def address(self, name: str) -> str:
        index = 1 if name == SERVERS else 254 if name == "console" else 10 + self.machines.index(name)
        return f"10.{self.subnet}.0.{index}"

    def veth(self, name: str) -> str:
        return f"hp{self.tag}{name[:4]}"  # the machine's side (15 characters at most)

    def create(self) -> Network:
        servers = self.namespace(SERVERS)
        self._netns(servers)
        ip("-n", servers, "link", "add", self.bridge, "type", "bridge")
        ip("-n", servers, "addr", "add", f"{self.address(SERVERS)}/24", "dev", self.bridge)
        ip("-n", servers, "link", "set", self.bridge, "up")
        for name in self.machines:
            self._netns(self.namespace(name))
            self._join(name, self.namespace(name))
        self._join("console", None)
        return self

    def _netns(self, namespace: str) -> None:
        ip("netns", "add", namespace)
        self.made.append(namespace)
        ip("-n", namespace, "link", "set", "lo", "up")

    def _join(self, name: str, namespace: str | None) -> None:
        """A veth pair: the machine's end in ``namespace`` (None: the test's own), the other on the bridge."""
        near, far = self.veth(name), f"hp{self.tag}{name[:4]}b"
        ip("link", "add", near, "type", "veth", "peer", "name", far)
        if namespace is None:
            self.made.append(near)
        ip("link", "set", far, "netns", self.namespace(SERVERS))
        ip("-n", self.namespace(SERVERS), "link", "set", far, "master", self.bridge, "up")
        prefix = ["-n", namespace] if namespace else []
        if namespace:
            ip("link", "set", near, "netns", namespace)
        ip(*prefix, "addr", "add", f"{self.address(name)}/24", "dev", near)
        ip(*prefix, "link", "set", near, "up")

    def cut(self, name: str, up: bool) -> None:
        """Unplug (``up=False``) or plug back the machine ``name``."""
        ip("-n", self.namespace(name), "link", "set", self.veth(name), "up" if up else "down")

    def run_in(self, name: str, argv: list[str], *, hostname: str | None = None) -> list[str]:
        """``argv`` run in the namespace of ``name`` (and a UTS namespace named ``hostname``)."""
        inner = argv
        if hostname:
            inner = ["unshare", "--uts", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh", *argv]
        return ["ip", "netns", "exec", self.namespace(name), *inner]

    def remove(self) -> None:
        for item in reversed(self.made):
            if item.startswith(f"hp{self.tag}-"):
                subprocess.run(["ip", "netns", "del", item], capture_output=True, timeout=30)
            else:
                subprocess.run(["ip", "link", "del", item], capture_output=True, timeout=30)
        self.made.clear()


def available() -> str | None:
    """Why the rehearsal cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    for tool in ("ip", "unshare", "redis-server"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def private_dir(root: Path, name: str) -> Path:
    """A machine's own disk: its HPHOST_HOME and TMPDIR live here and nowhere else."""
    path = root / name
    (path / "tmp").mkdir(parents=True, exist_ok=True)
    return path
