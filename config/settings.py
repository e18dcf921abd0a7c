"""Typed settings: one ``HPHOST_`` prefix, built by :func:`get_settings`.

With nothing set, hphost runs on its *embedded default*: a SQLite control
database, a local object-store directory, SQLite base files and kombu's
server-less filesystem transport, all under ``HPHOST_HOME``. Nothing reaches
the network unless a URL says so.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hosting.errors import InvalidSetting
from hosting.formats.limits import Limits


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HPHOST_", extra="ignore", env_nested_delimiter="__")

    home: Path = Field(Path("var"), description="Directory of the embedded default's files.")
    database_url: str = Field("", description="Control DB (SQLAlchemy URL); default SQLite in home.")
    broker_url: str = Field("", description="Celery broker; default kombu filesystem in home.")
    store_url: str = Field("", description="file:///dir or s3://bucket[/prefix]; default home/objects.")
    basedb_url: str = Field("", description="Base databases: sqlite:///dir or postgresql://...")

    s3_endpoint_url: str | None = Field(None, description="S3 endpoint (MinIO, Ceph, moto...).")
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_multipart_chunksize_bytes: int = 16 * 1024 * 1024
    s3_max_concurrency: int = 4
    s3_max_attempts: int = 5
    unpack_put_workers: int = Field(8, description="Small entries (photos, documents) stored at once by unpack.")
    limits: Limits = Field(default_factory=Limits, description=(
        "What a .HHYP or .profils may cost at most (FORMATS.md's defaults), one HPHOST_LIMITS__<NAME> each."))

    secret_key: SecretStr | None = Field(
        None, description="Seals one-time credentials; generated into home when unset."
    )

    lease_s: float = Field(15.0, description="A running stage's lease; renewed by heartbeat.")
    heartbeat_s: float = Field(5.0, description="How often a running stage renews its lease.")
    sweep_interval_s: float = Field(5.0, description="How often the sweeper looks for lost stages.")
    redispatch_after_s: float = Field(
        120.0, description="Re-send a queued stage whose message was not taken within this time."
    )
    max_deliveries: int = Field(5, description="Deliveries of one stage before the job fails.")
    redis_visibility_timeout_s: int = Field(
        6 * 3600, description="Must exceed the longest stage, or Redis redelivers it."
    )
    worker_soft_shutdown_s: float = Field(
        10.0, description="On SIGTERM a worker's running stage may finish within this, then goes to its lease."
    )

    retry_max: int = Field(5, description="Celery retries of a stage on transient errors.")
    retry_backoff_s: float = 2.0
    retry_backoff_max_s: float = 60.0
    call_attempts: int = Field(4, description="tenacity attempts of one call inside a stage.")
    call_wait_max_s: float = 8.0

    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        home = self.home.resolve()
        self.home = home
        if not self.database_url:
            self.database_url = f"sqlite:///{home / 'control.db'}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        if not self.store_url:
            self.store_url = f"file://{home / 'objects'}"
        if not self.basedb_url:
            self.basedb_url = f"sqlite:///{home / 'bases'}"
        return self

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")

    @property
    def broker_folder(self) -> Path:
        return self.home / "broker"

    def describe(self) -> dict[str, str]:
        """Where each part lives, without secrets (for logs and ``hphost info``)."""
        return {
            "home": str(self.home),
            "database": _strip_password(self.database_url),
            "broker": _strip_password(self.broker_url),
            "store": self.store_url,
            "basedb": _strip_password(self.basedb_url),
        }


def _strip_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            return f"{scheme}://***@{rest.split('@', 1)[1]}"
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment; a bad one raises ``INVALID_SETTING``."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]  # (its "msg" never holds the value: it may be a secret)
        name = "HPHOST_" + "__".join(str(part).upper() for part in error["loc"])
        reason = error["msg"].removeprefix("Value error, ")
        raise InvalidSetting(setting=name, reason=reason, where={"setting": name}) from None
