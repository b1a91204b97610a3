"""Webhooks (回调) to business systems, signed as the Standard Webhooks specification says
(standardwebhooks.com): headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, the key being the
bytes of the secret handed out as ``whsec_<base64>``. ``verify`` is what a receiver runs; it
needs nothing of the server, so business systems (and the SDK) can use it as it is."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from yunzhang.errors import InvalidInput, PermissionDenied

SECRET_PREFIX = "whsec_"
TOLERANCE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
EVENT = re.compile(r"[a-z_]+(\.[a-z_]+)+")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidInput("a webhook secret starts with whsec_", code="webhook.secret")
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise InvalidInput("a webhook secret is whsec_ and base64", code="webhook.secret") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime,
           tolerance: timedelta = TOLERANCE) -> None:
    """Raise PermissionDenied (``webhook.signature``, ``webhook.stale``) unless the request is
    signed with ``secret`` and its timestamp is within ``tolerance`` of ``now``."""
    lower = {k.lower(): v for k, v in headers.items()}
    message_id, stamp, given = (lower.get("webhook-id"), lower.get("webhook-timestamp"),
                                lower.get("webhook-signature"))
    if not message_id or not stamp or not given or not stamp.isdigit():
        raise PermissionDenied("the webhook headers are missing", code="webhook.signature")
    if abs(now.timestamp() - int(stamp)) > tolerance.total_seconds():
        raise PermissionDenied("the webhook's timestamp is too old or in the future",
                               code="webhook.stale")
    expected = sign(secret, message_id, int(stamp), body)
    # The header may carry several signatures (during a secret rotation), space separated.
    if not any(hmac.compare_digest(expected, candidate) for candidate in given.split()):
        raise PermissionDenied("the webhook's signature is not ours", code="webhook.signature")


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"  # acknowledged with a 2xx
    FAILED = "failed"  # not acknowledged within YUNZHANG_WEBHOOK_GIVE_UP_HOURS


@dataclass(eq=False)
class WebhookDelivery:
    """One event for one business system, written in the transaction of the change it reports
    and sent until acknowledged (at least once; receivers deduplicate by ``id``)."""

    business_system: str  # client id
    event: str
    body: str  # the JSON sent, fixed when queued
    created_at: datetime
    next_attempt_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def message_id(self) -> str:
        return f"msg_{self.id.hex}"

    def delivered(self, at: datetime) -> None:
        self.status, self.delivered_at, self.last_error = DeliveryStatus.DELIVERED, at, None
        self.attempts += 1

    def failed_try(self, error: str, at: datetime, *, give_up_after: timedelta,
                   jitter: float) -> bool:
        """Exponential backoff (10 s, 20 s, 40 s ... at most an hour, ``jitter`` 0..1 adds up to
        a tenth more) until ``give_up_after`` has passed since the event. True: given up."""
        self.attempts += 1
        self.last_error = error[:300]
        wait = min(FIRST_RETRY * 2 ** min(self.attempts - 1, 20), LONGEST_WAIT) * (1 + jitter / 10)
        if at + wait > self.created_at + give_up_after:
            self.status = DeliveryStatus.FAILED
            return True
        self.next_attempt_at = at + wait
        return False

    def redeliver(self, at: datetime) -> None:
        self.status, self.next_attempt_at, self.attempts = DeliveryStatus.PENDING, at, 0
        self.created_at = at  # a fresh give-up window
