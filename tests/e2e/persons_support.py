"""Helpers for the person end-to-end tests: problem checks, row counts, sign-up and login steps.

Imported by tests/e2e/test_persons_api.py, test_person_sessions_api.py and
test_person_verification_api.py; the autouse fixture must be imported by each of them to apply.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.db import tables
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.bootstrap import Container
from yunzhang.domain.audit import AuditEvent
from yunzhang.domain.ids import resident_id_check_char
from yunzhang.domain.notifications import CodePurpose, SmsCode
from yunzhang.services import notifications
from yunzhang.services.audit import recent_events
from yunzhang.web.deps import SESSION_COOKIE

PHONE, PHONE_MASKED = "13912345678", "139****5678"
OTHER_PHONE = "13800138000"
PASSWORD = "s3cret-pass"
NAME = "张三"
ID_A = "11010519491231002" + resident_id_check_char("11010519491231002")  # check char is X
ID_B = "31010119850615321" + resident_id_check_char("31010119850615321")
PROBLEM_JSON = "application/problem+json"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")  # what a CJK input method may type

SMS_CODES, PERSONS, SESSIONS = "/api/v1/sms-codes", "/api/v1/persons", "/api/v1/sessions"
ME, IDENTITY, LIVENESS = "/api/v1/me", "/api/v1/me/identity", "/api/v1/me/liveness"


@pytest.fixture(autouse=True)
def limiter_on_test_clock(container: Container, clock: FixedClock) -> None:
    """Rate-limit windows follow the test clock (which starts on an hour boundary), so no window
    rolls over in the middle of a test and a test can wait a limit out by advancing the clock."""
    container.limiter = MemoryRateLimiter(monotonic=lambda: clock.now().timestamp())


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The RFC 9457 body of a refused request, once its status, media type and code are checked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"urn:yunzhang:problem:{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def counts(container: Container) -> dict[str, int]:
    """Rows in every table a person request can write to."""
    with container.session_factory() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (tables.persons, tables.sms_codes, tables.outbox_messages,
                          tables.web_sessions, tables.audit_events)
        }


def events(container: Container, action: str) -> list[AuditEvent]:
    return [e for e in recent_events(uow=container.uow, limit=1000) if e.action == action]


def live_code(container: Container, phone: str = PHONE) -> SmsCode:
    with container.uow() as tx:
        code = tx.sms_codes.latest(phone, CodePurpose.REGISTER)
    assert code is not None
    return code


def newest_code(container: Container, phone: str = PHONE) -> str:
    [message] = notifications.recent_messages(uow=container.uow, limit=1, recipient=phone)
    found = re.search(r"\d{6}", message.body)
    assert found, message.body
    return found.group(0)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def send_code(client: TestClient, container: Container, phone: str = PHONE) -> str:
    response = client.post(SMS_CODES, json={"phone": phone})
    assert response.status_code == 202, response.text
    return newest_code(container, phone)


def register(client: TestClient, container: Container, phone: str = PHONE) -> dict[str, Any]:
    code = send_code(client, container, phone)
    response = client.post(PERSONS, json={"phone": phone, "password": PASSWORD, "sms_code": code})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass(frozen=True)
class Login:
    token: str
    csrf: str

    def headers(self, csrf: str | None = None) -> dict[str, str]:
        """The session cookie and the CSRF header, sent explicitly so that several people can
        share one client (its cookie jar is emptied after each login)."""
        return {"cookie": f"{SESSION_COOKIE}={self.token}",
                "x-csrf-token": self.csrf if csrf is None else csrf}


def log_in(client: TestClient, phone: str = PHONE) -> Login:
    response = client.post(SESSIONS, json={"phone": phone, "password": PASSWORD})
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return Login(response.cookies[SESSION_COOKIE], response.json()["csrf_token"])


def verified(client: TestClient, container: Container, phone: str = PHONE,
             id_number: str = ID_A) -> Login:
    register(client, container, phone)
    login = log_in(client, phone)
    response = client.post(IDENTITY, json={"name": NAME, "id_number": id_number},
                           headers=login.headers())
    assert response.status_code == 200, response.text
    return login


def set_cookies(response: httpx.Response) -> dict[str, Morsel[str]]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return dict(jar)


def tiny_png() -> bytes:
    """A valid 1x1 RGB PNG made by hand: signature, IHDR, IDAT, IEND (PNG spec §5.2-5.3)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
