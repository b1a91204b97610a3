"""Webhooks to business systems: queued in the transaction of the change they report, sent
outside any transaction, retried with backoff until acknowledged (docs/webhooks.md)."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag, Outcome
from yunzhang.domain.business_systems import SystemStatus
from yunzhang.domain.webhooks import EVENT, DeliveryStatus, WebhookDelivery, sign
from yunzhang.errors import ExternalServiceError, NotFound
from yunzhang.services.ports import Clock, Keyring, UnitOfWork, UnitOfWorkFactory, WebhookSender

log = logging.getLogger("yunzhang.webhooks")
SECRET_PURPOSE = "webhook_secret"
CLAIM_LEASE = timedelta(seconds=60)  # a claimed delivery is offered again after this


def queue_event(tx: UnitOfWork, *, client_id: str, event: str, data: dict[str, object],
                at: datetime) -> WebhookDelivery | None:
    """Queue ``event`` for the business system inside the caller's unit of work (both commit or
    neither); nothing when it has no webhook URL."""
    assert EVENT.fullmatch(event), event
    system = tx.business_systems.by_client_id(client_id)
    if system is None or not system.webhook_url:
        return None
    delivery = WebhookDelivery(business_system=client_id, event=event, body="", created_at=at,
                               next_attempt_at=at)
    delivery.body = json.dumps({"id": delivery.message_id, "type": event,
                                "timestamp": at.isoformat(), "data": data},
                               ensure_ascii=False, separators=(",", ":"))
    tx.webhooks.add(delivery)
    return delivery


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    given_up: int = 0


def deliver_due_webhooks(*, uow: UnitOfWorkFactory, sender: WebhookSender, clock: Clock,
                         keyring: Keyring, settings: Settings, batch: int = 50) -> DeliveryReport:
    """Send every due delivery once: claimed in one short transaction, sent outside any, each
    result recorded in its own."""
    now = clock.now()
    with uow() as tx:
        jobs: list[tuple[uuid.UUID, str | None, str | None, bytes]] = []
        for delivery in tx.webhooks.due(now, limit=batch):
            delivery.next_attempt_at = now + CLAIM_LEASE
            system = tx.business_systems.by_client_id(delivery.business_system)
            if system is None or system.status is not SystemStatus.ACTIVE or \
                    not system.webhook_url or not system.webhook_secret:
                jobs.append((delivery.id, None, None, b""))
                continue
            jobs.append((delivery.id, system.webhook_url,
                         keyring.unseal(SECRET_PURPOSE, system.webhook_secret).decode(),
                         delivery.body.encode()))
        tx.commit()
    delivered = retrying = given_up = 0
    for delivery_id, url, secret, body in jobs:
        error = None
        if url is None or secret is None:
            error = "the business system has no webhook URL now, or is disabled"
        else:
            stamp = int(clock.now().timestamp())
            message_id = f"msg_{delivery_id.hex}"
            try:
                status = sender.post(url, body, {
                    "webhook-id": message_id, "webhook-timestamp": str(stamp),
                    "webhook-signature": sign(secret, message_id, stamp, body)})
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except ExternalServiceError as err:
                error = err.detail
        with uow() as tx:
            found = tx.webhooks.get(delivery_id)
            if found is None or found.status is not DeliveryStatus.PENDING:
                continue
            at, gave_up = clock.now(), False
            if error is None:
                found.delivered(at)
                delivered += 1
            else:
                gave_up = found.failed_try(
                    error, at, jitter=secrets.randbelow(1000) / 1000,
                    give_up_after=timedelta(hours=settings.webhook_give_up_hours))
                if gave_up:
                    given_up += 1
                    log.warning("gave up on webhook %s to %s after %d tries", found.id,
                                found.business_system, found.attempts)
                else:
                    retrying += 1
            delivery = found
            tx.audit.record(AuditRecord(
                AuditTag.WEBHOOK_GIVE_UP if gave_up else AuditTag.WEBHOOK_DELIVER,
                "system", f"webhook:{delivery.id}",
                Outcome.SUCCESS if error is None else Outcome.FAILED,
                {"business_system": delivery.business_system, "event": delivery.event,
                 "attempt": delivery.attempts, **({"error": error} if error else {})}))
            tx.commit()
    return DeliveryReport(delivered, retrying, given_up)


def recent_deliveries(client_id: str, *, uow: UnitOfWorkFactory,
                      limit: int = 20) -> list[WebhookDelivery]:
    with uow() as tx:
        return tx.webhooks.recent(client_id, limit=limit)


def redeliver(delivery_id: uuid.UUID, *, caller_actor: str, uow: UnitOfWorkFactory,
              clock: Clock) -> WebhookDelivery:
    """An operator sends a delivery again (one given up, or one to send once more)."""
    with uow() as tx:
        delivery = tx.webhooks.get(delivery_id)
        if delivery is None:
            raise NotFound(f"no webhook delivery {delivery_id}", code="webhook.not_found")
        delivery.redeliver(clock.now())
        tx.audit.record(AuditRecord(AuditTag.WEBHOOK_REDELIVER, caller_actor,
                                    f"webhook:{delivery.id}",
                                    details={"business_system": delivery.business_system}))
        tx.commit()
        return delivery
