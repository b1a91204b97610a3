"""Settings: read from YUNZHANG_* variables; production refuses development secrets and providers,
http providers need URLs, and every refusal is one ConfigurationError naming the setting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from yunzhang.config import (
    DEV_ADMIN_TOKEN,
    DEV_KEK,
    DEV_PII_KEY,
    DEV_SECRET_KEY,
    Settings,
    load_settings,
)
from yunzhang.errors import ConfigurationError

PRODUCTION: dict[str, Any] = {
    "env": "production",
    "secret_key": "k" * 24 + "-secret-",
    "pii_key": "p" * 24 + "-pii-key",
    "admin_token": "a" * 24 + "-admin-t",
    "sms_sender": "http",
    "sms_http_url": "https://sms.example.test/send",
    "identity_verifier": "http",
    "identity_http_url": "https://id.example.test/verify",
    "liveness_checker": "http",
    "liveness_http_url": "https://face.example.test/check",
    "kek": "prod2026:" + "cHJvZHVjdGlvbi1rZWstZm9yLXRoZS10ZXN0cy0zMmI=",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's (or CI's) own YUNZHANG_* variables must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("YUNZHANG_"):
            monkeypatch.delenv(name)


def refusal(**overrides: Any) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**overrides)
    assert caught.value.code == "config.invalid"
    return caught.value.detail


def test_valid_production_settings_load() -> None:
    # The baseline every refusal below changes in exactly one place.
    settings = load_settings(**PRODUCTION)
    assert not settings.development
    assert settings.secret_key.get_secret_value() == PRODUCTION["secret_key"]


def test_production_is_the_default_and_refuses_the_default_secret() -> None:
    assert "YUNZHANG_SECRET_KEY" in refusal()


@pytest.mark.parametrize(
    ("setting", "dev_value"),
    [("secret_key", DEV_SECRET_KEY), ("pii_key", DEV_PII_KEY), ("admin_token", DEV_ADMIN_TOKEN)],
)
def test_production_refuses_each_development_secret(setting: str, dev_value: str) -> None:
    message = refusal(**{**PRODUCTION, setting: dev_value})
    assert f"YUNZHANG_{setting.upper()}" in message
    assert "development default" in message


@pytest.mark.parametrize("setting", ["secret_key", "pii_key", "admin_token"])
@pytest.mark.parametrize("value", ["", "short-but-secret", "x" * 31])
def test_production_refuses_short_secrets_without_echoing_them(setting: str, value: str) -> None:
    message = refusal(**{**PRODUCTION, setting: value})
    assert f"YUNZHANG_{setting.upper()}" in message and "32 characters" in message
    if value:
        assert value not in message


def test_a_32_character_secret_is_long_enough() -> None:
    settings = load_settings(**{**PRODUCTION, "secret_key": "y" * 32})
    assert settings.secret_key.get_secret_value() == "y" * 32


@pytest.mark.parametrize("setting", ["sms_sender", "identity_verifier", "liveness_checker"])
def test_production_refuses_development_providers(setting: str) -> None:
    message = refusal(**{**PRODUCTION, setting: "dev"})
    assert f"YUNZHANG_{setting.upper()}=dev" in message


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize(
    ("kind", "url_setting"),
    [("sms_sender", "sms_http_url"), ("identity_verifier", "identity_http_url"),
     ("liveness_checker", "liveness_http_url")],
)
def test_http_provider_needs_its_url(env: str, kind: str, url_setting: str) -> None:
    base = PRODUCTION if env == "production" else {"env": "development", kind: "http"}
    message = refusal(**{**base, url_setting: ""})
    assert f"YUNZHANG_{url_setting.upper()}" in message


@pytest.mark.parametrize(
    "code", ["31000", "3100000", "31000a", "", " 310000", "三一〇〇〇〇", "３１００００"]  # last: full-width
)
def test_region_code_must_be_six_digits(code: str) -> None:
    assert refusal(env="development", region_code=code).startswith("YUNZHANG_REGION_CODE:")


def test_region_code_of_six_digits_is_kept() -> None:
    assert load_settings(env="development", region_code="440300").region_code == "440300"


def test_variables_with_the_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNZHANG_ENV", "development")
    monkeypatch.setenv("YUNZHANG_REGION_CODE", "440300")
    monkeypatch.setenv("YUNZHANG_OUTBOX_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("YUNZHANG_RATE_LIMIT_BACKEND", "redis")
    monkeypatch.setenv("REGION_CODE", "110000")  # no prefix: not ours
    settings = load_settings()
    assert settings.development
    assert (settings.region_code, settings.outbox_max_attempts, settings.rate_limit_backend) == (
        "440300", 3, "redis")


def test_production_can_be_configured_entirely_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(f"YUNZHANG_{name.upper()}", value)
    settings = load_settings()
    assert settings.env == "production"
    assert settings.pii_key.get_secret_value() == PRODUCTION["pii_key"]
    assert settings.liveness_http_url == PRODUCTION["liveness_http_url"]


def test_production_refuses_the_development_kek_unless_keys_are_elsewhere(tmp_path: Path) -> None:
    assert "YUNZHANG_KEK still has its development default" in refusal(**{**PRODUCTION, "kek": DEV_KEK})
    kek_file = tmp_path / "keks"
    kek_file.write_text(PRODUCTION["kek"])
    assert load_settings(**{**PRODUCTION, "kek": DEV_KEK, "kek_file": kek_file}).kek_file == kek_file
    hsm = load_settings(**{**PRODUCTION, "kek": DEV_KEK, "keystore": "pkcs11",
                           "pkcs11_module": "/usr/lib/softhsm/libsofthsm2.so"})
    assert hsm.keystore == "pkcs11"
    assert "YUNZHANG_PKCS11_MODULE" in refusal(**{**PRODUCTION, "keystore": "pkcs11"})


def test_invalid_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNZHANG_ENV", "development")
    monkeypatch.setenv("YUNZHANG_OUTBOX_MAX_ATTEMPTS", "0")
    assert refusal().startswith("YUNZHANG_OUTBOX_MAX_ATTEMPTS:")


def test_development_accepts_the_defaults() -> None:
    settings = load_settings(env="development")
    assert settings.development
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY
    assert (settings.sms_sender, settings.identity_verifier, settings.liveness_checker) == (
        "dev", "dev", "dev")


def test_default_database_is_sqlite_under_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(env="development", data_dir=tmp_path / "data")
    expected = (tmp_path / "data" / "yunzhang.db").as_posix()
    assert settings.effective_database_url == f"sqlite:///{expected}"
    assert Settings(env="development").effective_database_url == "sqlite:///var/yunzhang.db"


def test_explicit_database_url_wins(tmp_path: Path) -> None:
    url = "postgresql://yunzhang@db.example.test/yunzhang"
    settings = load_settings(env="development", data_dir=tmp_path, database_url=url)
    assert settings.effective_database_url == url
