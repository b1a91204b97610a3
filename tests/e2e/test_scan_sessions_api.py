"""Scan sessions over HTTP, with a wallet's device key made here (EC P-256, as a phone would):
enrolment with proof of possession; a business system opens a session; the wallet reads what is
asked, scans, confirms or denies with signed steps; the screen learns the answer only with its
poll token. Refusals: another device, a wrong or replayed signature, a revoked device, expiry,
a used session, unknown sessions, tampered requests."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock, problem  # noqa: F401
from tests.e2e.roles_support import API, Cast, Person, cast, company, post  # noqa: F401
from tests.e2e.test_stamps_api import basic, register
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.services.audit import recent_events

SESSIONS = f"{API}/scan-sessions"
DOC = {"name": "投标文件.pdf", "sha256": hashlib.sha256(b"bid").hexdigest()}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Wallet:
    """The wallet's part, written from the protocol in docs/scan-sessions.md."""

    key: ec.EllipticCurvePrivateKey
    device_id: str = ""

    @property
    def public_der(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def enroll(self, client: TestClient, person: Person, name: str = "我的手机") -> httpx.Response:
        message = b"\n".join([b"yunzhang-device-v1", person.id.encode(),
                              hashlib.sha256(self.public_der).hexdigest().encode()])
        response: httpx.Response = post(client, f"{API}/me/devices", person, {
            "name": name, "public_key": b64(self.public_der),
            "proof": b64(self.key.sign(message, ec.ECDSA(hashes.SHA256())))})
        if response.status_code == 201:
            self.device_id = response.json()["id"]
        return response

    @staticmethod
    def digest(view: dict[str, Any]) -> str:
        shown = {k: view[k] for k in ("id", "business_system", "action", "subject", "documents",
                                      "scope", "binding_code", "expires_at")}
        canonical = json.dumps(shown, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def signature(self, view: dict[str, Any], step: str) -> str:
        message = b"\n".join([b"yunzhang-scan-v1", step.encode(), view["id"].encode(),
                              view["nonce"].encode(), self.digest(view).encode()])
        return b64(self.key.sign(message, ec.ECDSA(hashes.SHA256())))

    def step(self, client: TestClient, view: dict[str, Any], step: str,
             signature: str | None = None) -> httpx.Response:
        response: httpx.Response = client.post(
            f"{SESSIONS}/{view['id']}/{step}",
            json={"device_id": self.device_id, "signature": signature or self.signature(view, step)})
        return response


def new_wallet() -> Wallet:
    return Wallet(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def system(client: TestClient) -> dict[str, str]:
    return register(client)


@pytest.fixture
def wallet(client: TestClient, cast: Cast) -> Wallet:
    made = new_wallet()
    assert made.enroll(client, cast.company.legal_rep).status_code == 201
    return made


def open_session(client: TestClient, system: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(SESSIONS, headers={**basic(system["client_id"], system["secret"]),
                                              "User-Agent": "BidPortal/3.1"},
                           json={"action": "login", **body})
    assert response.status_code == 201, response.text
    opened: dict[str, Any] = response.json()
    return opened


def view(client: TestClient, session_id: str) -> dict[str, Any]:
    response = client.get(f"{SESSIONS}/{session_id}")
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


def result(client: TestClient, opened: dict[str, Any], token: str | None = None,
           **params: Any) -> httpx.Response:
    response: httpx.Response = client.get(
        f"{SESSIONS}/{opened['id']}/result", params=params,
        headers={"X-Poll-Token": token if token is not None else opened["poll_token"]})
    return response


def test_a_login_scan_from_open_to_confirmed(client: TestClient, container: Container,
                                             cast: Cast, system: dict[str, str],
                                             wallet: Wallet) -> None:
    opened = open_session(client, system)
    assert len(base64.urlsafe_b64decode(opened["id"] + "==")) * 8 >= 128
    assert opened["url"] == f"http://127.0.0.1:8000/s/{opened['id']}"
    assert opened["binding_code"] is None  # login: no documents to match
    shown = view(client, opened["id"])
    assert (shown["business_system_name"], shown["action"], shown["state"]) == (
        "某某公共资源交易平台", "login", "pending")
    assert shown["requester_agent"] == "BidPortal/3.1" and shown["requester_ip"]
    assert shown["digest"] == Wallet.digest(shown)  # the wallet signs what it showed
    assert "poll_token" not in shown and "person_id" not in shown
    assert result(client, opened).json()["state"] == "pending"

    assert wallet.step(client, shown, "scan").json()["state"] == "scanned"
    assert result(client, opened).json()["state"] == "scanned"
    assert wallet.step(client, shown, "confirm").json()["state"] == "confirmed"
    done = result(client, opened).json()
    assert done["state"] == "confirmed" and done["person_id"] == cast.company.legal_rep.id
    # The confirmation is evidence in the audit log: device, person, digest and signature.
    [confirmed] = [e for e in recent_events(uow=container.uow, limit=10)
                   if e.action == "scan_session:confirm"]
    assert confirmed.details["device"] == wallet.device_id
    assert confirmed.details["digest"] == shown["digest"] and confirmed.details["signature"]
    # Single use: nothing more can happen to it.
    for step in ("scan", "confirm", "deny"):
        problem(wallet.step(client, shown, step), 409, "scan.used")


def test_the_result_goes_only_to_the_poll_token(client: TestClient, system: dict[str, str],
                                                wallet: Wallet) -> None:
    opened = open_session(client, system)
    for token in ("", "x" * 43, opened["poll_token"][:-1] + "A"):
        body = problem(result(client, opened, token), 404, "scan.not_found")
        assert "never issued" in body["detail"]  # as opaque as an unknown session
    client.cookies.set("yunzhang_scan", opened["poll_token"])
    try:
        by_cookie = client.get(f"{SESSIONS}/{opened['id']}/result")
        assert by_cookie.status_code == 200 and by_cookie.json()["state"] == "pending"
    finally:
        client.cookies.clear()
    problem(client.get(f"{SESSIONS}/no-such-session/result",
                       headers={"X-Poll-Token": opened["poll_token"]}), 404, "scan.not_found")


def test_stamp_sessions_carry_documents_and_a_binding_code(client: TestClient,
                                                           system: dict[str, str],
                                                           wallet: Wallet) -> None:
    opened = open_session(client, system, action="stamp", documents=[DOC],
                          scope="ecommerce.bidding.full_process")
    assert len(opened["binding_code"]) == 2 and opened["binding_code"].isdigit()
    shown = view(client, opened["id"])
    assert shown["documents"] == [DOC] and shown["binding_code"] == opened["binding_code"]
    assert wallet.step(client, shown, "scan").status_code == 200
    assert wallet.step(client, shown, "deny").json()["state"] == "denied"
    assert result(client, opened).json() | {"expires_at": None} == {
        "state": "denied", "person_id": None, "decided_at": "2026-11-22T08:00:00Z",
        "expires_at": None, "outcome": None, "enterprise": None, "role": None}
    problem(wallet.step(client, shown, "confirm"), 409, "scan.used")


def test_refusals_of_wallet_steps(client: TestClient, container: Container, cast: Cast,
                                  system: dict[str, str], wallet: Wallet) -> None:
    opened = open_session(client, system)
    shown = view(client, opened["id"])
    other = new_wallet()
    assert other.enroll(client, cast.admin).status_code == 201
    # Confirming before scanning; a signature for another step; another session's signature.
    problem(wallet.step(client, shown, "confirm"), 409, "scan.not_scanned")
    problem(wallet.step(client, shown, "scan", wallet.signature(shown, "confirm")), 403,
            "scan.signature")
    second = view(client, open_session(client, system)["id"])
    problem(wallet.step(client, shown, "scan", wallet.signature(second, "scan")), 403,
            "scan.signature")
    # What the wallet was shown, tampered (another document list), signs another digest.
    problem(wallet.step(client, shown, "scan", wallet.signature(shown | {"scope": "tax"}, "scan")),
            403, "scan.signature")
    assert wallet.step(client, shown, "scan").status_code == 200
    # A second wallet may not answer a session it did not scan (QRLJacking).
    problem(other.step(client, shown, "confirm"), 403, "scan.other_device")
    problem(other.step(client, shown, "scan"), 409, "scan.used")
    unknown = Wallet(other.key, str(uuid.uuid4()))
    problem(unknown.step(client, shown, "confirm"), 403, "scan.device")
    garbage = client.post(f"{SESSIONS}/{shown['id']}/confirm",
                          json={"device_id": wallet.device_id, "signature": "!!not base64!!"})
    problem(garbage, 422, "scan.signature_encoding")
    problem(client.post(f"{SESSIONS}/{shown['id']}/approve", json={
        "device_id": wallet.device_id, "signature": wallet.signature(shown, "confirm")}), 404,
        "scan.step")
    problem(wallet.step(client, shown | {"id": "nope"}, "confirm"), 404, "scan.not_found")
    # The phone is lost: its device is revoked, and its signatures count no more.
    revoked = post(client, f"{API}/me/devices/{wallet.device_id}/revoke", cast.company.legal_rep)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    problem(wallet.step(client, shown, "confirm"), 403, "scan.device")
    assert result(client, opened).json()["state"] == "scanned"
    refused = [e for e in recent_events(uow=container.uow, limit=30)
               if e.action.startswith("scan_session:") and e.outcome == "denied"]
    assert {e.details["code"] for e in refused} >= {
        "scan.signature", "scan.other_device", "scan.device", "scan.not_scanned", "scan.used"}


def test_a_session_expires(client: TestClient, clock: FixedClock, system: dict[str, str],
                           wallet: Wallet) -> None:
    opened = open_session(client, system)
    shown = view(client, opened["id"])
    assert shown["expires_at"] == "2026-11-22T08:02:00Z"  # 120 s, the most DESIGN.md allows
    assert wallet.step(client, shown, "scan").status_code == 200
    clock.advance(seconds=120)
    body = problem(wallet.step(client, shown, "confirm"), 409, "scan.expired")
    assert "ask for a new one" in body["detail"]
    assert result(client, opened).json()["state"] == "expired"
    assert view(client, opened["id"])["state"] == "expired"


def test_long_polling_waits_for_a_change(client: TestClient, system: dict[str, str]) -> None:
    opened = open_session(client, system)
    started = time.monotonic()
    waited = result(client, opened, wait=2)
    assert waited.json()["state"] == "pending" and time.monotonic() - started >= 2
    problem(result(client, opened, wait=26), 422, "request.invalid")


def test_bad_requests_to_open_a_session(client: TestClient, container: Container,
                                        system: dict[str, str]) -> None:
    headers = basic(system["client_id"], system["secret"])
    cases = [
        ({"action": "stamp"}, 422, "scan.documents"),
        ({"action": "login", "documents": [DOC]}, 422, "scan.documents"),
        ({"action": "sign", "documents": [{"name": "a.pdf", "sha256": "XYZ" * 21 + "1"}]}, 422,
         "scan.document"),
        ({"action": "stamp", "documents": [DOC] * 21}, 422, "request.invalid"),
        ({"action": "launch"}, 422, "request.invalid"),
        ({"action": "login", "scope": "tax.declare"}, 422, "scan.scope"),
        ({"action": "login", "scope": "no.such"}, 422, "scope.unknown"),
        ({"action": "login", "extra": True}, 422, "request.unknown_field"),
    ]
    for body, status, code in cases:
        problem(client.post(SESSIONS, headers=headers, json=body), status, code)
    problem(client.post(SESSIONS, json={"action": "login"}), 401, "client.auth")
    problem(client.post(SESSIONS, headers=basic(system["client_id"], "wrong"),
                        json={"action": "login"}), 401, "client.auth")
    problem(client.get(f"{SESSIONS}/{'A' * 200}"), 404, "scan.not_found")


def test_device_enrolment(client: TestClient, cast: Cast) -> None:
    person = cast.agent
    phone = new_wallet()
    assert phone.enroll(client, person).status_code == 201
    problem(phone.enroll(client, person), 409, "device.exists")
    stolen = new_wallet()
    # A proof made for another account does not enrol the key here.
    other_account = Wallet(stolen.key)
    message = b"\n".join([b"yunzhang-device-v1", cast.admin.id.encode(),
                          hashlib.sha256(stolen.public_der).hexdigest().encode()])
    response = post(client, f"{API}/me/devices", person, {
        "name": "x", "public_key": b64(other_account.public_der),
        "proof": b64(stolen.key.sign(message, ec.ECDSA(hashes.SHA256())))})
    problem(response, 422, "device.proof")
    rsa_key = rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    problem(post(client, f"{API}/me/devices", person, {
        "name": "x", "public_key": b64(rsa_key), "proof": b64(b"12345678")}), 422,
        "device.public_key")
    problem(post(client, f"{API}/me/devices", person, {
        "name": "x", "public_key": "not base64!", "proof": b64(b"12345678")}), 422,
        "device.public_key")
    listed = client.get(f"{API}/me/devices", headers=person.headers()).json()
    assert [d["name"] for d in listed] == ["我的手机"]
    problem(client.get(f"{API}/me/devices"), 401, "auth.session_invalid")
    problem(post(client, f"{API}/me/devices/{uuid.uuid4()}/revoke", person), 404,
            "device.not_found")
