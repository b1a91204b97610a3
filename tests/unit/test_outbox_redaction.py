"""Delivered one-time codes do not stay readable in the outbox, except for the development sender."""

from __future__ import annotations

from datetime import UTC, datetime

from yunzhang.domain.notifications import OutboxMessage, OutboxStatus

AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
BODY = "【云章】验证码 482913，5 分钟内有效。2026-12-01 09:00 起生效。"


def _message() -> OutboxMessage:
    return OutboxMessage(channel="sms", recipient="13800138000", body=BODY, created_at=AT,
                         next_attempt_at=AT)


def test_code_is_blanked_once_delivered() -> None:
    message = _message()
    message.mark_sent(at=AT, provider_id="gw-1")
    assert message.status == OutboxStatus.SENT
    assert "482913" not in message.body
    assert message.body == "【云章】验证码 ******，5 分钟内有效。2026-12-01 09:00 起生效。"


def test_development_sender_keeps_the_text_for_operators() -> None:
    message = _message()
    message.mark_sent(at=AT, provider_id=None, keep_body=True)
    assert message.body == BODY


def test_failed_tries_keep_the_code_for_the_retry() -> None:
    message = _message()
    message.mark_failed_try(at=AT, error="gateway down", max_attempts=3)
    assert message.body == BODY and message.status == OutboxStatus.PENDING
