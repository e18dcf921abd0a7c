"""Settings read from the environment: the format limits, and a bad value refused by its name."""

from __future__ import annotations

import pytest

from config.errors import SettingError
from config.limits import DEFAULT_LIMITS, GiB, Limits, MiB
from config.settings import Settings, get_settings


def test_the_default_limits_are_those_of_formats_md() -> None:
    assert Settings().limits == DEFAULT_LIMITS == Limits(
        max_entries=200_000, max_total_bytes=20 * GiB, max_entry_bytes=2 * GiB, max_ratio=200,
        ratio_from_bytes=1 * MiB, max_manifest_bytes=64 * MiB, max_line_bytes=1 * MiB, max_name_bytes=255,
        max_profils_bytes=64 * MiB)


def test_each_limit_is_read_from_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPHOST_LIMITS__MAX_ENTRIES", "300000")
    monkeypatch.setenv("HPHOST_LIMITS__MAX_LINE_BYTES", "4194304")
    assert Settings().limits == Limits(max_entries=300_000, max_line_bytes=4 * MiB)


@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_a_limit_is_a_whole_number_of_at_least_one(value: object) -> None:
    with pytest.raises(ValueError, match="max_ratio"):
        Limits(max_ratio=value)  # type: ignore[arg-type]


@pytest.fixture
def fresh_settings():
    get_settings.cache_clear()
    yield get_settings
    get_settings.cache_clear()


@pytest.mark.parametrize(("name", "value", "setting"), [
    ("HPHOST_LIMITS__MAX_RATIO", "many", "HPHOST_LIMITS__MAX_RATIO"),
    ("HPHOST_LIMITS__MAX_RATIO", "0", "HPHOST_LIMITS"),
    ("HPHOST_LEASE_S", "s3cr3t-value", "HPHOST_LEASE_S"),
])
def test_a_bad_setting_is_refused_by_its_name_never_its_value(fresh_settings, monkeypatch: pytest.MonkeyPatch,
                                                               name: str, value: str, setting: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as refused:
        fresh_settings()
    assert refused.value.where == {"setting": setting}
    assert value not in str(refused.value)


KEY = "x" * 43 + "="  # 32 bytes, url-safe base64: the shape of a Fernet key


@pytest.mark.parametrize(("env", "setting"), [
    ({"HPHOST_LOG_LEVEL": "LOUD"}, "HPHOST_LOG_LEVEL"),
    ({"HPHOST_DATABASE_URL": "notaurl"}, "HPHOST_DATABASE_URL"),
    ({"HPHOST_DATABASE_URL": "mysql://u:pw-secret@db.example:3306/hp"}, "HPHOST_DATABASE_URL"),
    ({"HPHOST_DATABASE_URL": "sqlite://"}, "HPHOST_DATABASE_URL"),
    ({"HPHOST_BROKER_URL": "bogus://x"}, "HPHOST_BROKER_URL"),
    ({"HPHOST_BROKER_URL": "redis://h:6379/0;bogus://x"}, "HPHOST_BROKER_URL"),
    ({"HPHOST_STORE_URL": "ftp://files.example/x"}, "HPHOST_STORE_URL"),
    ({"HPHOST_STORE_URL": "s3://"}, "HPHOST_STORE_URL"),
    ({"HPHOST_BASEDB_URL": "mongodb://h/x"}, "HPHOST_BASEDB_URL"),
    ({"HPHOST_S3_ENDPOINT_URL": "minio:9000"}, "HPHOST_S3_ENDPOINT_URL"),
    ({"HPHOST_LEASE_S": "0"}, "HPHOST_LEASE_S"),
    ({"HPHOST_LEASE_S": "-5"}, "HPHOST_LEASE_S"),
    ({"HPHOST_LEASE_S": "inf"}, "HPHOST_LEASE_S"),
    ({"HPHOST_HEARTBEAT_S": "0"}, "HPHOST_HEARTBEAT_S"),
    ({"HPHOST_SWEEP_INTERVAL_S": "0"}, "HPHOST_SWEEP_INTERVAL_S"),
    ({"HPHOST_REDISPATCH_AFTER_S": "-1"}, "HPHOST_REDISPATCH_AFTER_S"),
    ({"HPHOST_MAX_DELIVERIES": "0"}, "HPHOST_MAX_DELIVERIES"),
    ({"HPHOST_CALL_ATTEMPTS": "0"}, "HPHOST_CALL_ATTEMPTS"),
    ({"HPHOST_RETRY_MAX": "-1"}, "HPHOST_RETRY_MAX"),
    ({"HPHOST_UNPACK_PUT_WORKERS": "0"}, "HPHOST_UNPACK_PUT_WORKERS"),
    ({"HPHOST_S3_MULTIPART_CHUNKSIZE_BYTES": "1024"}, "HPHOST_S3_MULTIPART_CHUNKSIZE_BYTES"),
    ({"HPHOST_SECRET_KEY": "pw-secret"}, "HPHOST_SECRET_KEY"),
    ({"HPHOST_S3_REQUEST_CHECKSUM_CALCULATION": "always"}, "HPHOST_S3_REQUEST_CHECKSUM_CALCULATION"),
])
def test_every_setting_is_checked_at_start(fresh_settings, monkeypatch: pytest.MonkeyPatch,
                                           env: dict[str, str], setting: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as refused:
        fresh_settings()
    assert refused.value.where == {"setting": setting}
    assert "pw-secret" not in str(refused.value)


@pytest.mark.parametrize(("lease", "heartbeat"), [("15", "15"), ("15", "20"), ("6", "3.5")])
def test_a_lease_is_renewed_at_least_twice_before_it_expires(fresh_settings, monkeypatch: pytest.MonkeyPatch,
                                                             lease: str, heartbeat: str) -> None:
    monkeypatch.setenv("HPHOST_LEASE_S", lease)
    monkeypatch.setenv("HPHOST_HEARTBEAT_S", heartbeat)
    with pytest.raises(SettingError, match="at least twice") as refused:
        fresh_settings()
    assert refused.value.where == {"setting": "HPHOST_HEARTBEAT_S"}


def test_a_server_control_database_needs_the_secret_key(fresh_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPHOST_DATABASE_URL", "postgresql://hphost:pw-secret@db.example:5432/hphost")
    with pytest.raises(SettingError, match="Fernet.generate_key") as refused:
        fresh_settings()
    assert refused.value.where == {"setting": "HPHOST_SECRET_KEY"}
    assert "pw-secret" not in str(refused.value)
    fresh_settings.cache_clear()
    monkeypatch.setenv("HPHOST_SECRET_KEY", KEY)
    with pytest.raises(SettingError, match="backups are encrypted") as refused:
        fresh_settings()  # the backups' keys are required too
    assert refused.value.where == {"setting": "HPHOST_BACKUP_KEYS"}
    fresh_settings.cache_clear()
    monkeypatch.setenv("HPHOST_BACKUP_KEYS", "k1=" + "A" * 43 + "=")
    assert fresh_settings().secret_key.get_secret_value() == KEY


def test_good_settings_pass_and_the_level_is_read_in_any_case(fresh_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"HPHOST_LOG_LEVEL": "debug", "HPHOST_BROKER_URL": "redis://a:6379/0;redis://b:6379/0",
                        "HPHOST_STORE_URL": "s3://bucket/prefix", "HPHOST_BASEDB_URL": "postgresql://h/db",
                        "HPHOST_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "HPHOST_LEASE_S": "6",
                        "HPHOST_HEARTBEAT_S": "1.5"}.items():
        monkeypatch.setenv(name, value)
    assert fresh_settings().log_level == "DEBUG"


def test_the_embedded_broker_names_its_host_so_kombu_does_not_warn(tmp_path) -> None:
    from kombu import Connection

    settings = Settings(home=tmp_path)
    assert settings.embedded_broker
    assert Connection(settings.broker_url).hostname  # kombu logs "No hostname was supplied" without one


def test_the_embedded_default_generates_its_key_once_into_home_0600(tmp_path) -> None:
    from hosting.sealing import secret_key

    settings = Settings(home=tmp_path)
    key = secret_key(settings)
    assert secret_key(settings) == key and (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_the_settings_refusal_becomes_invalid_setting_with_the_same_code_message_and_place() -> None:
    from hosting.errors import InvalidSetting

    refused = SettingError("HPHOST_LEASE_S", "Input should be greater than 0")
    error = InvalidSetting.of(refused)
    assert error.to_dict() == {"code": "INVALID_SETTING", "where": {"setting": "HPHOST_LEASE_S"},
                               "message": "The setting HPHOST_LEASE_S is invalid: Input should be greater than 0."}
    assert str(refused) == str(error)
