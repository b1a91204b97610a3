"""Persons: SMS codes, registration, login sessions, identity verification and liveness."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag, Outcome
from yunzhang.domain.enterprises import clean_name
from yunzhang.domain.ids import Phone, ResidentId
from yunzhang.domain.notifications import CodePurpose, SmsCode
from yunzhang.domain.persons import Person
from yunzhang.domain.pki import RevocationReason
from yunzhang.domain.sessions import WebSession
from yunzhang.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    VerificationError,
)
from yunzhang.services import certificates
from yunzhang.services.audit import record_separately
from yunzhang.services.codes import issue_code, redeem_code
from yunzhang.services.context import Caller
from yunzhang.services.notifications import queue_sms
from yunzhang.services.roles import bind_person_as_legal_rep
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    IdentityVerifier,
    Keyring,
    LivenessChecker,
    PasswordHasher,
    RateLimiter,
    UnitOfWork,
    UnitOfWorkFactory,
)

MAX_FACE_IMAGE_BYTES = 512 * 1024


@dataclass(frozen=True)
class SendSmsCode:
    phone: str
    purpose: CodePurpose


@dataclass(frozen=True)
class RegisterPerson:
    phone: str
    password: str
    sms_code: str


@dataclass(frozen=True)
class LogIn:
    phone: str
    password: str


@dataclass(frozen=True)
class VerifyIdentity:
    person_id: uuid.UUID
    name: str
    id_number: str


@dataclass(frozen=True)
class CheckLiveness:
    person_id: uuid.UUID
    id_number: str
    face_image: bytes


@dataclass(frozen=True)
class LoginResult:
    person: Person
    session_token: str
    csrf_token: str
    expires_at: datetime


def _limit(limiter: RateLimiter, key: str, *, limit: int, window: int, what: str) -> None:
    decision = limiter.hit(key, limit=limit, window_seconds=window)
    if not decision.allowed:
        raise RateLimited(
            f"too many {what}; try again in {decision.retry_after} s",
            retry_after=decision.retry_after,
        )


def send_sms_code(
    cmd: SendSmsCode,
    *,
    caller: Caller,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    limiter: RateLimiter,
    clock: Clock,
    settings: Settings,
) -> datetime:
    """Send a one-time code; returns when it expires. One code per phone and purpose is live."""
    phone = Phone.parse(cmd.phone)
    _limit(limiter, f"sms:phone:{phone}", limit=settings.sms_per_phone_per_hour, window=3600,
           what="codes sent to this number")
    if caller.ip:
        _limit(limiter, f"sms:ip:{caller.ip}", limit=settings.sms_per_ip_per_hour, window=3600,
               what="codes requested from this address")
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        if cmd.purpose is CodePurpose.REGISTER and tx.persons.by_phone(phone.value):
            raise Conflict("this phone number is already registered; log in instead",
                           code="person.phone_taken")
        if cmd.purpose is not CodePurpose.REGISTER and not tx.persons.by_phone(phone.value):
            raise NotFound("no account uses this phone number", code="person.not_found")
        code = issue_code(tx, phone=phone, purpose=cmd.purpose, subject=None, at=now,
                          keyring=keyring, settings=settings)
        expires = now + timedelta(seconds=settings.sms_code_ttl_seconds)
        minutes = settings.sms_code_ttl_seconds // 60
        queue_sms(tx, phone=phone.value, at=now,
                  body=f"【云章】验证码 {code}，{minutes} 分钟内有效，请勿告诉他人。"
                       f"yunzhang code {code}, valid {minutes} min.")
        tx.audit.record(AuditRecord(AuditTag.SMS_CODE_SEND, caller.actor, f"phone:{phone.masked}",
                                    details={"purpose": cmd.purpose.value, "ip": caller.ip}))
        tx.commit()
    return expires


def check_password_policy(password: str, *, min_length: int) -> None:
    if len(password) < min_length:
        raise InvalidInput(f"the password needs at least {min_length} characters",
                           code="password.too_short")
    if len(password) > 128:
        raise InvalidInput("the password is longer than 128 characters", code="password.too_long")
    if password.isdigit() or password.isalpha():
        raise InvalidInput("the password must mix letters with digits or symbols",
                           code="password.too_simple")


def register_person(
    cmd: RegisterPerson,
    *,
    caller: Caller,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    passwords: PasswordHasher,
    clock: Clock,
    settings: Settings,
) -> Person:
    phone = Phone.parse(cmd.phone)
    check_password_policy(cmd.password, min_length=settings.password_min_length)
    password_hash = passwords.hash(cmd.password)  # slow on purpose: before the transaction
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        if tx.persons.by_phone(phone.value):
            raise Conflict("this phone number is already registered", code="person.phone_taken")
        redeem_code(tx, phone=phone, purpose=CodePurpose.REGISTER, subject=None,
                    code=cmd.sms_code, keyring=keyring, at=now)
        person = Person(phone=phone.value, password_hash=password_hash, created_at=now)
        tx.persons.add(person)
        tx.audit.record(AuditRecord(AuditTag.PERSON_REGISTER, f"person:{person.id}",
                                    f"person:{person.id}", details={"phone": phone.masked}))
        tx.commit()
        return person




def log_in(
    cmd: LogIn,
    *,
    caller: Caller,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    passwords: PasswordHasher,
    limiter: RateLimiter,
    clock: Clock,
    settings: Settings,
    dummy_hash: str,
) -> LoginResult:
    try:
        phone = Phone.parse(cmd.phone)
    except InvalidInput:
        raise Unauthenticated("invalid phone number or password",
                              code="auth.invalid_credentials") from None
    _limit(limiter, f"login:phone:{phone}", limit=settings.login_per_phone_per_15min, window=900,
           what="login attempts for this number")
    if caller.ip:
        _limit(limiter, f"login:ip:{caller.ip}", limit=settings.login_per_ip_per_15min,
               window=900, what="login attempts from this address")
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.by_phone(phone.value)
        ok = passwords.verify(person.password_hash if person else dummy_hash, cmd.password)
        if person is None or not ok or person.status != "active":
            tx.rollback()
            record_separately(
                AuditRecord(AuditTag.PERSON_LOGIN, caller.actor, f"phone:{phone.masked}",
                            Outcome.DENIED, {"ip": caller.ip}),
                caller=caller, uow=uow,
            )
            raise Unauthenticated("invalid phone number or password",
                                  code="auth.invalid_credentials")
        if passwords.needs_rehash(person.password_hash):
            person.password_hash = passwords.hash(cmd.password)
        token, csrf = keyring.token(), keyring.token()
        expires = now + timedelta(hours=settings.session_max_hours)
        tx.sessions.add(
            WebSession(
                person_id=person.id,
                token_hash=keyring.secret_hash("session", token),
                csrf_hash=keyring.secret_hash("csrf", csrf),
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
                ip=caller.ip,
                user_agent=(caller.user_agent or "")[:300] or None,
            )
        )
        tx.audit.record(AuditRecord(AuditTag.PERSON_LOGIN, f"person:{person.id}",
                                    f"person:{person.id}", details={"ip": caller.ip}))
        tx.commit()
        return LoginResult(person, token, csrf, expires)


@dataclass(frozen=True)
class Authenticated:
    person: Person
    session_id: uuid.UUID
    csrf_hash: str


def authenticate(
    token: str, *, uow: UnitOfWorkFactory, keyring: Keyring, clock: Clock, settings: Settings
) -> Authenticated:
    """The person behind a session cookie; one opaque error for every way it can be wrong."""
    now = clock.now()
    idle = timedelta(minutes=settings.session_idle_minutes)
    with uow() as tx:
        session = tx.sessions.by_token_hash(keyring.secret_hash("session", token))
        person = tx.persons.get(session.person_id) if session else None
        if session is None or person is None or person.status != "active" or not session.valid(now, idle):
            raise Unauthenticated("log in first: the session is missing, expired or ended",
                                  code="auth.session_invalid")
        if now - session.last_seen_at > timedelta(seconds=60):  # don't write on every request
            session.touch(now)
            tx.commit()
        return Authenticated(person, session.id, session.csrf_hash)


def log_out(token: str, *, caller: Caller, uow: UnitOfWorkFactory, keyring: Keyring, clock: Clock) -> None:
    with uow(request_id=caller.request_id) as tx:
        session = tx.sessions.by_token_hash(keyring.secret_hash("session", token))
        if session is None or session.revoked_at is not None:
            return
        session.revoke(clock.now())
        tx.audit.record(AuditRecord(AuditTag.PERSON_LOGOUT, caller.actor,
                                    f"person:{session.person_id}"))
        tx.commit()


def verify_identity(
    cmd: VerifyIdentity,
    *,
    caller: Caller,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    verifier: IdentityVerifier,
    clock: Clock,
) -> Person:
    """实名认证 (seed 000 §2): name + resident ID number + the account's phone, by the verifier."""
    name = clean_name(cmd.name, what="name", code="person.name", max_len=100)
    id_number = ResidentId.parse(cmd.id_number)
    id_hmac = keyring.pii_hash(id_number.value)
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.get(cmd.person_id)
        if person is None:
            raise NotFound("no such person", code="person.not_found")
        phone = person.phone
    answer = verifier.verify(name=name, id_number=id_number.value, phone=phone)
    subject = f"person:{cmd.person_id}"
    if not answer.matched:
        record_separately(
            AuditRecord(AuditTag.PERSON_VERIFY, caller.actor, subject, Outcome.DENIED,
                        {"id_number": id_number.masked, "reason": answer.reason}),
            caller=caller, uow=uow,
        )
        raise VerificationError(f"identity not confirmed: {answer.reason}",
                                code="identity.not_matched")
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.get(cmd.person_id)
        if person is None:
            raise NotFound("no such person", code="person.not_found")
        other = tx.persons.by_id_hmac(id_hmac)
        if other is not None and other.id != person.id:
            raise Conflict("another account is already verified with this ID number",
                           code="identity.taken")
        now = clock.now()
        person.record_identity(name=name, id_hmac=id_hmac, id_masked=id_number.masked, at=now)
        # Seed 000 §4.2.2: the registry's legal representative is bound without applying.
        bind_person_as_legal_rep(tx, person, at=now, actor=caller.actor)
        tx.audit.record(AuditRecord(AuditTag.PERSON_VERIFY, caller.actor, subject,
                                    details={"id_number": id_number.masked,
                                             "provider_ref": answer.provider_ref}))
        tx.commit()
        return person


def check_liveness(
    cmd: CheckLiveness,
    *,
    caller: Caller,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    checker: LivenessChecker,
    clock: Clock,
) -> Person:
    """实人认证: a live face capture matched to the already-verified identity."""
    if not cmd.face_image:
        raise InvalidInput("the face capture is empty", code="liveness.image_missing")
    if len(cmd.face_image) > MAX_FACE_IMAGE_BYTES:
        raise InvalidInput(f"the face capture is larger than {MAX_FACE_IMAGE_BYTES // 1024} KiB",
                           code="liveness.image_too_large")
    id_number = ResidentId.parse(cmd.id_number)
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.get(cmd.person_id)
        if person is None:
            raise NotFound("no such person", code="person.not_found")
        if person.id_number_hmac is None or person.name is None:
            raise Conflict("identity verification (实名认证) must come before the liveness check",
                           code="person.identity_required")
        if not keyring.same(keyring.pii_hash(id_number.value), person.id_number_hmac):
            raise InvalidInput("the ID number is not the one this account was verified with",
                               code="liveness.id_mismatch")
        name = person.name
    answer = checker.check(name=name, id_number=id_number.value, face_image=cmd.face_image)
    subject = f"person:{cmd.person_id}"
    if not answer.matched:
        record_separately(
            AuditRecord(AuditTag.PERSON_LIVENESS, caller.actor, subject, Outcome.DENIED,
                        {"reason": answer.reason}),
            caller=caller, uow=uow,
        )
        raise VerificationError(f"liveness not confirmed: {answer.reason}",
                                code="liveness.not_matched")
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.get(cmd.person_id)
        if person is None:
            raise NotFound("no such person", code="person.not_found")
        person.record_liveness(at=clock.now())
        tx.audit.record(AuditRecord(AuditTag.PERSON_LIVENESS, caller.actor, subject,
                                    details={"provider_ref": answer.provider_ref}))
        tx.commit()
        return person


def get_person(person_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> Person:
    with uow() as tx:
        person = tx.persons.get(person_id)
        if person is None:
            raise NotFound("no such person", code="person.not_found")
        return person


@dataclass(frozen=True)
class RevokePerson:
    phone: str
    reason: str


def revoke_person(cmd: RevokePerson, *, caller: Caller, uow: UnitOfWorkFactory,
                  factory: CertificateFactory, clock: Clock) -> list[str]:
    """The operator revokes a person (identity fraud, death, a court order): they can no longer
    log in, and every certificate of theirs is revoked at once (affiliationChanged is not the
    reason here: the person, not a role, is gone; RFC 5280 ``cessationOfOperation``)."""
    reason = clean_name(cmd.reason, what="reason", code="person.reason", max_len=500)
    number = Phone.parse(cmd.phone).value
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.by_phone(number)
        if person is None:
            raise NotFound(f"no person registered with phone {number}", code="person.not_found")
        if person.status == "revoked":
            raise Conflict(f"{number} is already revoked", code="person.revoked")
        person.status = "revoked"
        serials = certificates.revoke_all_of_person(
            tx, factory, person.id, reason=RevocationReason.CESSATION_OF_OPERATION,
            caller=caller, clock=clock)
        tx.audit.record(AuditRecord(AuditTag.PERSON_REVOKE, caller.actor, f"person:{person.id}",
                                    details={"reason": reason, "certificates": serials}))
        tx.commit()
        return serials
