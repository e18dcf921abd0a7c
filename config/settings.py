"""Typed settings: one ``HPHOST_`` prefix, built by :func:`get_settings`.

With nothing set, hphost runs on its *embedded default*: a SQLite control
database, a local object-store directory, SQLite base files and kombu's
server-less filesystem transport, all under ``HPHOST_HOME``. Nothing reaches
the network unless a URL says so.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import SettingError
from config.limits import Limits

# Each URL setting and the schemes its adapter speaks (an empty value takes the embedded default).
URL_SCHEMES = {
    "database_url": ("sqlite", "postgresql", "postgresql+psycopg"),
    "broker_url": ("filesystem", "redis", "rediss", "amqp", "amqps", "pyamqp"),
    "store_url": ("file", "s3"),
    "basedb_url": ("sqlite", "postgresql", "postgresql+psycopg"),
    "s3_endpoint_url": ("http", "https"),
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
GENERATE_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
GENERATE_BACKUP_KEY = "python -c 'import os, base64; print(\"k1=\" + base64.b64encode(os.urandom(32)).decode())'"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.DOTALL)

Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1)]
# botocore >= 1.36 (boto3 1.36) checksums every request and checks every response by default
# ("when_supported"); several S3-compatible servers refuse those requests: hphost asks for them only
# "when_required" unless told otherwise.
ChecksumPolicy = Literal["when_required", "when_supported"]


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
    s3_multipart_chunksize_bytes: int = Field(16 * 1024 * 1024, ge=5 * 1024 * 1024,
                                              description="S3 multipart part size; S3 takes 5 MiB at least.")
    s3_max_concurrency: Count = 4
    s3_max_attempts: Count = 5
    s3_request_checksum_calculation: ChecksumPolicy = Field(
        "when_required", description="S3 request checksums: when_required (S3-compatible servers) or when_supported.")
    s3_response_checksum_validation: ChecksumPolicy = Field(
        "when_required", description="S3 response checksum checks: when_required or when_supported.")
    unpack_put_workers: Count = Field(8, description="Small entries (photos, documents) stored at once by unpack.")
    limits: Limits = Field(default_factory=Limits, description=(
        "What a .HHYP or .profils may cost at most (FORMATS.md's defaults), one HPHOST_LIMITS__<NAME> each."))
    # Uploads of the HTTP API (POST /v1/uploads, hosting/uploads.py).
    upload_max_bytes: Count = Field(4 * 1024**3, description="Largest upload the API takes (413 UPLOAD_TOO_LARGE).")
    upload_ttl_s: Seconds = Field(86400.0, description="An upload no job has used is deleted after this.")
    upload_url_ttl_s: Seconds = Field(900.0, description="Life of a presigned PUT URL (S3 store only).")

    secret_key: SecretStr | None = Field(
        None, description="Seals one-time credentials; generated into home when unset."
    )

    backup_keys: SecretStr | None = Field(None, description=(
        "AES-256 keys of backups, 'id=base64key' comma-separated; generated into home when unset (SQLite only)."))
    backup_key_id: str | None = Field(None, description="Key id new backups are encrypted with; default the first.")
    backup_keep_daily: int = Field(7, ge=0, description="Nightly backups kept: the last N nights.")
    backup_keep_weekly: int = Field(4, ge=0, description="...and the last of each of the last N weeks.")
    backup_keep_monthly: int = Field(12, ge=0, description="...and the last of each of the last N months.")
    backup_hour_utc: int = Field(1, ge=0, le=23, description="A night's backup is due from this hour (UTC).")
    backup_tick_s: Seconds = Field(300.0, description="How often `hphost beat` rings the backup schedule.")

    lease_s: Seconds = Field(15.0, description="A running stage's lease; renewed by heartbeat.")
    heartbeat_s: Seconds = Field(5.0, description="How often a running stage renews its lease.")
    sweep_interval_s: Seconds = Field(5.0, description="How often the sweeper looks for lost stages.")
    redispatch_after_s: Seconds = Field(
        120.0, description="Re-send a queued stage whose message was not taken within this time."
    )
    max_deliveries: Count = Field(5, description="Deliveries of one stage before the job fails.")
    redis_visibility_timeout_s: Count = Field(
        6 * 3600, description="Must exceed the longest stage, or Redis redelivers it."
    )
    worker_soft_shutdown_s: float = Field(
        10.0, description="On SIGTERM a worker's running stage may finish within this, then goes to its lease."
    )

    retry_max: int = Field(5, ge=0, description="Celery retries of a stage on transient errors.")
    retry_backoff_s: Seconds = 2.0
    retry_backoff_max_s: Seconds = 60.0
    call_attempts: Count = Field(4, description="tenacity attempts of one call inside a stage.")
    call_wait_max_s: Seconds = 8.0

    # The HTTP API (issue 19).
    session_ttl_s: Seconds = Field(3600.0, description="A console session token's life (POST /v1/login).")
    idempotency_ttl_s: Seconds = Field(86400.0, ge=86400.0, description=(
        "How long an Idempotency-Key of the API is kept (its answer replayed); at least 24 h."))
    single_machine: bool = Field(False, description=(
        "Every worker runs on this machine: `hphost worker` then accepts a shared control DB and broker "
        "with a file:// store or SQLite base databases."))

    log_level: str = Field("INFO", description="One of " + ", ".join(LOG_LEVELS) + " (any case).")
    log_json: bool = True

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in LOG_LEVELS:
            raise ValueError("expected one of " + ", ".join(LOG_LEVELS))
        return level.upper()

    @field_validator(*URL_SCHEMES)
    @classmethod
    def _known_scheme(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url:
            _check_url(url, info.field_name or "")
        return url

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            try:
                raw = base64.urlsafe_b64decode(key.get_secret_value().encode())
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ValueError(f"not a Fernet key (32 url-safe base64 bytes); generate one with: {GENERATE_KEY}")
        return key

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        home = self.home.resolve()
        self.home = home
        if not self.database_url:
            self.database_url = f"sqlite:///{home / 'control.db'}"
        if self.broker_url in ("", "filesystem://"):
            self.broker_url = "filesystem://localhost/"  # a host, or kombu warns on every connection
        if not self.store_url:
            self.store_url = f"file://{home / 'objects'}"
        if not self.basedb_url:
            self.basedb_url = f"sqlite:///{home / 'bases'}"
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.heartbeat_s * 2 > self.lease_s:
            raise _refused("HPHOST_HEARTBEAT_S", "must be at most half of HPHOST_LEASE_S, so that a running stage "
                           "renews its lease at least twice before it expires (else other workers take it over "
                           "while it runs)")
        if self.secret_key is None and not self.database_url.startswith("sqlite"):
            raise _refused("HPHOST_SECRET_KEY", "required with a server control database: every machine that "
                           "shares it must seal and open credentials with the same key. Generate one with: "
                           + GENERATE_KEY)
        if self.backup_keys is None and not self.database_url.startswith("sqlite"):
            raise _refused("HPHOST_BACKUP_KEYS", "required with a server control database: backups are encrypted "
                           "and every machine must read them with the same keys. Generate one with: "
                           + GENERATE_BACKUP_KEY)
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


def _check_url(url: str, field: str) -> None:
    """Refuse a URL whose scheme no adapter speaks (each of a broker's ``;``-separated fail-overs)."""
    schemes = URL_SCHEMES[field]
    for one in url.split(";") if field == "broker_url" else [url]:
        match = _SCHEME.fullmatch(one.strip())
        if match is None or match.group(1).lower() not in schemes:
            raise ValueError("expected a URL of scheme " + ", ".join(f"{s}://" for s in schemes))
        if match.group(1).lower() in ("s3", "http", "https") and not match.group(2).strip("/"):
            raise ValueError("the URL names no bucket or host")
        if match.group(1).lower() == "sqlite" and not match.group(2).startswith("/"):
            raise ValueError("expected sqlite:///path (a file or folder, not an in-memory database)")


def _refused(setting: str, reason: str) -> PydanticCustomError:
    """A refusal that names its variable, for a rule across settings (which pydantic places nowhere)."""
    return PydanticCustomError("invalid_setting", "{reason}", {"setting": setting, "reason": reason})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment; a bad one raises :class:`SettingError`."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]  # (its "msg" never holds the value: it may be a secret)
        name = (error.get("ctx") or {}).get("setting") or (
            "HPHOST_" + "__".join(str(part).upper() for part in error["loc"]))
        reason = error["msg"].removeprefix("Value error, ")
        raise SettingError(name, reason) from None
