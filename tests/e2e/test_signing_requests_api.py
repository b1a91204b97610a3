"""Stamp and sign requests over HTTP: a business system sends documents and steps; each step is
carried out by a wallet answering the step's scan session (the seal stamped in the cloud after
the decision function agrees, or the person's own key signing what the platform prepared); the
finished documents are judged by pdfsig and qpdf. Refusals: the wrong signer, the wrong turn, a
declined step, an agent whose seal grant expired, a revoked seal, documents changed meanwhile,
bad document signatures, and malformed, oversized or foreign requests."""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from tests.e2e.persons_support import limiter_on_test_clock, problem, tiny_png  # noqa: F401
from tests.e2e.roles_support import (  # noqa: F401
    API,
    Cast,
    Person,
    cast,
    company,
    liveness,
    post,
    seal_grant,
)
from tests.e2e.seals_support import active_seal, pki, reviewer  # noqa: F401
from tests.e2e.test_scan_sessions_api import SESSIONS, Wallet, b64, new_wallet, result, view
from tests.e2e.test_stamping import pdf, signatures_valid
from tests.e2e.test_stamps_api import basic, register
from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.db import tables
from yunzhang.bootstrap import Container
from yunzhang.services.audit import recent_events

REQUESTS = f"{API}/signing-requests"


def handwriting_png() -> bytes:
    """A signature drawn with a finger: dark strokes on white."""
    image = Image.new("RGB", (600, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(40, 180), (120, 60), (200, 170), (280, 50), (360, 160), (520, 90)], fill="black",
              width=9)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class Signer:
    """A person's wallet: the device key (answers sessions) and the person-signing key, with
    the person certificate issued from its CSR and a handwritten signature bound to it."""

    person: Person
    device: Wallet
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    serial: str = ""

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def csr(key: ec.EllipticCurvePrivateKey) -> str:
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wallet")]))
               .sign(key, hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.PEM).decode()


def equip(client: TestClient, person: Person) -> Signer:
    device = new_wallet()
    assert device.enroll(client, person).status_code == 201
    signer = Signer(person, device)
    liveness(client, person, tiny_png())
    issued = post(client, f"{API}/me/certificates", person, {"csr": csr(signer.key)})
    assert issued.status_code == 201, issued.text
    signer.serial = issued.json()["serial"]
    picture = handwriting_png()
    message = b"\n".join([b"yunzhang-handwriting-v1", signer.serial.encode(),
                          hashlib.sha256(picture).hexdigest().encode()])
    bound = client.put(f"{API}/me/handwriting", headers=person.headers(), json={
        "picture": b64(picture), "certificate_serial": signer.serial,
        "proof": b64(signer.sign(message))})
    assert bound.status_code == 200, bound.text
    return signer


@pytest.fixture
def system(client: TestClient) -> dict[str, str]:
    return register(client)


@pytest.fixture
def seal(client: TestClient, cast: Cast, reviewer: Any, pki: list[dict[str, Any]]) -> dict[str, Any]:
    return active_seal(client, cast.company, reviewer)


def auth(system: dict[str, str]) -> dict[str, str]:
    return basic(system["client_id"], system["secret"])


def create(client: TestClient, system: dict[str, str], steps: list[dict[str, Any]],
           documents: list[bytes] | None = None, **body: Any) -> httpx.Response:
    docs = documents if documents is not None else [pdf(1)]
    response: httpx.Response = client.post(REQUESTS, headers=auth(system), json={
        "title": "采购合同", "steps": steps, "scope": "ecommerce.bidding",
        "documents": [{"name": f"合同{n}.pdf", "content": b64(d)} for n, d in enumerate(docs, 1)],
        **body})
    return response


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def open_step(client: TestClient, system: dict[str, str], request_id: str,
              step: int | None = None) -> httpx.Response:
    response: httpx.Response = client.post(f"{REQUESTS}/{request_id}/scan-sessions",
                                           headers=auth(system), json={"step": step})
    return response


def opened(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def scan(client: TestClient, device: Wallet, session: dict[str, Any]) -> httpx.Response:
    return device.step(client, session, "scan")


def confirm(client: TestClient, device: Wallet, session: dict[str, Any],
            document_signatures: list[str] | None = None) -> httpx.Response:
    response: httpx.Response = client.post(f"{SESSIONS}/{session['id']}/confirm", json={
        "device_id": device.device_id, "signature": device.signature(session, "confirm"),
        "document_signatures": document_signatures or []})
    return response


def sign_step(client: TestClient, signer: Signer, session_id: str) -> httpx.Response:
    """Scan, sign every document's signed attributes with the person key, confirm."""
    shown = view(client, session_id)
    scanned = scan(client, signer.device, shown)
    assert scanned.status_code == 200, scanned.text
    to_sign = [base64.b64decode(t) for t in scanned.json()["to_sign"]]
    assert to_sign, "a signature step hands the wallet what to sign"
    return confirm(client, signer.device, shown, [b64(signer.sign(t)) for t in to_sign])


def stamp_step(client: TestClient, device: Wallet, session_id: str) -> httpx.Response:
    shown = view(client, session_id)
    scanned = scan(client, device, shown)
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["to_sign"] == []
    return confirm(client, device, shown)


def document(client: TestClient, system: dict[str, str], request_id: str,
             position: int = 1) -> bytes:
    response = client.get(f"{REQUESTS}/{request_id}/documents/{position}", headers=auth(system))
    assert response.status_code == 200, response.text
    assert response.headers["X-Document-SHA256"] == hashlib.sha256(response.content).hexdigest()
    return response.content


def show(client: TestClient, system: dict[str, str], request_id: str) -> dict[str, Any]:
    response = client.get(f"{REQUESTS}/{request_id}", headers=auth(system))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def count(container: Container, table: Any) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_contract_is_stamped_then_signed_by_two_persons_in_order(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        system: dict[str, str], tmp_path: Path) -> None:
    legal = cast.company.legal_rep
    first, second = equip(client, cast.agent), equip(client, cast.admin)
    legal_device = new_wallet()
    assert legal_device.enroll(client, legal).status_code == 201
    original = pdf(2)
    request = created(create(client, system, [
        {"seal": f"{cast.company.uscc}:contract", "placement": {"page": 2, "x_mm": 120}},
        {"signer": cast.agent.phone, "placement": {"page": 2, "y_mm": 200}},
        {"signer": cast.admin.phone, "placement": {"page": 2, "y_mm": 230}}],
        documents=[original], reference="PO-2026-001"))
    assert (request["status"], request["progress"], request["order"]) == ("open", "0/3",
                                                                            "sequential")
    assert request["documents"][0]["sha256"] == hashlib.sha256(original).hexdigest()
    assert [s["kind"] for s in request["steps"]] == ["stamp", "sign", "sign"]
    # Not the second step before the first.
    problem(open_step(client, system, request["id"], 2), 409, "signing_request.not_your_turn")

    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    assert shown["action"] == "stamp" and "step 1 of 3" in shown["subject"]
    assert shown["documents"] == [{"name": "合同1.pdf",
                                   "sha256": hashlib.sha256(original).hexdigest()}]
    assert shown["binding_code"] == session["binding_code"]
    assert stamp_step(client, legal_device, session["id"]).json()["state"] == "confirmed"
    assert result(client, session).json()["state"] == "confirmed"
    assert show(client, system, request["id"])["progress"] == "1/3"
    # The admin cannot take the agent's turn.
    session = opened(open_step(client, system, request["id"]))
    problem(scan(client, second.device, view(client, session["id"])), 403,
            "signing_request.not_signer")
    assert view(client, session["id"])["state"] == "pending"  # still there for the right one
    assert sign_step(client, first, session["id"]).json()["state"] == "confirmed"
    session = opened(open_step(client, system, request["id"]))
    assert sign_step(client, second, session["id"]).json()["state"] == "confirmed"

    done = show(client, system, request["id"])
    assert (done["status"], done["progress"]) == ("completed", "3/3")
    assert done["completed_at"] and all(s["state"] == "done" for s in done["steps"])
    signed = document(client, system, request["id"])
    assert signed.startswith(original)  # incremental updates: the original is untouched
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    report = signatures_valid(path, 3)
    assert report.count(f"O={cast.company.name}") >= 1 or cast.company.name in report
    assert "赵六" in report and "王五" in report
    actions = [e.action for e in recent_events(uow=container.uow, limit=60)]
    assert {"signing_request:create", "seal:use", "document:sign",
            "signing_request:complete"} <= set(actions)
    assert count(container, tables.stamps) == 1
    # A finished request takes no more steps; a used session is not confirmed twice.
    problem(open_step(client, system, request["id"]), 409, "signing_request.completed")
    problem(confirm(client, second.device, view(client, session["id"])), 409, "scan.used")


def test_parallel_signers_in_any_order_and_a_stale_session_is_refused(
        client: TestClient, container: Container, cast: Cast, pki: list[dict[str, Any]],
        system: dict[str, str], tmp_path: Path) -> None:
    first, second = equip(client, cast.agent), equip(client, cast.admin)
    request = created(create(client, system, [
        {"signer": cast.agent.phone}, {"signer": cast.admin.phone, "placement": {"y_mm": 60}}],
        documents=[pdf(1), pdf(1)], order="parallel"))
    one = opened(open_step(client, system, request["id"], 1))
    two = opened(open_step(client, system, request["id"], 2))
    shown_one = view(client, one["id"])
    scanned = scan(client, first.device, shown_one)
    to_sign = [base64.b64decode(t) for t in scanned.json()["to_sign"]]
    assert len(to_sign) == 2  # one per document
    # Meanwhile the second signer finishes: the documents the first was shown are gone.
    assert sign_step(client, second, two["id"]).json()["state"] == "confirmed"
    late = confirm(client, first.device, shown_one, [b64(first.sign(t)) for t in to_sign])
    problem(late, 409, "signing_request.changed")
    screen = result(client, one).json()
    assert screen["state"] == "refused" and "signing_request.changed" in screen["outcome"]
    assert show(client, system, request["id"])["progress"] == "1/2"
    again = opened(open_step(client, system, request["id"]))
    assert sign_step(client, first, again["id"]).json()["state"] == "confirmed"
    assert show(client, system, request["id"])["status"] == "completed"
    for position in (1, 2):
        path = tmp_path / f"{position}.pdf"
        path.write_bytes(document(client, system, request["id"], position))
        signatures_valid(path, 2)


def test_a_bad_document_signature_signs_nothing(
        client: TestClient, container: Container, cast: Cast, pki: list[dict[str, Any]],
        system: dict[str, str]) -> None:
    signer = equip(client, cast.agent)
    request = created(create(client, system, [{"signer": cast.agent.phone}]))
    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    to_sign = base64.b64decode(scan(client, signer.device, shown).json()["to_sign"][0])
    other = ec.generate_private_key(ec.SECP256R1())
    wrong = confirm(client, signer.device, shown,
                    [b64(other.sign(to_sign, ec.ECDSA(hashes.SHA256())))])
    problem(wrong, 403, "scan.document_signature")
    after = show(client, system, request["id"])
    assert after["progress"] == "0/1" and after["documents"][0]["sha256"] == \
        after["documents"][0]["sha256_original"]
    assert result(client, session).json()["state"] == "refused"
    # Too few signatures for the documents, on a fresh session.
    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    scan(client, signer.device, shown)
    problem(confirm(client, signer.device, shown, []), 422, "scan.signatures")


def test_a_signer_who_declines_ends_the_request(
        client: TestClient, container: Container, cast: Cast, pki: list[dict[str, Any]],
        system: dict[str, str]) -> None:
    signer = equip(client, cast.agent)
    request = created(create(client, system, [{"signer": cast.agent.phone},
                                              {"signer": cast.admin.phone}]))
    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    assert scan(client, signer.device, shown).status_code == 200
    assert signer.device.step(client, shown, "deny").json()["state"] == "denied"
    after = show(client, system, request["id"])
    assert after["status"] == "declined" and after["steps"][0]["state"] == "declined"
    problem(open_step(client, system, request["id"]), 409, "signing_request.declined")


def test_an_agent_whose_seal_grant_expired_stamps_nothing(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        seal: dict[str, Any], system: dict[str, str]) -> None:
    agent = cast.agent
    now = clock.now()
    grant = seal_grant(client, cast.company, cast.company.legal_rep, agent, seal["id"],
                       business_system=system["client_id"],
                       ends_at=(now + timedelta(hours=1)).isoformat())
    assert grant.status_code == 201, grant.text
    device, legal = new_wallet(), new_wallet()
    assert device.enroll(client, agent).status_code == 201
    assert legal.enroll(client, cast.company.legal_rep).status_code == 201
    request = created(create(client, system, [{"seal": seal["id"]}], documents=[pdf(1)]))
    clock.advance(hours=2)  # the grant's window has closed
    session = opened(open_step(client, system, request["id"]))
    refused = stamp_step(client, device, session["id"])
    problem(refused, 403, "permission.denied")
    assert result(client, session).json()["state"] == "refused"
    assert "permission.denied" in result(client, session).json()["outcome"]
    after = show(client, system, request["id"])
    assert (after["status"], after["progress"]) == ("open", "0/1")
    assert count(container, tables.stamps) == 0
    # The legal representative may still stamp it.
    session = opened(open_step(client, system, request["id"]))
    assert stamp_step(client, legal, session["id"]).json()["state"] == "confirmed"
    assert count(container, tables.stamps) == 1


def test_a_seal_revoked_after_the_qr_code_was_shown_stamps_nothing(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        system: dict[str, str]) -> None:
    legal = cast.company.legal_rep
    device = new_wallet()
    assert device.enroll(client, legal).status_code == 201
    request = created(create(client, system, [{"seal": seal["id"]}]))
    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    assert scan(client, device, shown).status_code == 200
    revoked = post(client, f"{API}/seals/{seal['id']}/revoke", legal, {"reason": "lost"})
    assert revoked.status_code == 200, revoked.text
    refused = confirm(client, device, shown)
    assert refused.status_code in (403, 409), refused.text
    assert refused.json()["code"].startswith(("seal.", "permission."))
    assert result(client, session).json()["state"] == "refused"
    assert count(container, tables.stamps) == 0
    assert show(client, system, request["id"])["progress"] == "0/1"


def test_an_expired_step_session_and_a_replayed_one(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        seal: dict[str, Any], system: dict[str, str]) -> None:
    device = new_wallet()
    assert device.enroll(client, cast.company.legal_rep).status_code == 201
    request = created(create(client, system, [{"seal": seal["id"]}]))
    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    clock.advance(seconds=container.settings.scan_session_seconds + 1)
    problem(scan(client, device, shown), 409, "scan.expired")
    session = opened(open_step(client, system, request["id"]))
    assert stamp_step(client, device, session["id"]).status_code == 200
    problem(scan(client, device, view(client, session["id"])), 409, "scan.used")
    # The request itself expires after YUNZHANG_SIGNING_REQUEST_HOURS.
    late = created(create(client, system, [{"seal": seal["id"]}]))
    clock.advance(hours=container.settings.signing_request_hours)
    problem(open_step(client, system, late["id"]), 409, "signing_request.expired")
    assert show(client, system, late["id"])["status"] == "expired"


def test_malformed_oversized_and_foreign_requests_leave_nothing(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        system: dict[str, str]) -> None:
    before = (count(container, tables.signing_requests), count(container, tables.request_steps))
    seal_step = [{"seal": seal["id"]}]
    problem(create(client, system, seal_step, documents=[b"not a pdf at all"]), 422,
            "signing_request.not_pdf")
    problem(create(client, system, [{"seal": seal["id"], "signer": cast.agent.phone}]), 422,
            "signing_request.step")
    problem(create(client, system, [{}]), 422, "signing_request.step")
    problem(create(client, system, [{"signer": "13900009999"}]), 422, "signing_request.signer")
    problem(create(client, system, [{"signer": cast.agent.phone},
                                    {"signer": cast.agent.phone}]), 422, "signing_request.signer")
    problem(create(client, system, [{"seal": f"{cast.company.uscc}:nosuchtype"}]), 404,
            "seal.not_found")
    problem(create(client, system, seal_step, scope="hr.social_insurance"), 422, "scan.scope")
    problem(create(client, system, seal_step, title="   "), 422, "signing_request.title")
    bad = client.post(REQUESTS, headers=auth(system), json={
        "title": "x", "steps": seal_step, "documents": [{"name": "a.pdf", "content": "!!!!!!!!"}]})
    problem(bad, 422, "signing_request.content")
    limit = container.settings.max_document_bytes
    big = b"%PDF-1.7\n" + b"0" * (limit // 2 + 10)
    problem(create(client, system, seal_step, documents=[big, big]), 413,
            "signing_request.too_large")
    no_auth = client.post(REQUESTS, json={"title": "x", "steps": seal_step, "documents": []})
    assert no_auth.status_code == 401
    assert (count(container, tables.signing_requests),
            count(container, tables.request_steps)) == before
    # Another business system sees nothing of this one's requests.
    request = created(create(client, system, seal_step))
    other = register(client, "social.insurance", ["hr.social_insurance"])
    for response in (client.get(f"{REQUESTS}/{request['id']}", headers=auth(other)),
                     open_step(client, other, request["id"]),
                     client.get(f"{REQUESTS}/{request['id']}/documents/1", headers=auth(other)),
                     client.post(f"{REQUESTS}/{request['id']}/cancel", headers=auth(other))):
        problem(response, 404, "signing_request.not_found")
    problem(client.get(f"{REQUESTS}/{request['id']}/documents/2", headers=auth(system)), 404,
            "signing_request.document_not_found")
    problem(open_step(client, system, request["id"], 5), 404, "signing_request.step_not_found")
    cancelled = client.post(f"{REQUESTS}/{request['id']}/cancel", headers=auth(system))
    assert cancelled.json()["status"] == "cancelled"
    problem(open_step(client, system, request["id"]), 409, "signing_request.cancelled")
    refusals = [e for e in recent_events(uow=container.uow, limit=40)
                if e.action == "signing_request:create" and e.outcome == "denied"]
    assert len(refusals) >= 8


def test_a_signature_step_needs_a_certificate_and_a_handwritten_signature(
        client: TestClient, container: Container, cast: Cast, pki: list[dict[str, Any]],
        system: dict[str, str]) -> None:
    device = new_wallet()
    assert device.enroll(client, cast.linked).status_code == 201
    request = created(create(client, system, [{"signer": cast.linked.phone}]))
    session = opened(open_step(client, system, request["id"]))
    problem(scan(client, device, view(client, session["id"])), 409,
            "signing_request.no_certificate")
    liveness(client, cast.linked, tiny_png())
    key = ec.generate_private_key(ec.SECP256R1())
    issued = post(client, f"{API}/me/certificates", cast.linked, {"csr": csr(key)})
    serial = issued.json()["serial"]
    problem(scan(client, device, view(client, session["id"])), 409,
            "signing_request.no_handwriting")
    picture = handwriting_png()
    # The proof must be the certificate key's signature of the picture's digest.
    message = b"\n".join([b"yunzhang-handwriting-v1", serial.encode(),
                          hashlib.sha256(picture).hexdigest().encode()])
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    body = {"picture": b64(picture), "certificate_serial": serial,
            "proof": b64(stranger_key.sign(message, ec.ECDSA(hashes.SHA256())))}
    problem(client.put(f"{API}/me/handwriting", headers=cast.linked.headers(), json=body), 403,
            "handwriting.proof")
    blank = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(blank, format="PNG")
    message_blank = b"\n".join([b"yunzhang-handwriting-v1", serial.encode(),
                                hashlib.sha256(blank.getvalue()).hexdigest().encode()])
    problem(client.put(f"{API}/me/handwriting", headers=cast.linked.headers(), json={
        "picture": b64(blank.getvalue()), "certificate_serial": serial,
        "proof": b64(key.sign(message_blank, ec.ECDSA(hashes.SHA256())))}), 422, "image.blank")
    problem(client.put(f"{API}/me/handwriting", headers=cast.linked.headers(), json={
        **body, "certificate_serial": "ab"}), 404, "certificate.not_found")
    assert count(container, tables.signature_images) == 0
    body["proof"] = b64(key.sign(message, ec.ECDSA(hashes.SHA256())))
    assert client.put(f"{API}/me/handwriting", headers=cast.linked.headers(),
                      json=body).status_code == 200
    png = client.get(f"{API}/me/handwriting.png", headers=cast.linked.headers())
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).mode == "RGBA"
    assert scan(client, device, view(client, session["id"])).status_code == 200


BINDINGS = f"{API}/bindings"


def test_bind_and_unbind_a_seal_and_the_certificate(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        system: dict[str, str]) -> None:
    legal = new_wallet()
    assert legal.enroll(client, cast.company.legal_rep).status_code == 201
    stranger = new_wallet()
    assert stranger.enroll(client, cast.stranger).status_code == 201
    asked = client.post(BINDINGS, headers=auth(system), json={
        "uscc": cast.company.uscc, "account": "bidder-001", "seal_type": "contract"})
    assert asked.status_code == 201, asked.text
    session = asked.json()
    shown = view(client, session["id"])
    assert shown["action"] == "bind" and "bidder-001" in shown["subject"]
    assert cast.company.name in shown["subject"]
    assert client.get(BINDINGS, headers=auth(system)).json() == []  # not before a confirmation
    assert scan(client, legal, shown).status_code == 200
    assert confirm(client, legal, shown).json()["state"] == "confirmed"
    listed = client.get(BINDINGS, headers=auth(system), params={"account": "bidder-001"}).json()
    assert [(b["id"], b["subject"], b["seal_id"], b["status"]) for b in listed] == [
        (session["binding_id"], "seal", seal["id"], "active")]

    # The enterprise certificate, for a scope, confirmed by someone who may not act for it.
    asked = client.post(BINDINGS, headers=auth(system), json={
        "uscc": cast.company.uscc, "account": "bidder-002", "scope": "ecommerce.bidding"})
    session = asked.json()
    shown = view(client, session["id"])
    assert scan(client, stranger, shown).status_code == 200
    problem(confirm(client, stranger, shown), 403, "permission.denied")
    assert result(client, session).json()["state"] == "refused"
    assert [b["account"] for b in client.get(BINDINGS, headers=auth(system)).json()] == [
        "bidder-001"]

    # Unbinding goes the same way; a second unbinding finds nothing to remove.
    unbind = client.post(f"{BINDINGS}/{listed[0]['id']}/unbind", headers=auth(system))
    assert unbind.status_code == 201, unbind.text
    shown = view(client, unbind.json()["id"])
    assert shown["action"] == "unbind" and shown["subject"].startswith("unbind")
    assert scan(client, legal, shown).status_code == 200
    assert confirm(client, legal, shown).json()["state"] == "confirmed"
    assert client.get(BINDINGS, headers=auth(system)).json() == []
    problem(client.post(f"{BINDINGS}/{listed[0]['id']}/unbind", headers=auth(system)), 409,
            "binding.not_active")
    actions = [e.action for e in recent_events(uow=container.uow, limit=40)]
    assert "binding:create" in actions and "binding:remove" in actions


def test_binding_refusals(client: TestClient, container: Container, cast: Cast,
                          seal: dict[str, Any], system: dict[str, str]) -> None:
    before = count(container, tables.bindings)
    problem(client.post(f"{API}/scan-sessions", headers=auth(system), json={"action": "bind"}),
            422, "scan.action")
    problem(client.post(BINDINGS, headers=auth(system), json={
        "uscc": cast.company.uscc, "account": "   "}), 422, "binding.account")
    problem(client.post(BINDINGS, headers=auth(system), json={
        "uscc": cast.company.uscc, "account": "a"}), 422, "binding.scope")
    problem(client.post(BINDINGS, headers=auth(system), json={
        "uscc": cast.company.uscc, "account": "a", "scope": "hr.social_insurance"}), 422,
        "scan.scope")
    problem(client.post(BINDINGS, headers=auth(system), json={
        "uscc": "91310115MA1K4DEM05", "account": "a", "scope": "ecommerce.bidding"}), 404,
        "enterprise.not_found")
    assert count(container, tables.bindings) == before
    asked = client.post(BINDINGS, headers=auth(system), json={
        "uscc": cast.company.uscc, "account": "a", "seal_type": "contract"}).json()
    other = register(client, "social.insurance", ["hr.social_insurance"])
    problem(client.post(f"{BINDINGS}/{asked['binding_id']}/unbind", headers=auth(other)), 404,
            "binding.not_found")
    problem(client.post(f"{BINDINGS}/{asked['binding_id']}/unbind", headers=auth(system)), 409,
            "binding.not_active")


def test_a_stranger_saying_no_to_a_seal_step_ends_only_their_own_session(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        system: dict[str, str]) -> None:
    stranger, legal = new_wallet(), new_wallet()
    assert stranger.enroll(client, cast.stranger).status_code == 201
    assert legal.enroll(client, cast.company.legal_rep).status_code == 201
    request = created(create(client, system, [{"seal": seal["id"]}]))
    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    assert scan(client, stranger, shown).status_code == 200
    assert stranger.step(client, shown, "deny").json()["state"] == "denied"
    assert show(client, system, request["id"])["status"] == "open"
    # The legal representative, who may use the seal, declines it for good.
    session = opened(open_step(client, system, request["id"]))
    shown = view(client, session["id"])
    assert scan(client, legal, shown).status_code == 200
    assert legal.step(client, shown, "deny").json()["state"] == "denied"
    assert show(client, system, request["id"])["status"] == "declined"
