"""The HTTP provider adapters against a real local HTTP server (SMS gateway, identity verifier,
liveness checker), and the SMS outbox delivering through that gateway end to end: retries with
backoff, giving up, never sending twice, an audit event for every try."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.identity import HttpIdentityVerifier, HttpLivenessChecker
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.adapters.sms import HttpSmsSender
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import load_settings
from yunzhang.domain.audit import AuditEvent
from yunzhang.domain.notifications import CodePurpose, OutboxMessage, OutboxStatus
from yunzhang.errors import ExternalServiceError
from yunzhang.services import notifications
from yunzhang.services.context import Caller
from yunzhang.services.notifications import DeliveryReport
from yunzhang.services.persons import SendSmsCode, send_sms_code
from yunzhang.services.ports import SmsReceipt, VerifierAnswer

PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


# --- A real HTTP server that records requests and answers as told ----------------------------

@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode())


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeProvider:
    """What the server received, and how it answers (``respond`` sees each request)."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    respond: Callable[[Recorded], Reply] = lambda _request: Reply()

    def always(self, reply: Reply) -> None:
        self.respond = lambda _request: reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


def _handler(provider: FakeProvider, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                               body)
            with lock:
                provider.requests.append(request)
            reply = provider.respond(request)
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    server = _Server(("127.0.0.1", 0), _handler(fake, threading.Lock()))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_url() -> Iterator[str]:
    """A port bound but not listening: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api"


# --- SMS gateway -----------------------------------------------------------------------------

def sms_sender(url: str, token: str = "gw-token", timeout: float = 2.0) -> HttpSmsSender:
    return HttpSmsSender(url, token, timeout=timeout)


def test_sms_is_posted_as_json_with_the_bearer_token(provider: FakeProvider) -> None:
    provider.always(json_reply({"id": "gw-123"}))
    receipt = sms_sender(provider.url + "/sms").send(PHONE, "【云章】验证码 012345")
    assert receipt == SmsReceipt(provider_id="gw-123")
    [request] = provider.requests
    assert request.path == "/sms"
    assert request.headers["authorization"] == "Bearer gw-token"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"to": PHONE, "text": "【云章】验证码 012345"}


def test_sms_without_a_token_sends_no_authorization(provider: FakeProvider) -> None:
    sms_sender(provider.url, token="").send(PHONE, "hello")
    assert "authorization" not in provider.requests[0].headers


@pytest.mark.parametrize(
    ("reply", "provider_id"),
    [
        (json_reply({"id": "abc", "status": "queued"}), "abc"),
        (Reply(body=b'{"id": "abc"}', content_type="application/json; charset=utf-8"), "abc"),
        (json_reply({"id": "x" * 300}), "x" * 128),
        (json_reply({"id": 42}), None),
        (json_reply(["abc"]), None),
        (Reply(body=b"not json", content_type="application/json"), None),
        (Reply(body=b"OK", content_type="text/plain"), None),
        (Reply(status=202, body=b""), None),
    ],
)
def test_sms_provider_id_is_read_when_the_gateway_gives_one(
    provider: FakeProvider, reply: Reply, provider_id: str | None,
) -> None:
    provider.always(reply)
    assert sms_sender(provider.url).send(PHONE, "hello").provider_id == provider_id


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_sms_gateway_refusal(provider: FakeProvider, status: int) -> None:
    provider.always(json_reply({"error": "no"}, status))
    with pytest.raises(ExternalServiceError) as caught:
        sms_sender(provider.url).send(PHONE, "hello")
    assert caught.value.code == "sms.gateway_refused"
    assert str(status) in caught.value.detail


def test_sms_gateway_unreachable(closed_url: str) -> None:
    with pytest.raises(ExternalServiceError) as caught:
        sms_sender(closed_url, token="gw-secret-token").send(PHONE, "hello")
    assert caught.value.code == "sms.gateway_unreachable"
    assert "gw-secret-token" not in caught.value.detail


def test_sms_gateway_too_slow_is_unreachable(provider: FakeProvider) -> None:
    provider.always(Reply(delay=1.0))
    started = time.monotonic()
    with pytest.raises(ExternalServiceError) as caught:
        sms_sender(provider.url, timeout=0.2).send(PHONE, "hello")
    assert caught.value.code == "sms.gateway_unreachable"
    assert time.monotonic() - started < 0.9


# --- Identity verifier (实名) and liveness checker (实人) --------------------------------------

KINDS = ["identity", "liveness"]


def ask(kind: str, url: str, *, token: str = "prov-token", timeout: float = 2.0) -> VerifierAnswer:
    if kind == "identity":
        return HttpIdentityVerifier(url, token, timeout=timeout).verify(
            name="张三", id_number=ID_NUMBER, phone=PHONE)
    return HttpLivenessChecker(url, token, timeout=timeout).check(
        name="张三", id_number=ID_NUMBER, face_image=JPEG)


def ask_fails(kind: str, url: str, *, timeout: float = 2.0) -> ExternalServiceError:
    with pytest.raises(ExternalServiceError) as caught:
        ask(kind, url, timeout=timeout)
    return caught.value


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("identity", {"name": "张三", "id_number": ID_NUMBER, "phone": PHONE}),
        ("liveness", {"name": "张三", "id_number": ID_NUMBER,
                      "image": base64.b64encode(JPEG).decode()}),
    ],
)
def test_provider_receives_the_documented_json(provider: FakeProvider, kind: str,
                                               payload: dict[str, str]) -> None:
    provider.always(json_reply({"match": True}))
    ask(kind, provider.url + "/check")
    [request] = provider.requests
    assert request.path == "/check"
    assert request.headers["authorization"] == "Bearer prov-token"
    assert request.json() == payload


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"match": True, "reason": "一致", "ref": "r-1"}, VerifierAnswer(True, "一致", "r-1")),
        ({"match": False, "reason": "姓名与号码不一致"}, VerifierAnswer(False, "姓名与号码不一致")),
        ({"match": True}, VerifierAnswer(True, "matched")),
        ({"match": False, "reason": ""}, VerifierAnswer(False, "not matched")),
        ({"match": False, "reason": "r" * 500, "ref": "f" * 500},
         VerifierAnswer(False, "r" * 200, "f" * 128)),
    ],
)
def test_provider_answer_is_parsed(provider: FakeProvider, kind: str, answer: dict[str, Any],
                                   expected: VerifierAnswer) -> None:
    provider.always(json_reply(answer))
    assert ask(kind, provider.url) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_provider_reason_never_carries_the_full_id_number(provider: FakeProvider, kind: str) -> None:
    # The reason is shown to the person and written to the audit log (ports.VerifierAnswer).
    provider.always(json_reply({"match": False, "reason": f"{ID_NUMBER} 与姓名不一致"}))
    answer = ask(kind, provider.url)
    assert ID_NUMBER not in answer.reason
    assert answer.reason.endswith("与姓名不一致")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "reply",
    [
        json_reply({"reason": "ok"}),
        json_reply({"match": "true"}),
        json_reply({"match": 1}),
        json_reply({"match": None}),
        json_reply([True]),
        Reply(body=b"<html>busy</html>", content_type="text/html"),
        Reply(body=b"", content_type="application/json"),
    ],
    ids=["missing", "string", "number", "null", "array", "html", "empty"],
)
def test_malformed_answer(provider: FakeProvider, kind: str, reply: Reply) -> None:
    provider.always(reply)
    assert ask_fails(kind, provider.url).code == f"{kind}.provider_malformed"


@pytest.mark.parametrize("kind", KINDS)
def test_provider_refusal(provider: FakeProvider, kind: str) -> None:
    provider.always(json_reply({"match": True}, 503))
    error = ask_fails(kind, provider.url)
    assert error.code == f"{kind}.provider_refused"
    assert "503" in error.detail


@pytest.mark.parametrize("kind", KINDS)
def test_provider_unreachable(closed_url: str, kind: str) -> None:
    assert ask_fails(kind, closed_url).code == f"{kind}.provider_unreachable"


@pytest.mark.parametrize("kind", KINDS)
def test_provider_timeout_is_unreachable(provider: FakeProvider, kind: str) -> None:
    provider.always(Reply(body=b'{"match": true}', delay=1.0))
    started = time.monotonic()
    assert ask_fails(kind, provider.url, timeout=0.2).code == f"{kind}.provider_unreachable"
    assert time.monotonic() - started < 0.9


# --- The outbox delivering through the HTTP gateway ------------------------------------------

@pytest.fixture
def gateway_container(container: Container, provider: FakeProvider) -> Container:
    """The test container, rebuilt by bootstrap with the HTTP SMS gateway chosen in settings."""
    settings = load_settings(env="development", data_dir=container.settings.data_dir,
                             sms_sender="http", sms_http_url=provider.url + "/sms",
                             sms_http_token="gw-token", provider_timeout_seconds=2)
    built = build_container(settings, engine=container.engine,
                            session_factory=container.session_factory, clock=container.clock,
                            passwords=container.passwords, limiter=MemoryRateLimiter())
    assert isinstance(built.sms, HttpSmsSender)
    provider.always(json_reply({"id": "gw-1"}))
    return built


def queue(c: Container, phone: str = PHONE, body: str = "【云章】您的申请已受理") -> uuid.UUID:
    with c.uow() as tx:
        message = notifications.queue_sms(tx, phone=phone, body=body, at=c.clock.now())
        tx.commit()
    return message.id


def deliver(c: Container, sender: Any = None) -> DeliveryReport:
    return notifications.deliver_due(uow=c.uow, sender=sender or c.sms, clock=c.clock,
                                     max_attempts=c.settings.outbox_max_attempts)


def stored(c: Container, message_id: uuid.UUID) -> OutboxMessage:
    with c.uow() as tx:
        found = tx.outbox.get(message_id)
        assert found is not None
        return found


def audit_of(c: Container, message_id: uuid.UUID) -> list[AuditEvent]:
    with c.uow() as tx:
        return list(reversed(tx.audit.recent(limit=100, subject=f"outbox:{message_id}")))


def test_sms_code_is_delivered_once_and_audited(gateway_container: Container,
                                                provider: FakeProvider) -> None:
    c = gateway_container
    send_sms_code(SendSmsCode(PHONE, CodePurpose.REGISTER), caller=Caller("anonymous"),
                  uow=c.uow, keyring=c.keyring, limiter=c.limiter, clock=c.clock,
                  settings=c.settings)
    assert deliver(c) == DeliveryReport(sent=1)
    [request] = provider.requests
    assert request.headers["authorization"] == "Bearer gw-token"
    assert request.json()["to"] == PHONE
    assert re.search(r"验证码 \d{6}", request.json()["text"])

    with c.uow() as tx:
        [message] = tx.outbox.recent(limit=10, recipient=PHONE)
    assert (message.status, message.attempts, message.provider_id) == (OutboxStatus.SENT, 1, "gw-1")
    assert message.sent_at == c.clock.now()

    assert deliver(c) == DeliveryReport()
    assert isinstance(c.clock, FixedClock)
    c.clock.advance(hours=2)
    assert deliver(c) == DeliveryReport()
    assert len(provider.requests) == 1

    [event] = audit_of(c, message.id)
    assert (event.action, event.outcome) == ("outbox:deliver", "success")
    assert event.details["to"] == "139****5678"
    assert PHONE not in json.dumps(event.details) and "验证码" not in json.dumps(event.details)


def test_failing_gateway_is_retried_with_backoff_then_given_up(
    gateway_container: Container, provider: FakeProvider, clock: FixedClock,
) -> None:
    c = gateway_container
    assert c.settings.outbox_max_attempts == 6
    provider.always(json_reply({"error": "down"}, 500))
    message_id = queue(c)
    for attempt, delay in enumerate([30, 60, 120, 240, 480], start=1):
        tried_at = clock.now()
        assert deliver(c) == DeliveryReport(retrying=1)
        assert len(provider.requests) == attempt
        message = stored(c, message_id)
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, attempt)
        assert message.next_attempt_at == tried_at + timedelta(seconds=delay)
        assert "HTTP 500" in (message.last_error or "")
        clock.advance(seconds=delay - 1)
        assert deliver(c) == DeliveryReport()  # not due yet: the gateway hears nothing
        assert len(provider.requests) == attempt
        clock.advance(seconds=1)

    assert deliver(c) == DeliveryReport(given_up=1)
    assert stored(c, message_id).status is OutboxStatus.FAILED
    clock.advance(days=1)
    assert deliver(c) == DeliveryReport()
    assert len(provider.requests) == 6

    events = audit_of(c, message_id)
    assert [(e.action, e.outcome, e.details["attempt"]) for e in events] == [
        *[("outbox:deliver", "failed", n) for n in range(1, 6)],
        ("outbox:give_up", "failed", 6),
    ]
    assert all("HTTP 500" in e.details["error"] for e in events)


def test_gateway_that_recovers_delivers_on_the_retry(
    gateway_container: Container, provider: FakeProvider, clock: FixedClock,
) -> None:
    c = gateway_container
    provider.always(json_reply({}, 503))
    message_id = queue(c)
    assert deliver(c) == DeliveryReport(retrying=1)
    provider.always(json_reply({"id": "gw-9"}))
    clock.advance(seconds=30)
    assert deliver(c) == DeliveryReport(sent=1)
    message = stored(c, message_id)
    assert (message.status, message.attempts, message.provider_id, message.last_error) == (
        OutboxStatus.SENT, 2, "gw-9", None)
    assert [(e.action, e.outcome) for e in audit_of(c, message_id)] == [
        ("outbox:deliver", "failed"), ("outbox:deliver", "success")]


def test_unreachable_gateway_is_retried(container: Container, closed_url: str) -> None:
    message_id = queue(container)
    assert deliver(container, sms_sender(closed_url)) == DeliveryReport(retrying=1)
    message = stored(container, message_id)
    assert message.next_attempt_at == container.clock.now() + timedelta(seconds=30)
    assert "unreachable" in (message.last_error or "")


def test_every_message_gets_its_own_result_and_audit_event(
    gateway_container: Container, provider: FakeProvider,
) -> None:
    c = gateway_container
    refused = "13700000002"
    provider.respond = lambda r: json_reply({}, 500) if r.json()["to"] == refused else \
        json_reply({"id": "ok-" + r.json()["to"]})
    ids = {phone: queue(c, phone=phone) for phone in ("13600000001", refused, "13800000003")}
    assert deliver(c) == DeliveryReport(sent=2, retrying=1)
    assert sorted(r.json()["to"] for r in provider.requests) == sorted(ids)
    for phone, message_id in ids.items():
        [event] = audit_of(c, message_id)
        assert event.action == "outbox:deliver"
        assert event.outcome == ("failed" if phone == refused else "success")
        assert stored(c, message_id).status is (
            OutboxStatus.PENDING if phone == refused else OutboxStatus.SENT)


def test_a_second_deliverer_running_during_a_send_does_not_send_again(
    gateway_container: Container, provider: FakeProvider,
) -> None:
    c = gateway_container
    queue(c)
    nested: list[DeliveryReport] = []

    class SenderRacedByAnotherDeliverer:
        def send(self, phone: str, body: str) -> SmsReceipt:
            nested.append(deliver(c))  # another process's round, while this send is in flight
            return c.sms.send(phone, body)

    assert deliver(c, SenderRacedByAnotherDeliverer()) == DeliveryReport(sent=1)
    assert nested == [DeliveryReport()]
    assert len(provider.requests) == 1
