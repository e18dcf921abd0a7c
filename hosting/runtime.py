"""The process's connections to its parts, made once, lazily, and remade after a fork."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from config.errors import SettingError
from config.settings import Settings, get_settings
from hosting.basedb import open_basedbs
from hosting.basedb.base import BaseDatabases
from hosting.db.session import ControlDB
from hosting.errors import InvalidSetting, PermanentError, TransientError
from hosting.store import ObjectStore, open_store


@dataclass
class Runtime:
    settings: Settings
    pid: int = field(default_factory=os.getpid)

    @cached_property
    def db(self) -> ControlDB:
        return ControlDB(self.settings.database_url)

    @cached_property
    def store(self) -> ObjectStore:
        return open_store(self.settings)

    @cached_property
    def basedbs(self) -> BaseDatabases:
        return open_basedbs(self.settings)

    @cached_property
    def token_key(self) -> bytes:
        """The key of the API tokens' hashes (derived from the secret key)."""
        from hosting.sealing import secret_key
        from hosting.tokens import hmac_key

        return hmac_key(secret_key(self.settings))


class BrokerUnavailable(TransientError):
    """The broker at {broker} cannot be reached ({reason}); job {job_id} stays queued, sent again by a worker's sweeper once the broker is back (or cancel it: hphost jobs cancel {job_id})."""  # noqa: E501

    code = "BROKER_UNAVAILABLE"

    @classmethod
    def of(cls, settings: Settings, job_id: str, exc: BaseException) -> BrokerUnavailable:
        broker = broker_server(settings.broker_url)
        reason = f"{type(exc).__name__}: {str(exc).strip()[:160]}"
        password = urlsplit(settings.broker_url.split(";")[0]).password
        if password:
            reason = reason.replace(password, "***")
        return cls(broker=broker, reason=reason, job_id=job_id, where={"broker": broker, "job_id": job_id})


_BROKER_PORTS = {"redis": 6379, "rediss": 6380, "amqp": 5672, "pyamqp": 5672, "amqps": 5671}


def broker_server(url: str) -> str:
    """host:port of the (first) broker, for messages; never its password."""
    parts = urlsplit(url.split(";")[0])
    if parts.scheme == "filesystem":
        return "the filesystem broker"
    return f"{parts.hostname or 'localhost'}:{parts.port or _BROKER_PORTS.get(parts.scheme, '?')}"


class MultiMachineUnsafe(PermanentError):
    """This worker shares its control database and broker with other machines but keeps {parts} on this machine's disk, where a stage run elsewhere cannot read them: use PostgreSQL base databases and an s3:// store, or set HPHOST_SINGLE_MACHINE=true if every worker runs on this machine."""  # noqa: E501

    code = "MULTI_MACHINE_UNSAFE"


def machine_local_parts(settings: Settings) -> list[str]:
    """Settings keeping a stage's output on this machine's disk while the control DB and the broker are shared."""
    shared = settings.database_url.startswith("postgresql") and not settings.embedded_broker
    if not shared or settings.single_machine:
        return []
    local = {"HPHOST_STORE_URL": settings.store_url.startswith("file:"),
             "HPHOST_BASEDB_URL": settings.basedb_url.startswith("sqlite")}
    return [name for name, on_this_disk in local.items() if on_this_disk]


def refuse_multi_machine_unsafe(settings: Settings) -> None:
    """What ``hphost worker`` checks before it starts (docs/performance.md, "Many machines")."""
    parts = machine_local_parts(settings)
    if parts:
        raise MultiMachineUnsafe(parts=" and ".join(parts), where={"settings": parts})


def set_up(rt: Runtime) -> None:
    """``hphost setup``: the home directory, the control DB's schema, the S3 bucket; idempotent."""
    from hosting.db.migrate import ensure_schema

    rt.settings.home.mkdir(parents=True, exist_ok=True)
    ensure_schema(rt.db, migrate=True)
    ensure_bucket = getattr(rt.store, "ensure_bucket", None)
    if ensure_bucket is not None:
        ensure_bucket()
    rt.basedbs  # noqa: B018 (opening the base databases makes their folder)


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """This process's runtime; a forked child never reuses its parent's connections."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        try:
            settings = get_settings()
        except SettingError as refused:
            raise InvalidSetting.of(refused) from None
        _runtime = Runtime(settings)
    return _runtime
