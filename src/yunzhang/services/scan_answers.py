"""The wallet's answers to a scan session and what they set off: a login is simply confirmed; a
step of a stamp/sign request is carried out (services.signing_requests); a binding is made or
removed (services.bindings). When the person confirms but the platform cannot do what was asked
(the decision function says no, the seal was revoked, the documents changed meanwhile), the
session ends as ``refused`` with the reason, so the screen learns it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditTag
from yunzhang.domain.devices import Device
from yunzhang.domain.scan_sessions import ScanAction, ScanSession, WalletStep
from yunzhang.errors import Conflict, InvalidInput, PermissionDenied
from yunzhang.services import bindings, licenses, signing_requests
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    DeviceKeys,
    PdfStamper,
    UnitOfWork,
    UnitOfWorkFactory,
)
from yunzhang.services.scan_sessions import WalletAnswer, audit_step, verified

MAX_SIGNATURE = 1024  # a DER ECDSA P-256 signature is at most 72 bytes; RSA-4096 512


@dataclass(frozen=True)
class Scanned:
    session: ScanSession
    to_sign: list[bytes]  # a signature step: per document, the DER signed attributes to sign


@refusals_audited(AuditTag.SCAN_SCAN, lambda cmd, **_: f"scan:{cmd.session_id[:64]}")
def scan(cmd: WalletAnswer, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
         device_keys: DeviceKeys, stamper: PdfStamper) -> Scanned:
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        session, device = verified(tx, WalletStep.SCAN, cmd, device_keys=device_keys)
        session.scan(device.id, device.person_id, now)
        to_sign: list[bytes] = []
        if session.request_step_id is not None:
            if session.action is ScanAction.SIGN:
                to_sign = signing_requests.prepare_signatures(tx, session, device.person_id,
                                                              stamper=stamper, clock=clock)
            else:
                signing_requests.context(tx, session, now)  # still open, its turn, same papers
        audit_step(tx, AuditTag.SCAN_SCAN, session, device, cmd.signature, caller=caller)
        tx.commit()
        return Scanned(session, to_sign)


@dataclass(frozen=True)
class Confirmation:
    answer: WalletAnswer
    document_signatures: list[bytes] = field(default_factory=list, repr=False)


@refusals_audited(AuditTag.SCAN_CONFIRM, lambda cmd, **_: f"scan:{cmd.answer.session_id[:64]}")
def confirm(cmd: Confirmation, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
            device_keys: DeviceKeys, stamper: PdfStamper, settings: Settings,
            factory: CertificateFactory) -> ScanSession:
    """The person agrees; the device's signature is kept in the audit log as the evidence.
    A login or a binding is checked and carried out in one transaction; the work a request's
    step needs (stamping, embedding signatures) is done between two: the first checks the
    answer, the last checks it again and records everything at once."""
    if any(len(s) > MAX_SIGNATURE for s in cmd.document_signatures):
        raise InvalidInput("a document signature is at most 1 KiB", code="scan.signatures")
    answer = cmd.answer
    with _refusals_told(answer, caller=caller, uow=uow, clock=clock, device_keys=device_keys):
        with uow(request_id=caller.request_id) as tx:
            session, device = verified(tx, WalletStep.CONFIRM, answer, device_keys=device_keys)
            session.check_answer(device.id, clock.now())
            _check_confirmation(cmd, session)
            if session.request_step_id is None:  # a login, a binding: all in this transaction
                return _decide(tx, session, device, answer, None, caller=caller, uow=uow,
                               clock=clock)
            person_id = device.person_id
    try:
        work = signing_requests.do_step(session, person_id, cmd.document_signatures,
                                        caller=caller, uow=uow, stamper=stamper, clock=clock,
                                        settings=settings, factory=factory)
    except (PermissionDenied, Conflict) as refusal:
        _refuse(answer, refusal, caller=caller, uow=uow, clock=clock, device_keys=device_keys)
        raise
    with _refusals_told(answer, caller=caller, uow=uow, clock=clock, device_keys=device_keys):
        with uow(request_id=caller.request_id) as tx:
            # Checked again: the session may have been answered while the work was done.
            session, device = verified(tx, WalletStep.CONFIRM, answer, device_keys=device_keys)
            session.check_answer(device.id, clock.now())
            return _decide(tx, session, device, answer, work, caller=caller, uow=uow,
                           clock=clock)


def _check_confirmation(cmd: Confirmation, session: ScanSession) -> None:
    if session.request_step_id is None and cmd.document_signatures:
        raise InvalidInput(f"a {session.action.value} session takes no document signatures",
                           code="scan.signatures")
    if cmd.answer.license_id is not None and session.action is not ScanAction.LOGIN:
        raise InvalidInput("only a login is confirmed with an e-license", code="scan.license")


def _decide(tx: UnitOfWork, session: ScanSession, device: Device, answer: WalletAnswer,
            work: signing_requests.StepWork | None, *, caller: Caller, uow: UnitOfWorkFactory,
            clock: Clock) -> ScanSession:
    """Carry out what was confirmed and record it, in the transaction that checked the answer.
    Decisions come before the first write: a refusal is audited in a transaction of its own,
    which must not wait for this one (SQLite has one writer at a time)."""
    person_id = device.person_id
    details: dict[str, object] = {}
    if session.binding_id is not None:
        binding = bindings.carry_out(tx, session, person_id, caller=caller, uow=uow,
                                     at=clock.now())
        details = {"binding": str(binding.id), "binding_status": binding.status.value}
    if answer.license_id is not None:
        login = licenses.for_login(tx, answer.license_id, person_id=person_id,
                                   device_id=device.id, at=clock.now())
        session.license_id = login.id
        details = {"license": str(login.id), "enterprise": login.uscc, "role": login.role.value}
    session.decide(device.id, True, clock.now())
    if work is not None:
        view = signing_requests.record_step(tx, session, work, person_id, caller=caller,
                                            clock=clock)
        details = {"request": str(view.request.id), "request_status": view.status.value}
    audit_step(tx, AuditTag.SCAN_CONFIRM, session, device, answer.signature, caller=caller,
               **details)
    tx.commit()
    return session


# Refusals of the answer itself: the session stays as it was (another device, too late...).
_ANSWER_REFUSALS = ("scan.used", "scan.expired", "scan.other_device", "scan.device",
                    "scan.signature", "scan.not_scanned")


@contextmanager
def _refusals_told(answer: WalletAnswer, *, caller: Caller, uow: UnitOfWorkFactory,
                   clock: Clock, device_keys: DeviceKeys) -> Iterator[None]:
    """When the platform cannot do what was confirmed (the decision function says no, the seal
    was revoked), the session ends as refused with the reason, for the screen to show. The
    refusal is written once the block's transaction is closed (SQLite has one writer)."""
    try:
        yield
    except (PermissionDenied, Conflict) as refusal:
        if refusal.code not in _ANSWER_REFUSALS:
            _refuse(answer, refusal, caller=caller, uow=uow, clock=clock,
                    device_keys=device_keys)
        raise


def _refuse(answer: WalletAnswer, refusal: PermissionDenied | Conflict, *, caller: Caller,
            uow: UnitOfWorkFactory, clock: Clock, device_keys: DeviceKeys) -> None:
    """The session ends as refused, with the reason, for the screen to show."""
    with uow(request_id=caller.request_id) as tx:
        session, device = verified(tx, WalletStep.CONFIRM, answer, device_keys=device_keys)
        session.refuse(f"{refusal.code}: {refusal.detail}", clock.now())
        audit_step(tx, AuditTag.SCAN_REFUSE, session, device, answer.signature, caller=caller,
                   reason=refusal.detail, code=refusal.code)
        tx.commit()


@refusals_audited(AuditTag.SCAN_DENY, lambda cmd, **_: f"scan:{cmd.session_id[:64]}")
def deny(cmd: WalletAnswer, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
         device_keys: DeviceKeys) -> ScanSession:
    """The person says no. The signer of a signature step, or a person allowed to use the seal
    of a seal step, saying no ends the request; anyone else only ends their own session."""
    with uow(request_id=caller.request_id) as tx:
        session, device = verified(tx, WalletStep.DENY, cmd, device_keys=device_keys)
        session.check_answer(device.id, clock.now())
        if session.request_step_id is not None:  # decided before the first write (see confirm)
            signing_requests.decline_step(tx, session, device.person_id, caller=caller, uow=uow,
                                          clock=clock)
        session.decide(device.id, False, clock.now())
        audit_step(tx, AuditTag.SCAN_DENY, session, device, cmd.signature, caller=caller)
        tx.commit()
        return session


