"""Scan sessions (扫码会话): opened by a business system, scanned and answered by a wallet whose
device key signs every step, followed by the screen that holds the poll token.

What the wallet's answers then do (log in, stamp with the cloud seal, have the wallet sign, bind)
is services.scan_answers; here the session itself is kept honest: one use,
at most YUNZHANG_SCAN_SESSION_SECONDS, only the scanning device answers, only the poll token's
holder learns the answer.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.domain.devices import Device, DeviceStatus
from yunzhang.domain.licenses import LoginLicense
from yunzhang.domain.scan_sessions import (
    MAX_LIFETIME,
    MAX_SUBJECT,
    ScanAction,
    ScanDocument,
    ScanSession,
    ScanState,
    WalletStep,
    check_request,
)
from yunzhang.errors import InvalidInput, NotFound, PermissionDenied
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, DeviceKeys, Keyring, UnitOfWork, UnitOfWorkFactory

_POLL = "scan_poll"
_NOT_FOUND = "no such scan session (the QR code is wrong or was never issued)"


@dataclass(frozen=True)
class OpenSession:
    system: BusinessSystem
    action: ScanAction
    documents: list[ScanDocument]
    scope: str | None = None
    subject: str | None = None  # what precisely is asked (a request's step, a binding)
    request_step_id: uuid.UUID | None = None
    binding_id: uuid.UUID | None = None
    requester_ip: str | None = None
    requester_agent: str | None = None


@dataclass(frozen=True)
class Opened:
    session: ScanSession
    poll_token: str  # for the screen that shows the QR code; only its keyed hash is kept
    url: str  # what the QR code encodes


@refusals_audited(AuditTag.SCAN_CREATE, lambda cmd: f"business_system:{cmd.system.client_id}")
def open_session(cmd: OpenSession, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                 keyring: Keyring, settings: Settings) -> Opened:
    opened = prepare(cmd, clock=clock, keyring=keyring, settings=settings)
    with uow(request_id=caller.request_id) as tx:
        add(tx, opened.session, caller=caller)
        tx.commit()
    return opened


def prepare(cmd: OpenSession, *, clock: Clock, keyring: Keyring, settings: Settings) -> Opened:
    """A new session, checked, not yet stored (``add`` stores it, in the caller's transaction:
    the OpenID Connect provider opens one along with its authorization request)."""
    check_request(cmd.action, cmd.documents)
    if cmd.action in (ScanAction.BIND, ScanAction.UNBIND) and cmd.binding_id is None:
        raise InvalidInput("bind and unbind sessions name what is bound to which account: open "
                           "them at /api/v1/bindings", code="scan.action")
    if cmd.scope is not None:
        cmd.system.require_scope(cmd.scope)
    now = clock.now()
    lifetime = min(timedelta(seconds=settings.scan_session_seconds), MAX_LIFETIME)
    poll_token = keyring.token()
    session = ScanSession(
        id=secrets.token_urlsafe(24),  # 192 random bits
        business_system=cmd.system.client_id, action=cmd.action,
        documents=[{"name": d.name, "sha256": d.sha256} for d in cmd.documents],
        scope=cmd.scope, subject=cmd.subject and cmd.subject[:MAX_SUBJECT],
        nonce=secrets.token_urlsafe(16),
        # Number matching: two digits the person compares between the screen and the wallet.
        binding_code=f"{secrets.randbelow(100):02d}" if cmd.action.carries_documents else None,
        poll_hash=keyring.secret_hash(_POLL, poll_token),
        requester_ip=(cmd.requester_ip or None) and cmd.requester_ip[:64],
        requester_agent=(cmd.requester_agent or None) and cmd.requester_agent[:300],
        # Whole seconds: the wallet signs the expiry as shown (RFC 3339, seconds).
        created_at=now, expires_at=(now + lifetime).replace(microsecond=0),
        request_step_id=cmd.request_step_id, binding_id=cmd.binding_id)
    return Opened(session, poll_token, f"{settings.public_url.rstrip('/')}/s/{session.id}")


def add(tx: UnitOfWork, session: ScanSession, *, caller: Caller) -> None:
    """Store a prepared session and audit its opening."""
    tx.scan_sessions.add(session)
    tx.audit.record(AuditRecord(AuditTag.SCAN_CREATE, caller.actor, f"scan:{session.id}",
                                details={"action": session.action.value,
                                         "subject": session.subject,
                                         "documents": session.documents,
                                         "scope": session.scope,
                                         "expires_at": session.expires_at.isoformat()}))


def poll_token_matches(session: ScanSession, poll_token: str, *, keyring: Keyring) -> bool:
    return keyring.same(keyring.secret_hash(_POLL, poll_token[:100]), session.poll_hash)


@dataclass(frozen=True)
class WalletView:
    """What the wallet shows before the person answers (DESIGN.md: who asks, what, from where)."""

    session: ScanSession
    state: ScanState
    business_system_name: str
    digest: str


def describe(session_id: str, *, uow: UnitOfWorkFactory, clock: Clock) -> WalletView:
    with uow() as tx:
        session = _get(tx, session_id)
        system = tx.business_systems.by_client_id(session.business_system)
        name = system.name if system is not None else session.business_system
        return WalletView(session, session.state_at(clock.now()), name, session.digest())


@dataclass(frozen=True)
class WalletAnswer:
    session_id: str
    device_id: uuid.UUID
    signature: bytes  # the device key's signature of session.signed_message(step, license_id)
    license_id: uuid.UUID | None = None  # confirming a login with this e-license


def verified(tx: UnitOfWork, step: WalletStep, cmd: WalletAnswer, *,
             device_keys: DeviceKeys) -> tuple[ScanSession, Device]:
    """The session (locked) and the answering device, once the device is found active and its
    signature of this step of this session checks out; the caller then moves the session on."""
    session = _get(tx, cmd.session_id, lock=True)
    owned = tx.devices.with_owner(cmd.device_id)
    if owned is None or owned[0].status is not DeviceStatus.ACTIVE \
            or owned[1].status != "active":
        raise PermissionDenied("this device is not enrolled, or was revoked", code="scan.device")
    device = owned[0]
    if not device_keys.verify(device.public_key, session.signed_message(step, cmd.license_id),
                              cmd.signature):
        raise PermissionDenied("the signature is not this device's signature of this step "
                               "of this session", code="scan.signature")
    return session, device


def audit_step(tx: UnitOfWork, tag: AuditTag, session: ScanSession, device: Device,
               signature: bytes, *, caller: Caller, **details: object) -> None:
    tx.audit.record(AuditRecord(tag, caller.actor, f"scan:{session.id}", details={
        "device": str(device.id), "person": str(device.person_id),
        "business_system": session.business_system, "action": session.action.value,
        "subject": session.subject, "digest": session.digest(), "signature": signature.hex(),
        **details}))


@dataclass(frozen=True)
class ScanResult:
    state: ScanState
    person_id: uuid.UUID | None  # only once confirmed
    decided_at: datetime | None
    expires_at: datetime
    outcome: str | None  # why a confirmed session was refused
    license: LoginLicense | None = None  # a login confirmed with an e-license: who for


def result(session_id: str, poll_token: str, *, uow: UnitOfWorkFactory, clock: Clock,
           keyring: Keyring) -> ScanResult:
    """For the screen holding the poll token only; without it a session is as good as unknown
    (the QR code's id alone never yields a result)."""
    with uow() as tx:
        session = _get(tx, session_id)
        if not poll_token_matches(session, poll_token, keyring=keyring):
            raise NotFound(_NOT_FOUND, code="scan.not_found")
        state = session.state_at(clock.now())
        if state is not ScanState.CONFIRMED:
            return ScanResult(state, None, session.decided_at, session.expires_at,
                              session.outcome)
        return ScanResult(state, session.person_id, session.decided_at, session.expires_at,
                          session.outcome, login_license(tx, session))


def login_license(tx: UnitOfWork, session: ScanSession) -> LoginLicense | None:
    """The enterprise and role a confirmed login was made with (None: as a natural person)."""
    held = tx.licenses.get(session.license_id) if session.license_id is not None else None
    if held is None:
        return None
    enterprise = tx.enterprises.get(held.enterprise_id)
    assert enterprise is not None  # a foreign key
    return LoginLicense(held.id, enterprise.id, enterprise.uscc, enterprise.name, held.role)


def _get(tx: UnitOfWork, session_id: str, *, lock: bool = False) -> ScanSession:
    session = tx.scan_sessions.get(session_id[:64], lock=lock) if session_id else None
    if session is None:
        raise NotFound(_NOT_FOUND, code="scan.not_found")
    return session
