"""The person sign-up endpoints over HTTP: SMS codes and registration, including body limits.

Every refusal is checked for its status, its RFC 9457 media type and stable `code`, and for having
written nothing it should not (rows counted before and after, audit events read back). Sessions
and verification are in test_person_sessions_api.py and test_person_verification_api.py.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import (
    FULL_WIDTH,
    ID_A,
    OTHER_PHONE,
    PASSWORD,
    PERSONS,
    PHONE,
    PHONE_MASKED,
    SMS_CODES,
    at,
    counts,
    events,
    limiter_on_test_clock,  # noqa: F401  (an autouse fixture: importing it applies it here)
    live_code,
    newest_code,
    other_code,
    problem,
    register,
    send_code,
    verified,
)
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.domain.ids import FULL_ID_NUMBER
from yunzhang.services import notifications


# --- SMS codes ---------------------------------------------------------------------------------

def test_sms_code_is_queued_with_its_code(client: TestClient, container: Container,
                                          clock: FixedClock) -> None:
    before = counts(container)
    response = client.post(SMS_CODES, json={"phone": "+86 139-1234-5678"})
    assert response.status_code == 202, response.text
    assert at(response.json()["expires_at"]) == clock.now() + timedelta(seconds=300)
    [message] = notifications.recent_messages(uow=container.uow, limit=5)
    assert message.recipient == PHONE  # the +86 form is stored as the bare number
    code = newest_code(container)
    assert counts(container) == before | {
        "sms_codes": before["sms_codes"] + 1, "outbox_messages": before["outbox_messages"] + 1,
        "audit_events": before["audit_events"] + 1}
    [sent] = events(container, "sms_code:send")
    assert sent.subject == f"phone:{PHONE_MASKED}"
    assert PHONE not in json.dumps(sent.details)
    created = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": code})
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("phone", ["1391234567", "23912345678", "139123456789", "phone"])
def test_sms_code_refuses_malformed_phone(client: TestClient, container: Container,
                                          phone: str) -> None:
    before = counts(container)
    problem(client.post(SMS_CODES, json={"phone": phone}), 422, "phone.format")
    assert counts(container) == before


def test_full_width_digits_do_not_make_another_phone_number(
        client: TestClient, container: Container, clock: FixedClock) -> None:
    register(client, container)
    clock.advance(seconds=61)
    before = counts(container)
    look_alike = PHONE[:2] + PHONE[2:].translate(FULL_WIDTH)
    problem(client.post(SMS_CODES, json={"phone": look_alike}), 422, "phone.format")
    problem(client.post(PERSONS, json={"phone": look_alike, "password": PASSWORD,
                                       "sms_code": "123456"}), 422, "phone.format")
    assert counts(container) == before


def test_sms_code_refused_for_registered_phone(client: TestClient, container: Container,
                                               clock: FixedClock) -> None:
    register(client, container)
    clock.advance(seconds=61)
    before = counts(container)
    problem(client.post(SMS_CODES, json={"phone": PHONE}), 409, "person.phone_taken")
    assert counts(container) == before


def test_sms_login_code_needs_an_account(client: TestClient, container: Container) -> None:
    before = counts(container)
    problem(client.post(SMS_CODES, json={"phone": PHONE, "purpose": "login"}), 404,
            "person.not_found")
    assert counts(container) == before


def test_resend_too_soon_is_refused_and_keeps_the_first_code(
        client: TestClient, container: Container, clock: FixedClock) -> None:
    code = send_code(client, container)
    before = counts(container)
    refused = client.post(SMS_CODES, json={"phone": PHONE})
    body = problem(refused, 429, "sms_code.too_soon")
    retry_after = int(refused.headers["retry-after"])
    assert body["retry_after"] == retry_after and 60 <= retry_after <= 61
    clock.advance(seconds=59)
    late = client.post(SMS_CODES, json={"phone": PHONE})
    problem(late, 429, "sms_code.too_soon")
    assert 1 <= int(late.headers["retry-after"]) <= 2
    assert counts(container) == before  # no code, no message, no audit event for a refusal
    created = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": code})
    assert created.status_code == 201, created.text


def test_waiting_retry_after_allows_a_resend_that_replaces_the_code(
        client: TestClient, container: Container, clock: FixedClock) -> None:
    first = send_code(client, container)
    clock.advance(seconds=30)
    refused = client.post(SMS_CODES, json={"phone": PHONE})
    problem(refused, 429, "sms_code.too_soon")
    clock.advance(seconds=int(refused.headers["retry-after"]))
    second = send_code(client, container)
    assert second != first
    old = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": first})
    problem(old, 422, "sms_code.wrong")
    new = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": second})
    assert new.status_code == 201, new.text


def test_sixth_code_in_an_hour_is_refused(client: TestClient, container: Container,
                                          clock: FixedClock) -> None:
    for _ in range(5):
        send_code(client, container)
        clock.advance(seconds=61)
    before = counts(container)
    refused = client.post(SMS_CODES, json={"phone": PHONE})
    body = problem(refused, 429, "rate_limited")
    retry_after = int(refused.headers["retry-after"])
    assert body["retry_after"] == retry_after and 0 < retry_after <= 3600
    assert counts(container) == before
    assert len(notifications.recent_messages(uow=container.uow, limit=10, recipient=PHONE)) == 5
    send_code(client, container, OTHER_PHONE)  # the limit is per number
    clock.advance(seconds=retry_after)
    send_code(client, container)


def test_messages_never_carry_password_or_id_number(client: TestClient, container: Container,
                                                    clock: FixedClock) -> None:
    verified(client, container)
    clock.advance(seconds=61)
    assert client.post(SMS_CODES, json={"phone": PHONE, "purpose": "login"}).status_code == 202
    messages = notifications.recent_messages(uow=container.uow, limit=10)
    assert len(messages) == 2
    for message in messages:
        assert re.search(r"\d{6}", message.body)
        assert PASSWORD not in message.body
        assert ID_A not in message.body and not FULL_ID_NUMBER.search(message.body)


# --- registration ------------------------------------------------------------------------------

def test_register_creates_person_and_audit_event(client: TestClient, container: Container,
                                                 clock: FixedClock) -> None:
    code = send_code(client, container)
    before = counts(container)
    response = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": code})
    assert response.status_code == 201, response.text
    person = response.json()
    assert set(person) == {"id", "phone", "name", "id_number_masked", "verification_level",
                           "identity_verified_at", "liveness_verified_at", "created_at"}
    assert person["phone"] == PHONE and person["verification_level"] == "none"
    assert at(person["created_at"]) == clock.now()
    assert PASSWORD not in response.text
    assert counts(container) == before | {"persons": before["persons"] + 1,
                                          "audit_events": before["audit_events"] + 1}
    [event] = events(container, "person:register")
    assert event.subject == f"person:{person['id']}" and event.outcome == "success"
    assert event.details == {"phone": PHONE_MASKED}
    assert live_code(container).state == "used"


def test_wrong_code_costs_one_try_and_writes_no_person(client: TestClient,
                                                       container: Container) -> None:
    code = send_code(client, container)
    before = counts(container)
    wrong = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD,
                                       "sms_code": other_code(code)})
    assert problem(wrong, 422, "sms_code.wrong")["tries_left"] == 4
    assert counts(container) == before
    assert events(container, "person:register") == []
    assert live_code(container).attempts == 1


def test_registration_without_a_code_sent_is_refused(client: TestClient,
                                                     container: Container) -> None:
    before = counts(container)
    never = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": "123456"})
    problem(never, 422, "sms_code.missing")
    assert counts(container) == before


def test_five_wrong_tries_kill_the_code(client: TestClient, container: Container,
                                        clock: FixedClock) -> None:
    code = send_code(client, container)
    attempt = {"phone": PHONE, "password": PASSWORD, "sms_code": other_code(code)}
    for left in (4, 3, 2, 1):
        assert problem(client.post(PERSONS, json=attempt), 422, "sms_code.wrong")["tries_left"] == left
    problem(client.post(PERSONS, json=attempt), 422, "sms_code.dead")
    right = client.post(PERSONS, json=attempt | {"sms_code": code})
    problem(right, 422, "sms_code.dead")
    assert counts(container)["persons"] == 0
    assert events(container, "person:register") == []
    clock.advance(seconds=61)
    register(client, container)  # a fresh code works again


def test_expired_code_is_refused(client: TestClient, container: Container,
                                 clock: FixedClock) -> None:
    code = send_code(client, container)
    clock.advance(seconds=301)
    before = counts(container)
    late = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": code})
    problem(late, 422, "sms_code.expired")
    assert counts(container) == before
    assert live_code(container).attempts == 0


def test_used_code_cannot_be_replayed(client: TestClient, container: Container) -> None:
    # Once a register code is spent the phone is taken, so a replay is refused as a duplicate
    # before the code is even looked at; the code itself is marked used either way.
    code = send_code(client, container)
    body = {"phone": PHONE, "password": PASSWORD, "sms_code": code}
    assert client.post(PERSONS, json=body).status_code == 201
    before = counts(container)
    problem(client.post(PERSONS, json=body), 409, "person.phone_taken")
    problem(client.post(PERSONS, json=body | {"password": "other-pass-9"}), 409,
            "person.phone_taken")
    assert counts(container) == before
    assert len(events(container, "person:register")) == 1
    assert live_code(container).state == "used"


@pytest.mark.parametrize(("password", "code"), [
    ("abc1234", "password.too_short"),
    ("abcdefghij", "password.too_simple"),
    ("1234567890", "password.too_simple"),
])
def test_weak_password_is_refused_without_burning_the_code(
        client: TestClient, container: Container, password: str, code: str) -> None:
    sms_code = send_code(client, container)
    before = counts(container)
    weak = client.post(PERSONS, json={"phone": PHONE, "password": password, "sms_code": sms_code})
    problem(weak, 422, code)
    assert counts(container) == before
    stored = live_code(container)
    assert (stored.state, stored.attempts) == ("live", 0)
    good = client.post(PERSONS, json={"phone": PHONE, "password": PASSWORD, "sms_code": sms_code})
    assert good.status_code == 201, good.text


def test_duplicate_registration_is_refused(client: TestClient, container: Container) -> None:
    register(client, container)
    before = counts(container)
    again = client.post(PERSONS, json={"phone": "+86 139 1234 5678", "password": PASSWORD,
                                       "sms_code": "123456"})
    problem(again, 409, "person.phone_taken")
    assert counts(container) == before


@pytest.mark.parametrize(("content", "code", "field"), [
    (b'{"phone": "13912345678", "password": "s3cret-pass", "sms_code": "123456", "admin": true}',
     "request.unknown_field", "admin"),
    (b'{"phone": "13912345678", "password": ', "request.malformed_json", None),
    (b'{"phone": "13912345678"}', "request.invalid", "password"),
    (b'{"phone": "13912345678", "password": "s3cret-pass", "sms_code": "12a456"}',
     "request.invalid", "sms_code"),
], ids=["unknown-field", "malformed-json", "missing-fields", "non-digit-code"])
def test_bad_request_bodies_are_refused(client: TestClient, container: Container,
                                        content: bytes, code: str, field: str | None) -> None:
    send_code(client, container)
    before = counts(container)
    body = problem(client.post(PERSONS, content=content,
                               headers={"content-type": "application/json"}), 422, code)
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}
    assert counts(container) == before
    assert (live_code(container).state, live_code(container).attempts) == ("live", 0)


def _padded(size: int) -> bytes:
    """A registration body with an unknown `pad` field, exactly ``size`` bytes long."""
    empty = json.dumps({"phone": PHONE, "password": PASSWORD, "sms_code": "123456", "pad": ""})
    return empty.replace('"pad": ""', '"pad": "' + "x" * (size - len(empty)) + '"').encode()


def test_body_over_one_mib_with_content_length_is_refused(client: TestClient,
                                                          container: Container) -> None:
    before = counts(container)
    content = _padded(container.settings.max_body_bytes + 1)
    response = client.post(PERSONS, content=content, headers={"content-type": "application/json"})
    problem(response, 413, "request.too_large")
    assert counts(container) == before


def test_chunked_body_over_one_mib_is_refused(client: TestClient, container: Container) -> None:
    before = counts(container)
    content = _padded(container.settings.max_body_bytes + 1)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 65536):
            yield content[start:start + 65536]

    request = client.build_request("POST", PERSONS, content=chunks(),
                                   headers={"content-type": "application/json"})
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    problem(client.send(request), 413, "request.too_large")
    assert counts(container) == before


def test_body_of_exactly_one_mib_is_read(client: TestClient, container: Container) -> None:
    content = _padded(container.settings.max_body_bytes)
    assert len(content) == container.settings.max_body_bytes
    response = client.post(PERSONS, content=content, headers={"content-type": "application/json"})
    problem(response, 422, "request.unknown_field")  # parsed, so it passed the size limit


def test_streamed_body_is_cut_off_at_the_limit(client: TestClient, container: Container) -> None:
    """Driven at the ASGI level: the app stops reading a chunked upload once it passes the limit,
    instead of buffering all of it."""
    chunk, total = b"x" * 65536, 64  # 4 MiB offered
    consumed = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        consumed += 1
        return {"type": "http.request", "body": chunk, "more_body": consumed < total}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": PERSONS, "raw_path": PERSONS.encode(), "query_string": b"",
             "root_path": "", "client": ("testclient", 5000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")]}
    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "request.too_large"
    assert consumed == container.settings.max_body_bytes // len(chunk) + 1
