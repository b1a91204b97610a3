"""Webhook signatures as the Standard Webhooks specification defines them (its published
example checks out), their verification by receivers, the retry schedule, and secrets sealed at
rest by the keyring."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from yunzhang.adapters.crypto import HmacKeyring
from yunzhang.domain.webhooks import DeliveryStatus, WebhookDelivery, new_secret, sign, verify
from yunzhang.errors import ConfigurationError, InvalidInput, PermissionDenied

T0 = datetime(2026, 11, 22, 8, tzinfo=UTC)


def test_the_specifications_example_signature() -> None:
    # standardwebhooks.com's reference libraries test this secret, id, timestamp and body.
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330, b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(secret: str, body: bytes, at: datetime, message_id: str = "msg_1") -> dict[str, str]:
    stamp = int(at.timestamp())
    return {"Webhook-Id": message_id, "Webhook-Timestamp": str(stamp),
            "Webhook-Signature": sign(secret, message_id, stamp, body)}


def test_a_receiver_accepts_only_what_was_signed_with_its_secret_and_recently() -> None:
    secret, body = new_secret(), b'{"type":"signing_request.completed"}'
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    good = headers(secret, body, T0)
    verify(secret, good, body, now=T0 + timedelta(seconds=30))
    # During a secret rotation the header carries two signatures; one matching is enough.
    verify(secret, {**good, "webhook-signature": f"v1,AAAA {good['Webhook-Signature']}"}, body,
           now=T0)
    cases = [
        (secret, good, body + b" ", "webhook.signature"),  # the body changed
        (new_secret(), good, body, "webhook.signature"),  # another secret
        (secret, {**good, "Webhook-Id": "msg_2"}, body, "webhook.signature"),
        (secret, {k: v for k, v in good.items() if k != "Webhook-Signature"}, body,
         "webhook.signature"),
        (secret, {**good, "Webhook-Timestamp": "soon"}, body, "webhook.signature"),
    ]
    for key, given, payload, code in cases:
        with pytest.raises(PermissionDenied) as refused:
            verify(key, given, payload, now=T0)
        assert refused.value.code == code
    with pytest.raises(PermissionDenied) as stale:
        verify(secret, good, body, now=T0 + timedelta(minutes=6))
    assert stale.value.code == "webhook.stale"
    with pytest.raises(InvalidInput):
        sign("not-a-secret", "msg", 1, b"")


def test_retries_back_off_and_give_up_after_the_window() -> None:
    delivery = WebhookDelivery(business_system="x", event="a.b", body="{}", created_at=T0,
                               next_attempt_at=T0)
    at, waits = T0, []
    while not delivery.failed_try("HTTP 503", at, give_up_after=timedelta(hours=72), jitter=0):
        waits.append(delivery.next_attempt_at - at)
        at = delivery.next_attempt_at
    assert waits[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert max(waits) == timedelta(hours=1)  # never more than an hour between tries
    assert delivery.status is DeliveryStatus.FAILED and at <= T0 + timedelta(hours=72)
    assert delivery.attempts == len(waits) + 1 and delivery.last_error == "HTTP 503"
    delivery.redeliver(at)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


def test_secrets_the_server_reads_back_are_sealed() -> None:
    keyring = HmacKeyring(b"secret-key-" * 3, b"pii-key-" * 4)
    sealed = keyring.seal("webhook_secret", b"whsec_abc")
    assert b"whsec_abc" not in sealed.encode() and sealed.startswith("v1.")
    assert keyring.seal("webhook_secret", b"whsec_abc") != sealed  # a fresh nonce each time
    assert keyring.unseal("webhook_secret", sealed) == b"whsec_abc"
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for purpose, text in (("other_purpose", sealed), ("webhook_secret", tampered),
                          ("webhook_secret", "v2.xyz"), ("webhook_secret", "garbage")):
        with pytest.raises(ConfigurationError) as refused:
            keyring.unseal(purpose, text)
        assert refused.value.code == "keyring.unseal"
    other = HmacKeyring(b"another-key-" * 3, b"pii-key-" * 4)
    with pytest.raises(ConfigurationError):
        other.unseal("webhook_secret", sealed)
