"""Settings: one pydantic-settings class, read from ``YUNZHANG_*`` variables, built once at start."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from yunzhang.errors import ConfigurationError

# Development defaults. They are refused outside development mode (see _refuse_dev_defaults).
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"
DEV_PII_KEY = "dev-only-pii-key-not-for-production"
DEV_ADMIN_TOKEN = "dev-admin-token"
# id:base64(32 bytes). The key-encryption key of the software key store in development only.
DEV_KEK = "dev:ZGV2LW9ubHkta2VrLW5vdC1mb3ItcHJvZHVjdGlvbiE="

Mode = Literal["development", "production"]
Provider = Literal["dev", "http"]


class Settings(BaseSettings):
    """Everything an operator can set. Every field is documented in docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="YUNZHANG_", env_file=None, extra="ignore", frozen=True
    )

    env: Mode = "production"
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file yunzhang.db in data_dir
    region_code: str = Field(default="310000", description="GB/T 2260 code of the deployment")
    public_url: str = "http://127.0.0.1:8000"

    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    pii_key: SecretStr = SecretStr(DEV_PII_KEY)
    admin_token: SecretStr = SecretStr(DEV_ADMIN_TOKEN)

    # Limits
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_import_bytes: int = Field(default=20 * 1_048_576, ge=1024)
    max_import_rows: int = Field(default=100_000, ge=1)
    max_license_admins: int = Field(default=5, ge=1)
    sms_code_ttl_seconds: int = Field(default=300, ge=30)
    sms_code_max_attempts: int = Field(default=5, ge=1)
    sms_resend_seconds: int = Field(default=60, ge=0)
    sms_per_phone_per_hour: int = Field(default=5, ge=1)
    sms_per_ip_per_hour: int = Field(default=30, ge=1)
    login_per_phone_per_15min: int = Field(default=10, ge=1)
    login_per_ip_per_15min: int = Field(default=50, ge=1)
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    password_min_length: int = Field(default=8, ge=6)
    fresh_liveness_seconds: int = Field(default=300, ge=30)
    scan_session_seconds: int = Field(default=120, ge=15, le=120)  # DESIGN.md: at most 120 s
    signing_request_hours: int = Field(default=72, ge=1, le=720)
    webhook_give_up_hours: int = Field(default=72, ge=1, le=720)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    scopes_file: Path | None = None  # operator's scopes, merged over the built-in tree

    # Token keys and e-licenses (docs/licenses.md)
    token_key_rotation_days: int = Field(default=30, ge=1, le=365)
    license_days: int = Field(default=365, ge=1, le=1825)  # longest e-license a wallet holds
    oidc_token_seconds: int = Field(default=3600, ge=60, le=86400)  # longest OIDC-signed token
    # OpenID Connect provider (docs/oidc.md)
    oidc_code_seconds: int = Field(default=60, ge=10, le=600)  # RFC 6749 §4.1.2: at most 10 min
    oidc_request_seconds: int = Field(default=600, ge=120, le=3600)  # the page and its consent
    oidc_refresh_seconds: int = Field(default=43200, ge=0, le=30 * 86400)  # 0: no refresh tokens

    # Providers
    sms_sender: Provider = "dev"
    sms_http_url: str = ""
    sms_http_token: SecretStr = SecretStr("")
    identity_verifier: Provider = "dev"
    identity_http_url: str = ""
    identity_http_token: SecretStr = SecretStr("")
    liveness_checker: Provider = "dev"
    liveness_http_url: str = ""
    liveness_http_token: SecretStr = SecretStr("")
    provider_timeout_seconds: float = Field(default=5.0, gt=0)

    rate_limit_backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"

    outbox_max_attempts: int = Field(default=6, ge=1)
    outbox_poll_seconds: float = Field(default=2.0, gt=0)

    # Key custody (docs/keys.md). software: one file per key in keys_dir, each key encrypted
    # under its own data key wrapped by a key-encryption key (KEK); pkcs11: keys in an HSM.
    keystore: Literal["software", "pkcs11"] = "software"
    keys_dir: Path | None = None  # default: data_dir/keys
    kek: SecretStr = SecretStr(DEV_KEK)  # "id:base64key[,id:base64key...]", first one current
    kek_file: Path | None = None  # the same list, one per line; wins over YUNZHANG_KEK
    pkcs11_module: str = ""  # e.g. /usr/lib/softhsm/libsofthsm2.so
    pkcs11_token_label: str = "yunzhang"
    pkcs11_pin: SecretStr = SecretStr("")

    # PKI (docs/pki.md)
    pki_organization: str = Field(default="yunzhang (云章)", min_length=1, max_length=64)
    key_algorithm: Literal["ec-p256", "rsa-2048", "rsa-3072"] = "ec-p256"
    person_cert_days: int = Field(default=90, ge=1, le=825)  # seed 001 §3.6: three months
    enterprise_cert_days: int = Field(default=365, ge=1, le=825)
    seal_cert_days: int = Field(default=730, ge=1, le=1825)
    # The TSA policy (RFC 3161 §2.4.2). Default: an OID under 2.25 (ITU-T X.667, a UUID as an
    # OID, needing no registration); an operator with an arc of their own sets theirs.
    tsa_policy: str = Field(default="2.25.147701296758162413649822062859522038321",
                            pattern=r"^[0-2](\.(0|[1-9][0-9]*))+$")

    # Seal images (docs/seals.md)
    max_image_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    max_image_megapixels: float = Field(default=40.0, gt=0)
    max_document_bytes: int = Field(default=50 * 1_048_576, ge=1024)
    trust_roots_file: Path | None = None  # more trust roots for verification (PEM bundle)
    seal_font: Path | None = None  # a CJK font file; default: the first installed of a known list

    log_level: str = "INFO"

    # The demo business systems under /demo/ (yunzhang.demo_sites; on in `yunzhang demo`). Their
    # credentials are fixed development values, so they run in development mode only.
    demo_sites: bool = False

    @field_validator("region_code")
    @classmethod
    def _six_digits(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9]{6}", value):  # \d would also take full-width digits
            raise ValueError("must be a six-digit GB/T 2260 region code, e.g. 310000")
        return value

    @property
    def development(self) -> bool:
        return self.env == "development"

    def token_lifetime(self, purpose: str) -> timedelta:
        """The longest life of a token signed for ``purpose`` (a domain.tokens.TokenPurpose): a
        retired key stays published that long."""
        if purpose == "license":
            return timedelta(days=self.license_days)
        return timedelta(seconds=self.oidc_token_seconds)

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'yunzhang.db').as_posix()}"

    @model_validator(mode="after")
    def _refuse_dev_defaults(self) -> Settings:
        if self.development:
            return self
        if self.demo_sites:
            raise ValueError("YUNZHANG_DEMO_SITES is for development only (the demo business "
                             "systems use built-in secrets); unset it or set "
                             "YUNZHANG_ENV=development")
        for name, dev_value in (
            ("secret_key", DEV_SECRET_KEY),
            ("pii_key", DEV_PII_KEY),
            ("admin_token", DEV_ADMIN_TOKEN),
        ):
            value: SecretStr = getattr(self, name)
            if value.get_secret_value() == dev_value:
                raise ValueError(
                    f"YUNZHANG_{name.upper()} still has its development default; set it to a "
                    f"random value of at least 32 characters, or set YUNZHANG_ENV=development"
                )
            if len(value.get_secret_value()) < 32:
                raise ValueError(f"YUNZHANG_{name.upper()} must be at least 32 characters long")
        if self.keystore == "software" and self.kek_file is None and \
                self.kek.get_secret_value() == DEV_KEK:
            raise ValueError(
                "YUNZHANG_KEK still has its development default; set YUNZHANG_KEK or "
                "YUNZHANG_KEK_FILE to id:base64 of 32 random bytes (see docs/keys.md), or set "
                "YUNZHANG_ENV=development"
            )
        for name in ("sms_sender", "identity_verifier", "liveness_checker"):
            if getattr(self, name) == "dev":
                raise ValueError(
                    f"YUNZHANG_{name.upper()}=dev is for development only; set it to http and "
                    f"configure YUNZHANG_{name.split('_')[0].upper()}_HTTP_URL"
                )
        return self

    @model_validator(mode="after")
    def _http_providers_need_urls(self) -> Settings:
        for kind, url_field in (
            ("sms_sender", "sms_http_url"),
            ("identity_verifier", "identity_http_url"),
            ("liveness_checker", "liveness_http_url"),
        ):
            if getattr(self, kind) == "http" and not getattr(self, url_field):
                raise ValueError(
                    f"YUNZHANG_{kind.upper()}=http needs YUNZHANG_{url_field.upper()}"
                )
        if self.keystore == "pkcs11" and not self.pkcs11_module:
            raise ValueError("YUNZHANG_KEYSTORE=pkcs11 needs YUNZHANG_PKCS11_MODULE")
        return self


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, turning validation errors into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        setting = f"YUNZHANG_{where.upper()}: " if where else ""
        raise ConfigurationError(f"{setting}{message}", code="config.invalid") from None
