"""Notifications: queue an SMS in the caller's transaction; deliver the outbox with retries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from yunzhang.domain.audit import AuditRecord, AuditTag, Outcome
from yunzhang.domain.ids import Phone
from yunzhang.domain.notifications import OutboxMessage, OutboxStatus, safe_sms_text
from yunzhang.errors import ExternalServiceError
from yunzhang.services.ports import Clock, SmsSender, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("yunzhang.outbox")

# A claimed message is not offered to another deliverer for this long; if the process dies
# between sending and recording, the message is retried after it (at-least-once delivery).
CLAIM_LEASE = timedelta(seconds=60)


def queue_sms(tx: UnitOfWork, *, phone: str, body: str, at: datetime) -> OutboxMessage:
    """Add an SMS to the outbox inside the caller's unit of work (so both commit or neither)."""
    message = OutboxMessage(
        channel="sms",
        recipient=phone,
        body=safe_sms_text(body),
        created_at=at,
        next_attempt_at=at,
    )
    tx.outbox.add(message)
    return message


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    given_up: int = 0


def deliver_due(
    *, uow: UnitOfWorkFactory, sender: SmsSender, clock: Clock, max_attempts: int, batch: int = 50,
    keep_bodies: bool = False,
) -> DeliveryReport:
    """Send every due message once. Claims in one short transaction, sends outside any
    transaction (a slow gateway never holds database locks), records each result in its own."""
    now = clock.now()
    with uow() as tx:
        claimed = tx.outbox.due(now, limit=batch)
        for message in claimed:
            message.next_attempt_at = now + CLAIM_LEASE
        jobs = [(m.id, m.recipient, m.body) for m in claimed]
        tx.commit()

    sent = retrying = given_up = 0
    for message_id, recipient, body in jobs:
        error: str | None = None
        provider_id: str | None = None
        try:
            provider_id = sender.send(recipient, body).provider_id
        except ExternalServiceError as err:
            error = err.detail
        with uow() as tx:
            found = tx.outbox.get(message_id)
            if found is None or found.status is not OutboxStatus.PENDING:
                continue
            message = found
            at = clock.now()
            masked = Phone(recipient).masked
            if error is None:
                message.mark_sent(at=at, provider_id=provider_id, keep_body=keep_bodies)
                tx.audit.record(
                    AuditRecord(AuditTag.OUTBOX_DELIVER, "system", f"outbox:{message.id}",
                                details={"to": masked, "attempt": message.attempts})
                )
                sent += 1
            else:
                message.mark_failed_try(at=at, error=error, max_attempts=max_attempts)
                gave_up = message.status == OutboxStatus.FAILED
                tx.audit.record(
                    AuditRecord(
                        AuditTag.OUTBOX_GIVE_UP if gave_up else AuditTag.OUTBOX_DELIVER,
                        "system",
                        f"outbox:{message.id}",
                        Outcome.FAILED,
                        {"to": masked, "attempt": message.attempts, "error": error},
                    )
                )
                if gave_up:
                    given_up += 1
                    log.warning("gave up on SMS %s after %d tries", message.id, message.attempts)
                else:
                    retrying += 1
            tx.commit()
    return DeliveryReport(sent=sent, retrying=retrying, given_up=given_up)


def recent_messages(
    *, uow: UnitOfWorkFactory, limit: int, recipient: str | None = None
) -> list[OutboxMessage]:
    phone = Phone.parse(recipient).value if recipient else None
    with uow() as tx:
        return tx.outbox.recent(limit=limit, recipient=phone)
