"""A stamp/sign request against a running server (uvicorn, real HTTP, separate database
connections), carried out by the reference wallet library: the demo bidding system asks for the
contract seal and then the signatures of the agent and the legal representative, in order; each
wallet reads the step's QR URL, scans, signs with the key it keeps, confirms; the screen learns
each answer by long polling; the result is judged by pdfsig and qpdf; the webhook receiver,
down while the steps are done, gets every event once it is back, each signature verified."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_pki_live import OPERATOR, server  # noqa: F401
from tests.e2e.test_webhooks_api import Receiver
from tests.e2e.test_stamping import signatures_valid
from tests.e2e.test_stamps_api import basic
from tests.e2e.test_wallet import FAST, LICENSE
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.domain.webhooks import verify
from yunzhang.services import business_systems, webhooks
from yunzhang.services.demo import DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USCC, seed_demo
from yunzhang.wallet import WalletClient, WalletStore

ROOT = Path(__file__).resolve().parents[2]
LEGAL_REP, AGENT = "13800000001", "13800000003"


def wallet(base: str, directory: Path, phone: str) -> WalletClient:
    store = WalletStore(directory, kdf=FAST)
    store.create(base, LICENSE)
    client = WalletClient(store, httpx.Client(base_url=base, timeout=30))
    client.enroll(phone=phone, password=DEMO_PASSWORD, license_password=LICENSE)
    assert store.certificate() is not None, "enrolment certifies a verified person's key"
    client.set_handwriting((ROOT / "examples" / "signature.png").read_bytes(), phone=phone,
                           password=DEMO_PASSWORD, license_password=LICENSE)
    return client


def carry_out(rp: httpx.Client, request_id: str, client: WalletClient) -> dict[str, Any]:
    """The screen asks for a QR code, the wallet answers it, the screen long-polls the result."""
    opened = rp.post(f"/api/v1/signing-requests/{request_id}/scan-sessions", json={}).json()
    found: dict[str, Any] = {}

    def screen() -> None:
        found.update(rp.get(f"/api/v1/scan-sessions/{opened['id']}/result",
                            params={"wait": 20},
                            headers={"X-Poll-Token": opened["poll_token"]}).json())

    watcher = threading.Thread(target=screen)
    watcher.start()
    request = client.read(opened["url"])
    assert request.view["binding_code"] == opened["binding_code"]
    to_sign = client.scan(request, license_password=LICENSE)
    watcher.join(timeout=30)  # the scan is a change: the long poll answers "scanned"
    assert found["state"] == "scanned", found
    assert client.confirm(request, license_password=LICENSE, to_sign=to_sign) == "confirmed"
    final = rp.get(f"/api/v1/scan-sessions/{opened['id']}/result",
                   headers={"X-Poll-Token": opened["poll_token"]}).json()
    assert final["state"] == "confirmed" and final["person_id"], final
    return final


def test_a_request_carried_out_by_two_wallets_over_http(server: Container,  # noqa: F811
                                                          tmp_path: Path) -> None:
    c = server
    seed_demo(caller=OPERATOR, uow=c.uow, keyring=c.keyring, passwords=c.passwords,
              clock=c.clock, settings=c.settings, scopes=c.scopes, keys=c.keys, factory=c.x509,
              artist=c.artist)
    base = c.settings.public_url
    legal = wallet(base, tmp_path / "legal", LEGAL_REP)
    agent = wallet(base, tmp_path / "agent", AGENT)
    hooks = Receiver()  # the bidding system's endpoint, down at first
    webhook_secret = business_systems.set_webhook("demo.bidding", hooks.url, caller=OPERATOR,
                                                  uow=c.uow, keyring=c.keyring).webhook_secret
    assert webhook_secret is not None
    rp = httpx.Client(base_url=base, headers=basic("demo.bidding", DEMO_CLIENT_SECRET),
                      timeout=60)
    original = (ROOT / "examples" / "contract.pdf").read_bytes()
    made = rp.post("/api/v1/signing-requests", json={
        "title": "采购合同", "scope": "ecommerce.bidding", "reference": "PO-7",
        "documents": [{"name": "contract.pdf", "content": base64.b64encode(original).decode()}],
        "steps": [{"seal": f"{DEMO_USCC}:contract", "placement": {"keyword": "盖章处"}},
                  {"signer": AGENT, "placement": {"page": 1, "x_mm": 20, "y_mm": 240}},
                  {"signer": LEGAL_REP, "placement": {"page": 1, "x_mm": 120, "y_mm": 240}}]})
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    carry_out(rp, request_id, legal)  # the legal representative stamps with the cloud seal
    carry_out(rp, request_id, agent)
    carry_out(rp, request_id, legal)
    done = rp.get(f"/api/v1/signing-requests/{request_id}").json()
    assert (done["status"], done["progress"]) == ("completed", "3/3")
    signed = rp.get(f"/api/v1/signing-requests/{request_id}/documents/1")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed.content)
    report = signatures_valid(path, 3)
    assert "合同专用章" in report
    assert signed.content.startswith(original)

    # The endpoint was down while the steps were done; the events wait, then arrive, signed.
    def deliver(after: timedelta) -> webhooks.DeliveryReport:
        return webhooks.deliver_due_webhooks(uow=c.uow, sender=c.webhooks,
                                             clock=FixedClock(c.clock.now() + after),
                                             keyring=c.keyring, settings=c.settings)

    assert deliver(timedelta(0)) == webhooks.DeliveryReport(0, 3, 0)
    hooks.up = True
    assert deliver(timedelta(minutes=5)) == webhooks.DeliveryReport(3, 0, 0)
    events = []
    for headers, body in hooks.received:
        verify(webhook_secret, headers, body, now=c.clock.now() + timedelta(minutes=5))
        events.append(json.loads(body))
    events.sort(key=lambda e: e["data"]["progress"]["done"])  # retries keep no order
    assert [e["data"]["progress"]["done"] for e in events] == [1, 2, 3]
    assert [e["type"] for e in events] == ["signing_request.progress"] * 2 + [
        "signing_request.completed"]
    assert events[-1]["data"]["documents"][0]["sha256"] == done["documents"][0]["sha256"]
    hooks.stop()
