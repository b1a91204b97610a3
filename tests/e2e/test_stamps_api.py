"""平台自动签 end to end: the operator registers a business system, the legal representative (after
a liveness check) lets it stamp with a seal for some scopes, a number of times, and the system
stamps over POST /api/v1/stamps with its client credentials. Every refusal names its cause and
leaves no stamp, no count and no output behind."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.persons_support import limiter_on_test_clock, problem, tiny_png  # noqa: F401
from tests.e2e.roles_support import API, Cast, Person, cast, company, liveness, post  # noqa: F401
from tests.e2e.seals_support import active_seal, pki, reviewer  # noqa: F401
from tests.e2e.test_stamping import pdf, signatures_valid, tool
from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.db import tables
from yunzhang.bootstrap import Container
from yunzhang.services.audit import recent_events

ADMIN = {"Authorization": "Bearer dev-admin-token"}
SYSTEMS = f"{API}/admin/business-systems"
SCOPE = "ecommerce.bidding.full_process"


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def register(client: TestClient, client_id: str = "bidding.portal",
             scopes: list[str] | None = None) -> dict[str, str]:
    response = client.post(SYSTEMS, headers=ADMIN, json={
        "client_id": client_id, "name": "某某公共资源交易平台", "scopes": scopes or ["ecommerce.bidding"],
        "redirect_uris": ["https://bidding.example/callback"]})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return {"client_id": body["system"]["client_id"], "secret": body["client_secret"]}


def count(container: Container, table: Any) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def used(container: Container, grant_id: int) -> int:
    with container.session_factory() as session:
        c = tables.auto_stamp_grants.c
        return int(session.scalar(select(c.used_count).where(c.id == grant_id)) or 0)


@pytest.fixture
def seal(client: TestClient, cast: Cast, reviewer: Any, pki: list[dict[str, Any]]) -> dict[str, Any]:
    return active_seal(client, cast.company, reviewer)


@pytest.fixture
def system(client: TestClient) -> dict[str, str]:
    return register(client)


def grant(client: TestClient, cast: Cast, seal: dict[str, Any], system: dict[str, str],
          by: Person | None = None, **fields: Any) -> httpx.Response:
    body = {"business_system": system["client_id"], "seal_id": seal["id"],
            "scopes": ["ecommerce.bidding"], **fields}
    response: httpx.Response = post(client, cast.company.path("auto-stamp-grants"),
                                    by or cast.company.legal_rep, body)
    return response


@pytest.fixture
def granted(client: TestClient, cast: Cast, seal: dict[str, Any],
            system: dict[str, str]) -> dict[str, Any]:
    liveness(client, cast.company.legal_rep, tiny_png())
    response = grant(client, cast, seal, system, max_count=2)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def stamp(client: TestClient, system: dict[str, str], seal: dict[str, Any], document: bytes,
          **params: Any) -> httpx.Response:
    headers = {**basic(system["client_id"], system["secret"]), "Content-Type": "application/pdf"}
    if "idempotency_key" in params:
        headers["Idempotency-Key"] = params.pop("idempotency_key")
    query = {"seal_id": seal["id"], "scope": SCOPE, "profile": "B-B", **params}
    response: httpx.Response = client.post(f"{API}/stamps", params=query, content=document,
                                           headers=headers)
    return response


def test_a_business_system_stamps_by_itself_within_its_grant(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        system: dict[str, str], granted: dict[str, Any], tmp_path: Path) -> None:
    assert (granted["used_count"], granted["max_count"]) == (0, 2)
    document = pdf(2)
    response = stamp(client, system, seal, document, page=2, x_mm=120, y_mm=200,
                     idempotency_key="bid-0001", name="投标文件.pdf")
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/pdf"
    out = tmp_path / "stamped.pdf"
    out.write_bytes(response.content)
    signatures_valid(out, 1)
    assert response.content.startswith(document)  # an incremental update
    assert response.headers["x-stamp-sha256"] == hashlib.sha256(response.content).hexdigest()
    record = client.get(response.headers["location"], headers=basic(system["client_id"],
                                                                     system["secret"]))
    assert record.status_code == 200, record.text
    assert record.json() | {"id": None, "created_at": None} == {
        "id": None, "created_at": None, "seal_id": seal["id"], "business_system": "bidding.portal",
        "document_name": "投标文件.pdf", "sha256_in": hashlib.sha256(document).hexdigest(),
        "sha256_out": hashlib.sha256(response.content).hexdigest(), "profile": "B-B",
        "auto_stamp_grant_id": granted["id"], "idempotency_key": "bid-0001"}
    [event] = [e for e in recent_events(uow=container.uow, limit=5)
               if e.action == "seal:auto_stamp"]
    assert (event.actor, event.outcome) == ("system:bidding.portal", "success")
    assert event.details["scope"] == SCOPE and event.details["auto_stamp_grant"] == granted["id"]
    assert event.details["decision"].startswith(f"auto-stamp grant {granted['id']} for automatic")
    assert used(container, granted["id"]) == 1
    # The second stamp uses the grant up; the third is refused with that reason.
    assert stamp(client, system, seal, pdf(1)).status_code == 201
    before = count(container, tables.stamps)
    third = problem(stamp(client, system, seal, pdf(1)), 403, "permission.denied")
    assert third["detail"] == (f"grant {granted['id']} for automatic stamping with seal "
                               f"{seal['id']} by bidding.portal for ecommerce.bidding, 2 of 2 "
                               f"stamps used is used up (2 stamps)")
    assert count(container, tables.stamps) == before and used(container, granted["id"]) == 2
    listing = client.get(cast.company.path("grants"), headers=cast.admin.headers()).json()
    assert [g["used_count"] for g in listing["auto_stamp_grants"]] == [2]


def test_a_replayed_idempotency_key_stamps_nothing_twice(
        client: TestClient, container: Container, seal: dict[str, Any], system: dict[str, str],
        granted: dict[str, Any]) -> None:
    document = pdf(1)
    first = stamp(client, system, seal, document, idempotency_key="order-7")
    assert first.status_code == 201, first.text
    again = problem(stamp(client, system, seal, document, idempotency_key="order-7"), 409,
                    "stamp.replayed")
    assert first.headers["x-stamp-sha256"] in again["detail"]
    other = problem(stamp(client, system, seal, pdf(2), idempotency_key="order-7"), 409,
                    "stamp.idempotency_key_reused")
    assert "a different document" in other["detail"]
    assert used(container, granted["id"]) == 1 and count(container, tables.stamps) == 1
    bad = problem(stamp(client, system, seal, document, idempotency_key="\x01"), 422,
                  "stamp.idempotency_key")
    assert "printable" in bad["detail"]


def test_client_authentication(client: TestClient, container: Container, seal: dict[str, Any],
                               system: dict[str, str], granted: dict[str, Any]) -> None:
    document = pdf(1)
    wrong = dict(system, secret=system["secret"][:-1] + "x")
    unknown = dict(system, client_id="nobody.here")
    for who in (wrong, unknown):
        response = stamp(client, who, seal, document)
        body = problem(response, 401, "client.auth")
        assert body["detail"] == "client authentication failed: unknown client id or wrong secret"
        assert response.headers["www-authenticate"] == 'Basic realm="yunzhang"'
    failures = [e for e in recent_events(uow=container.uow, limit=10)
                if e.action == "business_system:auth_fail"]
    assert [(e.subject, e.outcome, e.details["known"]) for e in failures] == [
        ("business_system:nobody.here", "denied", False),
        ("business_system:bidding.portal", "denied", True)]
    for header in ("Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                   "Basic " + "A" * 2000):
        response = client.post(f"{API}/stamps", params={"seal_id": seal["id"], "scope": SCOPE},
                               content=document, headers={"Authorization": header,
                                                          "Content-Type": "application/pdf"})
        problem(response, 401, "client.auth")
    # A disabled system proved who it is and is told why it is refused.
    assert client.put(f"{SYSTEMS}/bidding.portal/status", headers=ADMIN,
                      json={"status": "disabled"}).status_code == 200
    problem(stamp(client, system, seal, document), 403, "business_system.disabled")
    # After a rotation the old secret no longer works and the new one does.
    assert client.put(f"{SYSTEMS}/bidding.portal/status", headers=ADMIN,
                      json={"status": "active"}).status_code == 200
    rotated = client.post(f"{SYSTEMS}/bidding.portal/secret", headers=ADMIN).json()
    problem(stamp(client, system, seal, document), 401, "client.auth")
    assert stamp(client, dict(system, secret=rotated["client_secret"]), seal,
                 document).status_code == 201
    assert count(container, tables.stamps) == 1


def test_refusals_name_their_cause_and_leave_nothing(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        seal: dict[str, Any], system: dict[str, str], granted: dict[str, Any]) -> None:
    legal = cast.company.legal_rep
    other = register(client, "social.insurance", ["hr.social_insurance"])
    cases: list[tuple[httpx.Response, int, str, str]] = [
        (stamp(client, system, seal, pdf(1), scope="hr.social_insurance.declare"), 403,
         "permission.denied", "has not allowed bidding.portal to stamp with seal"),
        (stamp(client, other, seal, pdf(1), scope="hr.social_insurance.declare"), 403,
         "permission.denied", "has not allowed social.insurance to stamp"),
        (stamp(client, system, seal, pdf(1), scope="no.such.scope"), 422, "scope.unknown", ""),
        (stamp(client, system, seal, b"%PDF-1.7 not a pdf"), 422, "pdf.unreadable", "not a readable PDF"),
        (stamp(client, system, seal, "投标".encode()), 422, "pdf.unreadable", ""),
        (stamp(client, system, seal, pdf(1), page=4), 422, "stamp.page", "the PDF has 1"),
        (stamp(client, system, dict(seal, id=str(uuid.uuid4())), pdf(1)), 404, "seal.not_found", ""),
        (stamp(client, system, seal, pdf(1), seal_id="not-a-uuid"), 422, "request.invalid", ""),
    ]
    for response, status, code, text in cases:
        assert text in problem(response, status, code)["detail"]
    wrong_media = client.post(f"{API}/stamps", params={"seal_id": seal["id"], "scope": SCOPE},
                              content=pdf(1), headers={**basic(**_creds(system)),
                                                       "Content-Type": "application/json"})
    problem(wrong_media, 415, "stamp.media_type")
    assert count(container, tables.stamps) == 0 and used(container, granted["id"]) == 0
    # A suspended seal, then a revoked grant.
    assert post(client, f"{API}/seals/{seal['id']}/suspend", legal,
                {"reason": "印章保管人变更"}).status_code == 200
    problem(stamp(client, system, seal, pdf(1)), 409, "seal.not_usable")
    assert post(client, f"{API}/seals/{seal['id']}/resume", legal, {}).status_code == 200
    revoked = post(client, f"{API}/auto-stamp-grants/{granted['id']}/revoke", cast.admin,
                   {"reason": "合同到期"})
    assert revoked.status_code == 200, revoked.text
    assert "was revoked at" in problem(stamp(client, system, seal, pdf(1)), 403,
                                       "permission.denied")["detail"]
    assert count(container, tables.stamps) == 0 and used(container, granted["id"]) == 0


def test_an_expired_grant_stamps_no_more(client: TestClient, container: Container,
                                         clock: FixedClock, cast: Cast, seal: dict[str, Any],
                                         system: dict[str, str]) -> None:
    liveness(client, cast.company.legal_rep, tiny_png())
    short = grant(client, cast, seal, system, ends_at="2026-11-22T18:00:00+08:00")
    assert short.status_code == 201, short.text
    assert stamp(client, system, seal, pdf(1)).status_code == 201
    clock.advance(hours=3)
    assert problem(stamp(client, system, seal, pdf(1)), 403, "permission.denied")["detail"] == (
        f"grant {short.json()['id']} for automatic stamping with seal {seal['id']} by "
        f"bidding.portal for ecommerce.bidding expired 2026-11-22 18:00 (UTC+8)")
    assert count(container, tables.stamps) == 1


def _creds(system: dict[str, str]) -> dict[str, str]:
    return {"client_id": system["client_id"], "secret": system["secret"]}


def test_too_large_a_document_is_refused_before_reading_it(
        client: TestClient, container: Container, seal: dict[str, Any], system: dict[str, str],
        granted: dict[str, Any]) -> None:
    limit = container.settings.max_document_bytes
    response = stamp(client, system, seal, b"%PDF-1.7\n" + bytes(limit + 70_000))
    problem(response, 413, "request.too_large")
    assert count(container, tables.stamps) == 0


def test_who_may_let_a_system_stamp(client: TestClient, container: Container, cast: Cast,
                                    seal: dict[str, Any], system: dict[str, str]) -> None:
    no_check = problem(grant(client, cast, seal, system), 403, "permission.denied")
    assert no_check["detail"].startswith("letting a business system stamp by itself needs a "
                                         "liveness check (实人认证) within the last 5 minutes")
    liveness(client, cast.agent, tiny_png())
    agent = problem(grant(client, cast, seal, system, by=cast.agent), 403, "permission.denied")
    assert agent["detail"] == "agents cannot let business systems stamp by themselves"
    liveness(client, cast.admin, tiny_png())
    outside = problem(grant(client, cast, seal, system, by=cast.admin,
                            scopes=["hr.social_insurance"]), 422, "auto_stamp_grant.scopes")
    assert outside["detail"] == ("bidding.portal is registered for ecommerce.bidding; not for "
                                 "hr.social_insurance")
    problem(grant(client, cast, seal, dict(system, client_id="nobody.here"), by=cast.admin), 404,
            "business_system.not_found")
    problem(grant(client, cast, seal, system, by=cast.admin, max_count=0), 422, "request.invalid")
    problem(grant(client, cast, dict(seal, id=str(uuid.uuid4())), system, by=cast.admin), 404,
            "seal.not_found")
    problem(grant(client, cast, dict(seal, id="合同章"), system, by=cast.admin), 422,
            "auto_stamp_grant.seal_id")
    assert count(container, tables.auto_stamp_grants) == 0
    done = grant(client, cast, seal, system, by=cast.admin, max_count=10)
    assert done.status_code == 201 and done.json()["authority"] == "admin"


def test_operator_registration(client: TestClient, container: Container) -> None:
    first = register(client, "tax.portal", ["tax"])
    assert len(first["secret"]) >= 40
    listing = client.get(SYSTEMS, headers=ADMIN)
    assert listing.status_code == 200 and "secret" not in listing.text
    assert [s["client_id"] for s in listing.json()] == ["tax.portal"]
    cases = [
        ({"client_id": "tax.portal"}, 409, "business_system.exists"),
        ({"client_id": "Tax Portal"}, 422, "business_system.client_id"),
        ({"scopes": ["nope"]}, 422, "scope.unknown"),
        ({"scopes": []}, 422, "request.invalid"),
        ({"redirect_uris": ["http://evil.example/cb"]}, 422, "business_system.redirect_uri"),
        ({"redirect_uris": ["https://ok.example/cb#frag"]}, 422, "business_system.redirect_uri"),
        ({"name": " "}, 422, "business_system.name"),
        ({"extra": 1}, 422, "request.unknown_field"),
    ]
    for change, status, code in cases:
        body = {"client_id": "other.portal", "name": "另一个系统", "scopes": ["tax"], **change}
        problem(client.post(SYSTEMS, headers=ADMIN, json=body), status, code)
    problem(client.post(SYSTEMS, json={"client_id": "x.y", "name": "n", "scopes": ["tax"]}),
            401, "auth.operator_required")
    problem(client.post(f"{SYSTEMS}/nobody.here/secret", headers=ADMIN), 404,
            "business_system.not_found")
    assert count(container, tables.business_systems) == 1
    registered = [e for e in recent_events(uow=container.uow, limit=20)
                  if e.action == "business_system:register"]
    assert [e.outcome for e in registered].count("success") == 1
    assert all(first["secret"] not in str(e.details) for e in registered)


def broken_xref(kind: str) -> bytes:
    """A one-page PDF whose cross-reference data is damaged in one way."""
    data = pdf(1)
    table = data.rindex(b"\nxref") + 1
    if kind == "startxref-into-nowhere":
        return data[:data.rindex(b"startxref")] + b"startxref\n12\n%%EOF\n"
    if kind == "offsets-off":  # every object's offset 7 bytes late
        entries = re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m[1]) + 7),
                         data[table:])
        return data[:table] + entries
    assert kind == "truncated"
    return data[:table]


@pytest.mark.parametrize("kind", ["startxref-into-nowhere", "offsets-off", "truncated"])
def test_broken_cross_reference_tables_are_refused(
        client: TestClient, container: Container, seal: dict[str, Any], system: dict[str, str],
        granted: dict[str, Any], kind: str) -> None:
    body = problem(stamp(client, system, seal, broken_xref(kind)), 422, "pdf.unreadable")
    assert body["detail"].startswith("not a readable PDF")
    assert count(container, tables.stamps) == 0 and used(container, granted["id"]) == 0


def test_a_locked_pdf_and_a_revoked_seal_are_refused(
        client: TestClient, container: Container, cast: Cast, seal: dict[str, Any],
        system: dict[str, str], granted: dict[str, Any], tmp_path: Path) -> None:
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    plain.write_bytes(pdf(1))
    done = tool("qpdf", "--encrypt", "user", "owner", "256", "--", str(plain), str(locked))
    assert done.returncode == 0, done.stderr
    assert "password-protected" in problem(stamp(client, system, seal, locked.read_bytes()), 422,
                                           "pdf.encrypted")["detail"]
    assert post(client, f"{API}/seals/{seal['id']}/revoke", cast.company.legal_rep,
                {"reason": "印章作废"}).status_code == 200
    assert "revoked" in problem(stamp(client, system, seal, pdf(1)), 409,
                                "seal.not_usable")["detail"]
    assert count(container, tables.stamps) == 0 and used(container, granted["id"]) == 0
