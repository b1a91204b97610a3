"""SMS codes and outbox messages: what is sent to people, and the rules that keep it safe."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from yunzhang.domain.ids import FULL_ID_NUMBER
from yunzhang.errors import InvalidInput

MAX_SMS_CHARS = 300
ONE_TIME_CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


class CodePurpose(StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    RESET_PASSWORD = "reset_password"
    CONFIRM_AGENT = "confirm_agent"  # sent to the legal representative (seed 004 §3)


class CodeState(StrEnum):
    LIVE = "live"
    USED = "used"
    DEAD = "dead"  # too many wrong tries


@dataclass(eq=False)
class SmsCode:
    """A one-time code sent by SMS; only its keyed hash is stored."""

    phone: str
    purpose: CodePurpose
    code_hmac: str
    created_at: datetime
    expires_at: datetime
    max_attempts: int
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    attempts: int = 0
    state: CodeState = CodeState.LIVE
    subject: str | None = None  # what the code confirms, e.g. "application:7"

    def usable(self, at: datetime) -> bool:
        return self.state is CodeState.LIVE and at < self.expires_at

    def record_wrong_try(self) -> int:
        """Count a wrong code; the code dies on the last allowed try. Returns tries left."""
        self.attempts += 1
        if self.attempts >= self.max_attempts:
            self.state = CodeState.DEAD
        return max(self.max_attempts - self.attempts, 0)

    def consume(self) -> None:
        self.state = CodeState.USED


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


@dataclass(eq=False)
class OutboxMessage:
    """A notification written in the same transaction as the change it reports."""

    channel: str
    recipient: str
    body: str
    created_at: datetime
    next_attempt_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    provider_id: str | None = None

    def mark_sent(self, *, at: datetime, provider_id: str | None, keep_body: bool = False) -> None:
        """Record delivery. Unless ``keep_body`` (the development sender, whose messages operators
        read), one-time codes are blanked out of the stored text once they are delivered."""
        if not keep_body:
            self.body = ONE_TIME_CODE.sub("******", self.body)
        self.status = OutboxStatus.SENT
        self.attempts += 1
        self.sent_at = at
        self.provider_id = provider_id
        self.last_error = None

    def mark_failed_try(self, *, at: datetime, error: str, max_attempts: int) -> None:
        """Schedule the next try with exponential backoff (30 s, 60 s, 120 s, ...) or give up."""
        self.attempts += 1
        self.last_error = error[:500]
        if self.attempts >= max_attempts:
            self.status = OutboxStatus.FAILED
        else:
            self.next_attempt_at = at + timedelta(seconds=30 * 2 ** (self.attempts - 1))


def safe_sms_text(body: str) -> str:
    """Refuse a message that would carry a full resident ID number or is too long for one SMS.

    Passwords never reach message templates at all; ID numbers could, through a name field or a
    careless template, so they are checked here where every message passes.
    """
    if FULL_ID_NUMBER.search(body):
        raise InvalidInput(
            "an SMS must not contain a full resident ID number", code="sms.contains_id_number"
        )
    if len(body) > MAX_SMS_CHARS:
        raise InvalidInput(f"an SMS is limited to {MAX_SMS_CHARS} characters", code="sms.too_long")
    return body
