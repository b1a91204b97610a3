"""Composition root: builds the real adapters chosen by the settings, once, and hands them down."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from yunzhang.adapters.clock import SystemClock
from yunzhang.adapters.crypto import Argon2PasswordHasher, EcdsaDeviceKeys, HmacKeyring
from yunzhang.adapters.jose import EcJose
from yunzhang.adapters.db.engine import make_engine
from yunzhang.adapters.db.migrate import require_current
from yunzhang.adapters.db.tables import map_domain
from yunzhang.adapters.db.uow import SqlUnitOfWorkFactory
from yunzhang.adapters.identity import (
    DevIdentityVerifier,
    DevLivenessChecker,
    HttpIdentityVerifier,
    HttpLivenessChecker,
)
from yunzhang.adapters.ratelimit import MemoryRateLimiter, RedisRateLimiter
from yunzhang.adapters.keystore import build_keystore
from yunzhang.adapters.pdf.signing import PyHankoStamper
from yunzhang.adapters.pdf.verifying import PyHankoVerifier
from yunzhang.adapters.seal_images import PillowSealArtist
from yunzhang.adapters.sms import DevSmsSender, HttpSmsSender
from yunzhang.adapters.webhooks import HttpxWebhookSender
from yunzhang.adapters.tsp import Rfc3161Encoder
from yunzhang.adapters.x509 import X509Factory
from yunzhang.adapters.scope_files import load_scope_tree
from yunzhang.config import Settings
from yunzhang.domain.scopes import ScopeTree
from yunzhang.services import timestamps
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    DeviceKeys,
    IdentityVerifier,
    JoseCodec,
    Keyring,
    KeyStore,
    LivenessChecker,
    PasswordHasher,
    RateLimiter,
    PdfStamper,
    PdfVerifier,
    SealArtist,
    SmsSender,
    TimestampEncoder,
    UnitOfWorkFactory,
    WebhookSender,
)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    uow: UnitOfWorkFactory
    clock: Clock
    keyring: Keyring
    passwords: PasswordHasher
    limiter: RateLimiter
    sms: SmsSender
    identity: IdentityVerifier
    liveness: LivenessChecker
    scopes: ScopeTree
    keys: KeyStore
    x509: CertificateFactory
    artist: SealArtist
    tsp: TimestampEncoder
    pdf: PdfStamper
    verifier: PdfVerifier
    device_keys: DeviceKeys
    jose: JoseCodec
    webhooks: WebhookSender
    dummy_password_hash: str = field(default="", repr=False)

    def require_current_schema(self) -> None:
        """Raise DatabaseNotReady unless the database is migrated to this code's revision."""
        with self.session_factory() as session:
            require_current(session.connection())


def build_container(
    settings: Settings,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
    clock: Clock | None = None,
    passwords: PasswordHasher | None = None,
    limiter: RateLimiter | None = None,
    keys: KeyStore | None = None,
) -> Container:
    """Everything a process needs. Tests pass their own engine/session factory (bound to a
    SAVEPOINT-wrapped connection) and a FixedClock; all else comes from the settings."""
    map_domain()
    if engine is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.effective_database_url)
    factory = session_factory or sessionmaker(bind=engine, expire_on_commit=False)
    clock = clock or SystemClock()
    timeout = settings.provider_timeout_seconds
    sms: SmsSender
    identity: IdentityVerifier
    liveness: LivenessChecker
    if settings.sms_sender == "http":
        sms = HttpSmsSender(settings.sms_http_url, settings.sms_http_token.get_secret_value(),
                            timeout=timeout)
    else:
        sms = DevSmsSender()
    if settings.identity_verifier == "http":
        identity = HttpIdentityVerifier(settings.identity_http_url,
                                        settings.identity_http_token.get_secret_value(),
                                        timeout=timeout)
    else:
        identity = DevIdentityVerifier()
    if settings.liveness_checker == "http":
        liveness = HttpLivenessChecker(settings.liveness_http_url,
                                       settings.liveness_http_token.get_secret_value(),
                                       timeout=timeout)
    else:
        liveness = DevLivenessChecker()
    if limiter is None:
        limiter = (RedisRateLimiter(settings.redis_url) if settings.rate_limit_backend == "redis"
                   else MemoryRateLimiter())
    passwords = passwords or Argon2PasswordHasher()
    keys = keys or build_keystore(settings, clock)
    uow = SqlUnitOfWorkFactory(factory, clock)
    encoder = Rfc3161Encoder(keys)

    def time_stamp(request: bytes) -> bytes:  # the signing engine asks the TSA in-process
        return timestamps.timestamp(request, uow=uow, encoder=encoder, clock=clock,
                                    settings=settings)

    return Container(
        settings=settings,
        engine=engine,
        session_factory=factory,
        uow=uow,
        clock=clock,
        keyring=HmacKeyring(settings.secret_key.get_secret_value().encode(),
                            settings.pii_key.get_secret_value().encode()),
        passwords=passwords,
        limiter=limiter,
        sms=sms,
        identity=identity,
        liveness=liveness,
        scopes=load_scope_tree(settings.scopes_file),
        keys=keys,
        x509=X509Factory(keys),
        tsp=encoder,
        pdf=PyHankoStamper(keys, time_stamp, clock),
        verifier=PyHankoVerifier(),
        device_keys=EcdsaDeviceKeys(),
        jose=EcJose(),
        webhooks=HttpxWebhookSender(timeout=settings.webhook_timeout_seconds),
        artist=PillowSealArtist(settings.seal_font, max_image_bytes=settings.max_image_bytes,
                                max_megapixels=settings.max_image_megapixels),
        dummy_password_hash=passwords.hash("yunzhang-timing-equalizer"),
    )
