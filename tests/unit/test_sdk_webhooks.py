"""The SDK's webhook check against the platform's own signer (domain.webhooks.sign, what the
server sends with): a delivery as sent verifies; a changed body, a wrong or rotated-away secret,
an old or future timestamp, missing headers, a body whose id is not the signed one are each
refused with their own code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from yunzhang.domain.webhooks import new_secret, sign
from yunzhang.sdk import SdkError, sign_webhook, verify_webhook

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SECRET = new_secret()


def delivery(*, secret: str = SECRET, at: datetime = NOW, message_id: str = "msg_1f2e",
             body_id: str | None = None) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"id": body_id or message_id, "type": "signing_request.completed",
                       "timestamp": at.isoformat(),
                       "data": {"id": "r-1", "status": "completed", "reference": "投标-7"}},
                      ensure_ascii=False, separators=(",", ":")).encode()
    stamp = int(at.timestamp())
    return {"webhook-id": message_id, "webhook-timestamp": str(stamp),
            "webhook-signature": sign(secret, message_id, stamp, body)}, body


def refused(code: str, headers: dict[str, str], body: bytes, *, secret: str = SECRET,
            now: datetime = NOW) -> None:
    with pytest.raises(SdkError) as caught:
        verify_webhook(secret, headers, body, now=now)
    assert caught.value.code == code, caught.value


def test_a_delivery_as_the_platform_signs_it_verifies() -> None:
    headers, body = delivery()
    event = verify_webhook(SECRET, headers, body, now=NOW + timedelta(minutes=4))
    assert (event.id, event.type, event.data["reference"]) == ("msg_1f2e",
                                                               "signing_request.completed", "投标-7")
    assert event.timestamp == NOW
    # Header names in any case (HTTP servers hand them over differently).
    assert verify_webhook(SECRET, {k.title(): v for k, v in headers.items()}, body, now=NOW)
    assert sign_webhook(SECRET, "msg_1f2e", int(NOW.timestamp()), body) == \
        headers["webhook-signature"]


def test_tampering_and_wrong_secrets_are_refused() -> None:
    headers, body = delivery()
    refused("webhook.signature", headers, body.replace(b"completed", b"declined"))
    refused("webhook.signature", headers, body + b" ")
    refused("webhook.signature", headers, body, secret=new_secret())
    refused("webhook.signature", {**headers, "webhook-id": "msg_other"}, body)
    later = str(int(headers["webhook-timestamp"]) + 1)
    refused("webhook.signature", {**headers, "webhook-timestamp": later}, body)
    refused("webhook.signature", {**headers, "webhook-signature": "v1,"}, body)
    refused("webhook.signature", {**headers, "webhook-signature": "v1,not base64!"}, body)
    refused("webhook.secret", headers, body, secret="not-a-whsec-secret")
    refused("webhook.secret", headers, body, secret="whsec_???")


def test_old_and_future_timestamps_are_refused() -> None:
    headers, body = delivery()
    refused("webhook.stale", headers, body, now=NOW + timedelta(minutes=5, seconds=1))
    refused("webhook.stale", headers, body, now=NOW - timedelta(minutes=5, seconds=1))
    verify_webhook(SECRET, headers, body, now=NOW + timedelta(minutes=5))


def test_missing_headers_and_foreign_bodies_are_refused() -> None:
    headers, body = delivery()
    for name in headers:
        refused("webhook.headers", {k: v for k, v in headers.items() if k != name}, body)
    refused("webhook.headers", {**headers, "webhook-timestamp": "soon"}, body)
    # Correctly signed, but the body names another event than the signed id.
    headers, body = delivery(body_id="msg_another")
    refused("webhook.body", headers, body)
    stamp = int(NOW.timestamp())
    junk = b"not json"
    refused("webhook.body", {"webhook-id": "msg_1", "webhook-timestamp": str(stamp),
                             "webhook-signature": sign(SECRET, "msg_1", stamp, junk)}, junk)


def test_one_matching_signature_among_several_is_enough() -> None:
    """During a secret rotation the header carries one signature per secret."""
    headers, body = delivery()
    stamp = int(NOW.timestamp())
    old = sign(new_secret(), "msg_1f2e", stamp, body)
    both = {**headers, "webhook-signature": f"v2,abc {old} {headers['webhook-signature']}"}
    assert verify_webhook(SECRET, both, body, now=NOW).id == "msg_1f2e"
    refused("webhook.signature", {**headers, "webhook-signature": f"v2,abc {old}"}, body)
