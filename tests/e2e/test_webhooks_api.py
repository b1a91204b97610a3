"""Signed webhooks to a real HTTP receiver on this machine: a request's progress and completion
and a binding are announced; while the receiver is down (503, then not listening at all) every
delivery is retried with growing delays and nothing is lost; once it is back each event arrives
exactly once, signed (Standard Webhooks), and nothing is sent again after acknowledgement. The
operator sees deliveries, changes the URL (a new secret), and redelivers one given up."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock, problem, tiny_png  # noqa: F401
from tests.e2e.roles_support import Cast, cast, company  # noqa: F401
from tests.e2e.seals_support import active_seal, pki, reviewer  # noqa: F401
from tests.e2e.test_scan_sessions_api import new_wallet, view
from tests.e2e.test_signing_requests_api import (
    confirm,
    create,
    created,
    open_step,
    scan,
    stamp_step,
)
from tests.e2e.test_stamps_api import ADMIN, SYSTEMS, basic
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.domain.webhooks import verify
from yunzhang.errors import PermissionDenied
from yunzhang.services.audit import recent_events
from yunzhang.services.webhooks import DeliveryReport, deliver_due_webhooks


class Receiver:
    """A business system's endpoint: answers 503 until ``up``; records what it accepted."""

    def __init__(self) -> None:
        self.up = False
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if not receiver.up:
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.received.append((dict(self.headers.items()), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Any:
    made = Receiver()
    yield made
    made.stop()


def deliver(container: Container) -> DeliveryReport:
    return deliver_due_webhooks(uow=container.uow, sender=container.webhooks,
                                clock=container.clock, keyring=container.keyring,
                                settings=container.settings)


def test_webhooks_survive_an_endpoint_that_is_down_for_a_while(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        reviewer: Any, pki: list[dict[str, Any]], receiver: Receiver) -> None:
    seal = active_seal(client, cast.company, reviewer)
    registered = client.post(SYSTEMS, headers=ADMIN, json={
        "client_id": "bidding.portal", "name": "某某公共资源交易平台",
        "scopes": ["ecommerce.bidding"], "webhook_url": receiver.url})
    assert registered.status_code == 201, registered.text
    secret = registered.json()["webhook_secret"]
    assert secret.startswith("whsec_")
    listed = client.get(SYSTEMS, headers=ADMIN).json()
    assert secret not in json.dumps(listed) and listed[0]["webhook_url"] == receiver.url
    system = {"client_id": "bidding.portal", "secret": registered.json()["client_secret"]}
    legal = new_wallet()
    assert legal.enroll(client, cast.company.legal_rep).status_code == 201
    request = created(create(client, system, [{"seal": seal["id"]}, {"seal": seal["id"]}]))
    for _ in range(2):
        session = open_step(client, system, request["id"]).json()
        assert stamp_step(client, legal, session["id"]).json()["state"] == "confirmed"

    # Down: 503 three times, then not even listening; each try waits longer than the last.
    tries = []
    for _ in range(3):
        assert deliver(container) == DeliveryReport(0, 2, 0)
        rows = client.get(f"{SYSTEMS}/bidding.portal/webhooks", headers=ADMIN).json()
        tries.append(rows[0]["next_attempt_at"])
        assert deliver(container) == DeliveryReport()  # nothing is due before its time
        clock.advance(minutes=2)
    assert receiver.refused == 6 and rows[0]["last_error"] == "HTTP 503"
    receiver.stop()
    assert deliver(container) == DeliveryReport(0, 2, 0)
    rows = client.get(f"{SYSTEMS}/bidding.portal/webhooks", headers=ADMIN).json()
    assert all(r["status"] == "pending" and r["attempts"] == 4 for r in rows)
    assert "no answer" in rows[0]["last_error"]

    # Back up (on the same port): everything arrives once, in order of the events, signed.
    back = Receiver()  # a new endpoint; the operator points the system at it
    changed = client.put(f"{SYSTEMS}/bidding.portal/webhook", headers=ADMIN,
                         json={"url": back.url})
    new_secret = changed.json()["webhook_secret"]
    assert new_secret != secret
    back.up = True
    clock.advance(hours=1)
    assert deliver(container) == DeliveryReport(2, 0, 0)
    bodies = []
    for headers, body in back.received:
        verify(new_secret, headers, body, now=clock.now())
        with pytest.raises(PermissionDenied):
            verify(secret, headers, body, now=clock.now())  # the old secret no longer signs
        bodies.append(json.loads(body))
        assert bodies[-1]["id"] == headers["webhook-id"]  # receivers deduplicate by it
    assert deliver(container) == DeliveryReport()  # acknowledged: never sent again
    clock.advance(hours=2)
    assert deliver(container) == DeliveryReport()
    assert len(back.received) == 2
    assert sorted(b["type"] for b in bodies) == ["signing_request.completed",
                                                  "signing_request.progress"]
    completed = next(b for b in bodies if b["type"] == "signing_request.completed")
    assert completed["data"]["id"] == request["id"] and completed["data"]["status"] == "completed"
    assert completed["data"]["progress"] == {"done": 2, "total": 2}
    back.stop()
    actions = [e.action for e in recent_events(uow=container.uow, limit=60)]
    assert actions.count("webhook:deliver") >= 2 + 8


def test_a_delivery_given_up_is_listed_and_redelivered(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        reviewer: Any, pki: list[dict[str, Any]], receiver: Receiver) -> None:
    seal = active_seal(client, cast.company, reviewer)
    registered = client.post(SYSTEMS, headers=ADMIN, json={
        "client_id": "bidding.portal", "name": "某某公共资源交易平台",
        "scopes": ["ecommerce.bidding"], "webhook_url": receiver.url}).json()
    system = {"client_id": "bidding.portal", "secret": registered["client_secret"]}
    legal = new_wallet()
    assert legal.enroll(client, cast.company.legal_rep).status_code == 201
    asked = client.post("/api/v1/bindings", headers=basic(system["client_id"], system["secret"]),
                        json={"uscc": cast.company.uscc, "account": "acct-9",
                              "seal_type": "contract"}).json()
    shown = view(client, asked["id"])
    assert scan(client, legal, shown).status_code == 200
    assert confirm(client, legal, shown).status_code == 200
    hours, rounds = container.settings.webhook_give_up_hours, 0
    while deliver(container).given_up == 0:
        clock.advance(hours=1)
        rounds += 1
        assert rounds <= hours + 1, "given up within YUNZHANG_WEBHOOK_GIVE_UP_HOURS"
    assert rounds >= hours - 1  # and not before
    row = client.get(f"{SYSTEMS}/bidding.portal/webhooks", headers=ADMIN).json()[0]
    assert row["status"] == "failed" and row["event"] == "binding.created"
    actions = [e.action for e in recent_events(uow=container.uow, limit=200)]
    assert "webhook:give_up" in actions
    receiver.up = True
    again = client.post(f"{SYSTEMS}/webhooks/{row['id']}/redeliver", headers=ADMIN)
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert deliver(container) == DeliveryReport(1, 0, 0)
    headers, body = receiver.received[0]
    verify(registered["webhook_secret"], headers, body, now=clock.now())
    data = json.loads(body)["data"]
    assert (data["account"], data["status"], data["subject"]) == ("acct-9", "active", "seal")
    problem(client.post(f"{SYSTEMS}/webhooks/00000000-0000-4000-8000-000000000000/redeliver",
                        headers=ADMIN), 404, "webhook.not_found")


def test_webhook_settings_refuse_bad_urls_and_unknown_systems(client: TestClient) -> None:
    for url in ("ftp://x.example/h", "http://bidding.example/h", "https://u:p@x.example/h",
                "https://x.example/h#f", "not a url"):
        problem(client.post(SYSTEMS, headers=ADMIN, json={
            "client_id": "bidding.portal", "name": "n", "scopes": ["ecommerce.bidding"],
            "webhook_url": url}), 422, "business_system.webhook_url")
    assert client.get(SYSTEMS, headers=ADMIN).json() == []
    problem(client.put(f"{SYSTEMS}/no.such/webhook", headers=ADMIN,
                       json={"url": "https://x.example/h"}), 404, "business_system.not_found")
    assert client.put(f"{SYSTEMS}/no.such/webhook", json={"url": None}).status_code == 401

