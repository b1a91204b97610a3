"""Every real and fake implementation satisfies its Protocol in ``services/ports.py``: isinstance for
the runtime-checkable ones, and the same parameter names, kinds and defaults for every method, so a
signature that drifts on either side fails here rather than at a call site."""

from __future__ import annotations

import inspect
import tempfile
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from yunzhang.adapters.clock import FixedClock, SystemClock
from yunzhang.adapters.crypto import Argon2PasswordHasher, HmacKeyring
from yunzhang.adapters.db.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from yunzhang.adapters.identity import (
    DevIdentityVerifier,
    DevLivenessChecker,
    HttpIdentityVerifier,
    HttpLivenessChecker,
)
from yunzhang.adapters.ratelimit import MemoryRateLimiter, RedisRateLimiter
from yunzhang.adapters.sms import DevSmsSender, HttpSmsSender
from tests.fakes import MemoryKeyStore
from tests.keystores import pkcs11_store, software_store
from yunzhang.adapters.seal_images import PillowSealArtist
from yunzhang.adapters.pdf.signing import PyHankoStamper
from yunzhang.adapters.crypto import EcdsaDeviceKeys
from yunzhang.adapters.jose import EcJose
from yunzhang.adapters.webhooks import HttpxWebhookSender
from yunzhang.adapters.pdf.verifying import PyHankoVerifier
from yunzhang.adapters.tsp import Rfc3161Encoder
from yunzhang.adapters.x509 import X509Factory
from yunzhang.services import ports
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    IdentityVerifier,
    Keyring,
    WebhookSender,
    KeyStore,
    LivenessChecker,
    PasswordHasher,
    RateLimiter,
    PdfStamper,
    PdfVerifier,
    DeviceKeys,
    JoseCodec,
    SealArtist,
    SmsSender,
    TimestampEncoder,
    UnitOfWork,
    UnitOfWorkFactory,
)

# Dunder methods that are part of a Protocol's contract; the other dunders come from typing.
_CONTRACT_DUNDERS = {"__call__", "__enter__", "__exit__"}
_UNUSED_URL = "http://127.0.0.1:9/never-called"


def protocol_members(proto: type) -> dict[str, Any]:
    """The methods and properties a Protocol declares itself (not those typing adds)."""
    return {
        name: value
        for name, value in vars(proto).items()
        if (not name.startswith("_") or name in _CONTRACT_DUNDERS)
        and (inspect.isfunction(value) or isinstance(value, property))
    }


def _shape(func: Callable[..., Any]) -> list[tuple[str, inspect._ParameterKind, bool]]:
    return [
        (p.name, p.kind, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(func).parameters.values()
    ]


def signature_drift(proto: type, impl: type) -> list[str]:
    """Differences between a Protocol's methods and a class's: missing members, and parameters
    whose name, kind (positional / keyword-only) or optionality differ. Empty when they agree."""
    problems = []
    for name, member in protocol_members(proto).items():
        if isinstance(member, property):
            continue  # attributes; checked on instances (see the unit-of-work test)
        found = inspect.getattr_static(impl, name, None)
        if found is None or not callable(getattr(impl, name)):
            problems.append(f"{impl.__name__}.{name} is missing")
            continue
        want, got = _shape(member), _shape(getattr(impl, name))
        if want != got:
            problems.append(f"{impl.__name__}.{name}{got} differs from {proto.__name__}{want}")
    return problems


def _sessions() -> sessionmaker[Any]:
    return sessionmaker()  # unbound: nothing here touches a database


IMPLEMENTATIONS: list[tuple[type, Callable[[], object]]] = [
    (Clock, SystemClock),
    (Clock, lambda: FixedClock(datetime(2026, 11, 22, tzinfo=UTC))),
    (SmsSender, DevSmsSender),
    (SmsSender, lambda: HttpSmsSender(_UNUSED_URL, "token", timeout=1)),
    (IdentityVerifier, DevIdentityVerifier),
    (IdentityVerifier, lambda: HttpIdentityVerifier(_UNUSED_URL, "token", timeout=1)),
    (LivenessChecker, DevLivenessChecker),
    (LivenessChecker, lambda: HttpLivenessChecker(_UNUSED_URL, "token", timeout=1)),
    (PasswordHasher, lambda: Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)),
    (RateLimiter, MemoryRateLimiter),
    (RateLimiter, lambda: RedisRateLimiter("redis://127.0.0.1:6379/15")),  # connects lazily
    (Keyring, lambda: HmacKeyring(b"s" * 32, b"p" * 32)),
    (UnitOfWorkFactory, lambda: SqlUnitOfWorkFactory(_sessions(), SystemClock())),
    (KeyStore, lambda: software_store(Path(tempfile.mkdtemp()))),
    (KeyStore, pkcs11_store),
    (KeyStore, MemoryKeyStore),
    (CertificateFactory, lambda: X509Factory(MemoryKeyStore())),
    (SealArtist, lambda: PillowSealArtist(None, max_image_bytes=1024, max_megapixels=1.0)),
    (TimestampEncoder, lambda: Rfc3161Encoder(MemoryKeyStore())),
    (PdfStamper, lambda: PyHankoStamper(MemoryKeyStore(), lambda request: b"")),
    (PdfVerifier, PyHankoVerifier),
    (DeviceKeys, EcdsaDeviceKeys),
    (JoseCodec, EcJose),
    (WebhookSender, lambda: HttpxWebhookSender(timeout=1)),
]


def _id(case: tuple[type, Callable[[], object]]) -> str:
    proto, make = case
    return f"{proto.__name__}-{type(make()).__name__}"


CASES = [pytest.param(proto, make, id=_id((proto, make))) for proto, make in IMPLEMENTATIONS]
RUNTIME_CASES = [
    pytest.param(proto, make, id=_id((proto, make)))
    for proto, make in IMPLEMENTATIONS
    if getattr(proto, "_is_runtime_protocol", False)
]


@pytest.mark.parametrize(("proto", "make"), RUNTIME_CASES)
def test_implementation_is_an_instance_of_its_protocol(proto: type, make: Callable[[], object]) -> None:
    assert isinstance(make(), proto)


@pytest.mark.parametrize(("proto", "make"), CASES)
def test_method_signatures_match_the_protocol(proto: type, make: Callable[[], object]) -> None:
    assert signature_drift(proto, type(make())) == []


def test_every_side_effect_protocol_has_a_checked_implementation() -> None:
    # A new runtime-checkable seam added to ports.py without an entry above fails here.
    declared = {
        obj for obj in vars(ports).values()
        if isinstance(obj, type) and getattr(obj, "_is_runtime_protocol", False)
    }
    assert declared <= {proto for proto, _ in IMPLEMENTATIONS}


def test_unit_of_work_and_its_repositories_match_their_protocols() -> None:
    factory = SqlUnitOfWorkFactory(_sessions(), SystemClock())
    uow = factory(request_id="r-1")
    assert isinstance(uow, SqlUnitOfWork)
    assert signature_drift(UnitOfWork, SqlUnitOfWork) == []
    with uow as tx:
        properties = {n: m for n, m in protocol_members(UnitOfWork).items() if isinstance(m, property)}
        assert set(properties) >= {"persons", "enterprises", "sms_codes", "outbox", "sessions", "audit"}
        for name, prop in properties.items():
            repository_protocol = typing.get_type_hints(prop.fget)["return"]
            repository = getattr(tx, name)
            assert signature_drift(repository_protocol, type(repository)) == [], name


class _RenamedParameter:
    def send(self, phone: str, text: str) -> ports.SmsReceipt:
        raise NotImplementedError


class _PositionalInsteadOfKeyword:
    def verify(self, name: str, id_number: str, phone: str) -> ports.VerifierAnswer:
        raise NotImplementedError


class _LostDefault:
    def __call__(self, *, request_id: str) -> UnitOfWork:
        raise NotImplementedError


class _MissingMethod:
    def hash(self, password: str) -> str:
        raise NotImplementedError

    def verify(self, password_hash: str, password: str) -> bool:
        raise NotImplementedError


@pytest.mark.parametrize(
    ("proto", "impl"),
    [
        (SmsSender, _RenamedParameter),
        (IdentityVerifier, _PositionalInsteadOfKeyword),
        (UnitOfWorkFactory, _LostDefault),
        (PasswordHasher, _MissingMethod),
    ],
)
def test_a_drifted_implementation_is_reported(proto: type, impl: type) -> None:
    # isinstance() on a runtime Protocol checks only that the names exist; the signature check is
    # what catches these.
    assert signature_drift(proto, impl) != []
