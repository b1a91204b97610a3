"""Checking the platform's webhooks (回调) as the Standard Webhooks specification says
(docs/webhooks.md): ``webhook-signature`` is ``v1,<base64 HMAC-SHA256>`` keyed with the decoded
``whsec_`` secret over ``<webhook-id>.<webhook-timestamp>.<body>``, compared in constant time;
a timestamp more than ``tolerance`` from now is refused (a replay). Deduplicate on
``WebhookEvent.id``: delivery is at least once.

    event = verify_webhook(SECRET, request.headers, await request.body())
    if event.type == "signing_request.completed": ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from yunzhang.sdk.errors import SdkError

SECRET_PREFIX = "whsec_"
TOLERANCE = timedelta(minutes=5)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # the same as the webhook-id header: deduplicate on it
    type: str  # signing_request.progress, signing_request.completed, binding.created, ...
    timestamp: datetime  # when the event happened (the header's is when it was sent)
    data: Mapping[str, Any] = field(repr=False)


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise SdkError("a webhook secret starts with whsec_", code="webhook.secret")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise SdkError("a webhook secret is whsec_ and base64", code="webhook.secret") from None
    if not key:
        raise SdkError("the webhook secret is empty", code="webhook.secret")
    return key


def sign_webhook(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for a body (for tests and for relaying events)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *,
                     now: datetime | None = None, tolerance: timedelta = TOLERANCE) -> str:
    """Check the signature and the timestamp of a request; the message id. ``headers`` in any
    letter case. The header may hold several space-separated signatures (during a secret
    rotation): one that matches is enough; signatures of other versions are ignored."""
    key = _key(secret)
    lower = {k.lower(): v for k, v in headers.items()}
    message_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    given = lower.get("webhook-signature", "")
    if not message_id or not given or not _TIMESTAMP.fullmatch(stamp):
        raise SdkError("the webhook-id, webhook-timestamp and webhook-signature headers are "
                       "needed", code="webhook.headers")
    at = (now or datetime.now(UTC)).timestamp()
    if abs(at - int(stamp)) > tolerance.total_seconds():
        raise SdkError("the webhook's timestamp is too old or in the future (a replay?)",
                       code="webhook.stale")
    expected = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    matched = False
    for candidate in given.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            signature = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Every candidate is compared, so the time taken says nothing about which matched.
        matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise SdkError("the webhook's signature does not match: a wrong secret, or the body "
                       "was changed", code="webhook.signature")
    return message_id


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes, *,
                   now: datetime | None = None, tolerance: timedelta = TOLERANCE) -> WebhookEvent:
    """``verify_signature``, then the body as an event whose ``id`` is the signed message id;
    ``SdkError`` (``webhook.headers``, ``webhook.stale``, ``webhook.signature``,
    ``webhook.secret``, ``webhook.body``) otherwise. Read the body as bytes, before any JSON
    parsing: the signature covers the exact bytes sent."""
    message_id = verify_signature(secret, headers, body, now=now, tolerance=tolerance)
    try:
        event = json.loads(body)
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            raise ValueError("not an event")
        when = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
        parsed = WebhookEvent(str(event["id"]), str(event["type"]), when, event["data"])
    except (ValueError, KeyError, UnicodeDecodeError):
        raise SdkError("the webhook's body is not an event", code="webhook.body") from None
    if parsed.id != message_id:
        raise SdkError("the event's id is not the signed webhook-id", code="webhook.body")
    return parsed
