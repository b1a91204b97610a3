"""One-time SMS codes: issue one (stored as a keyed hash) and redeem it."""

from __future__ import annotations

from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.ids import Phone
from yunzhang.domain.notifications import CodePurpose, CodeState, SmsCode
from yunzhang.errors import InvalidInput, RateLimited
from yunzhang.services.ports import Keyring, UnitOfWork


def _material(phone: Phone, purpose: CodePurpose, subject: str | None, code: str) -> str:
    return f"{phone}:{purpose}:{subject or ''}:{code}"


def issue_code(
    tx: UnitOfWork, *, phone: Phone, purpose: CodePurpose, subject: str | None, at: datetime,
    keyring: Keyring, settings: Settings,
) -> str:
    """A new code replacing the live one for the same phone, purpose and subject. Refused within
    the resend interval. The caller queues the SMS that carries it in the same transaction."""
    previous = tx.sms_codes.latest(phone.value, purpose, subject)
    resend = timedelta(seconds=settings.sms_resend_seconds)
    if previous and at < previous.created_at + resend:
        wait = int((previous.created_at + resend - at).total_seconds()) + 1
        raise RateLimited(f"a code was just sent; ask again in {wait} s", retry_after=wait,
                          code="sms_code.too_soon")
    if previous and previous.state == CodeState.LIVE:
        previous.consume()
    code = keyring.numeric_code(6)
    tx.sms_codes.add(SmsCode(
        phone=phone.value, purpose=purpose, subject=subject,
        code_hmac=keyring.secret_hash("sms-code", _material(phone, purpose, subject, code)),
        created_at=at, expires_at=at + timedelta(seconds=settings.sms_code_ttl_seconds),
        max_attempts=settings.sms_code_max_attempts,
    ))
    return code


def redeem_code(
    tx: UnitOfWork, *, phone: Phone, purpose: CodePurpose, subject: str | None, code: str,
    keyring: Keyring, at: datetime,
) -> None:
    """Check and spend the live code. A wrong code costs a try, committed on its own; the last
    allowed wrong try kills the code. Each way of failing has its own stable code."""
    current = tx.sms_codes.latest(phone.value, purpose, subject)
    if current is None:
        raise InvalidInput("no code was sent for this; request one first", code="sms_code.missing")
    if current.state != CodeState.LIVE:
        dead = current.state == CodeState.DEAD
        raise InvalidInput("this code can no longer be used; request a new one",
                           code="sms_code.dead" if dead else "sms_code.used")
    if at >= current.expires_at:
        raise InvalidInput("the code has expired; request a new one", code="sms_code.expired")
    expected = keyring.secret_hash("sms-code", _material(phone, purpose, subject, code.strip()))
    if not keyring.same(expected, current.code_hmac):
        left = current.record_wrong_try()
        tx.commit()
        if left == 0:
            raise InvalidInput("wrong code; it was the last try, request a new code",
                               code="sms_code.dead")
        raise InvalidInput(f"wrong code; {left} tries left", code="sms_code.wrong", tries_left=left)
    current.consume()
