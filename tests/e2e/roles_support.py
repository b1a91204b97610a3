"""Helpers for the roles and grants end-to-end tests: an imported enterprise whose legal
representative is a registered, identity-verified person, more people to appoint, the requests
they make, and the checks that a refusal changed nothing and was audited.

Every person carries their own session cookie and CSRF token (see persons_support.Login), so one
TestClient serves them all. Imported by tests/e2e/test_roles_api.py, test_role_changes_api.py,
test_grants_api.py, test_grant_refusals_api.py and test_roles_requests_api.py, each of which also
imports persons_support's autouse rate-limiter fixture.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.persons_support import IDENTITY, LIVENESS, Login, log_in, problem, register
from tests.registry_samples import person_id, registry_row, to_csv
from yunzhang.adapters.db import tables
from yunzhang.bootstrap import Container
from yunzhang.domain.audit import AuditEvent
from yunzhang.domain.seals import Seal
from yunzhang.services import notifications
from yunzhang.services.audit import recent_events

API = "/api/v1"
IMPORT = f"{API}/admin/enterprises/import"
OPERATOR = {"Authorization": "Bearer dev-admin-token", "Content-Type": "text/csv"}
MEMBERSHIPS = f"{API}/me/memberships"
LEGAL_REP_NAME = "张三"
REGISTRY_ROW = 1  # registry_row(1): the enterprise the tests act for
# The test clock starts at 2026-11-22 08:00 UTC, which reasons show in China Standard Time.
NOW_CST = "2026-11-22 16:00 (UTC+8)"


def enterprise_path(uscc: str, tail: str = "") -> str:
    return f"{API}/enterprises/{uscc}" + (f"/{tail}" if tail else "")


@dataclass(frozen=True)
class Person:
    """A registered, identity-verified person with an open session."""

    id: str
    phone: str
    name: str
    id_number: str
    login: Login

    def headers(self, csrf: str | None = None) -> dict[str, str]:
        return self.login.headers(csrf)


@dataclass(frozen=True)
class Company:
    uscc: str
    name: str
    legal_rep: Person

    def path(self, tail: str = "") -> str:
        return enterprise_path(self.uscc, tail)


def phone_of(n: int) -> str:
    return f"1390000{n:04d}"


def relog(client: TestClient, person: Person) -> Person:
    """The same person with a new session (after the clock passed the idle timeout)."""
    login = log_in(client, person.phone)
    return Person(person.id, person.phone, person.name, person.id_number, login)


def new_person(client: TestClient, container: Container, n: int, name: str = "李四") -> Person:
    """Person number ``n`` (phone and ID number derived from it), verified as ``name``."""
    phone, id_number = phone_of(n), person_id(n)
    pid = register(client, container, phone)["id"]
    login = log_in(client, phone)
    response = client.post(IDENTITY, json={"name": name, "id_number": id_number},
                           headers=login.headers())
    assert response.status_code == 200, response.text
    return Person(pid, phone, name, id_number, login)


def import_registry(client: TestClient, **overrides: str) -> None:
    """The operator imports (or re-imports) the test enterprise's registry record."""
    csv = to_csv([registry_row(REGISTRY_ROW, **overrides)]).encode()
    response = client.post(IMPORT, content=csv, headers=OPERATOR)
    assert response.status_code == 200, response.text
    assert not response.json()["rejected"], response.text


@pytest.fixture
def company(client: TestClient, container: Container) -> Company:
    """An imported enterprise whose legal representative (person 1) registered and verified;
    the verification bound them to the role (seed 000 §4.2.2)."""
    import_registry(client, legal_rep_name=LEGAL_REP_NAME, legal_rep_id_number=person_id(1))
    return the_company(new_person(client, container, 1, LEGAL_REP_NAME))


def the_company(legal_rep: Person) -> Company:
    """The imported test enterprise, with the person expected to be its legal representative."""
    row = registry_row(REGISTRY_ROW)
    return Company(row["uscc"], row["name"], legal_rep)


def membership(client: TestClient, person: Person, uscc: str) -> dict[str, Any] | None:
    """The person's active membership in the enterprise, as GET /me/memberships shows it."""
    response = client.get(MEMBERSHIPS, headers=person.headers())
    assert response.status_code == 200, response.text
    found = [m for m in response.json() if m["uscc"] == uscc]
    assert len(found) <= 1, found
    return found[0] if found else None


def role_of(client: TestClient, person: Person, uscc: str) -> str | None:
    """The person's role in the enterprise; None when linked without one, or "unlinked"."""
    found = membership(client, person, uscc)
    return "unlinked" if found is None else found["role"]


def post(client: TestClient, path: str, by: Person, body: dict[str, Any] | None = None
         ) -> httpx.Response:
    """POST as ``by``, with their session and CSRF token."""
    response: httpx.Response = client.post(path, json=body, headers=by.headers())
    return response


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def link(client: TestClient, company: Company, person: Person) -> dict[str, Any]:
    return created(post(client, company.path("link"), person))


def apply(client: TestClient, company: Company, person: Person, role: str,
          **extra: object) -> httpx.Response:
    return post(client, company.path("applications"), person,
                {"role": role, "reason": "负责本企业投标事务", **extra})


def applied(client: TestClient, company: Company, person: Person, role: str,
            **extra: object) -> dict[str, Any]:
    """Link (if not yet linked) and apply; the pending application."""
    if membership(client, person, company.uscc) is None:
        link(client, company, person)
    return created(apply(client, company, person, role, **extra))


def decide_application(client: TestClient, by: Person, application_id: int,
                       verdict: str = "approve", **body: object) -> httpx.Response:
    return post(client, f"{API}/applications/{application_id}/{verdict}", by, body)


def grant_role(client: TestClient, company: Company, by: Person, person: Person,
               role: str) -> httpx.Response:
    """主动授权: POST .../members naming the person by name, ID number and phone."""
    return post(client, company.path("members"), by, {
        "name": person.name, "id_number": person.id_number, "phone": person.phone, "role": role})


def appoint(client: TestClient, container: Container, company: Company, n: int, role: str,
            *, by: Person | None = None, name: str = "李四") -> Person:
    """A new verified person given ``role`` by ``by`` (default: the legal representative)."""
    person = new_person(client, container, n, name)
    created(grant_role(client, company, by or company.legal_rep, person, role))
    return person


def create_grant(client: TestClient, company: Company, by: Person, grantee: Person,
                 **body: object) -> httpx.Response:
    return post(client, company.path("grants"), by, {"grantee_id": grantee.id, **body})


def granted(client: TestClient, company: Company, by: Person, grantee: Person,
            **body: object) -> dict[str, Any]:
    return created(create_grant(client, company, by, grantee, **body))


def make_seal(container: Container, company: Company, name: str) -> str:
    """A seal of the enterprise, written straight to its table (no image, no audit event): what a
    seal grant names. The seal tests make theirs through the API."""
    with container.uow() as tx:
        enterprise = tx.enterprises.by_uscc(company.uscc)
        assert enterprise is not None
        seal = Seal(enterprise_id=enterprise.id, name=name, type_code="contract",
                    applied_by=uuid.UUID(company.legal_rep.id), applied_at=container.clock.now())
        tx.seals.add(seal)
        tx.commit()
    return str(seal.id)


def seal_grant(client: TestClient, company: Company, by: Person, grantee: Person,
               seal_id: str, business_system: str = "bidding",
               **body: object) -> httpx.Response:
    return post(client, company.path("seal-grants"), by, {
        "grantee_id": grantee.id, "seal_id": seal_id, "business_system": business_system, **body})


def revoke_grant(client: TestClient, by: Person, grant_id: int,
                 kind: str = "grants") -> httpx.Response:
    """POST /grants/{id}/revoke, or /seal-grants/{id}/revoke with ``kind="seal-grants"``."""
    return post(client, f"{API}/{kind}/{grant_id}/revoke", by, {"reason": "项目结束"})


def revoke_role(client: TestClient, company: Company, by: Person,
                person_id_: str) -> httpx.Response:
    return post(client, company.path(f"members/{person_id_}/revoke"), by, {"reason": "已离职"})


def liveness(client: TestClient, person: Person, png: bytes) -> None:
    """实人认证 of ``person`` now (POST /me/liveness with a face capture)."""
    response = client.post(LIVENESS, headers=person.headers(), json={
        "id_number": person.id_number, "face_image": base64.b64encode(png).decode()})
    assert response.status_code == 200, response.text


def decision(client: TestClient, company: Company, person: Person, scope: str | None = None,
             **params: str) -> dict[str, Any]:
    """GET .../decision for ``person``: business:act in ``scope``, or the action in ``params``."""
    query = {"action": "business:act", "scope": scope} if scope is not None else params
    response = client.get(company.path("decision"), params=query, headers=person.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- what a refusal must leave behind: nothing, except its audit event ----------------------

_STATE_TABLES = (tables.memberships, tables.role_applications, tables.grants, tables.seal_grants,
                 tables.outbox_messages)


def state(container: Container) -> dict[str, Any]:
    """Every row of the tables a roles or grants request writes to (as text), and the number of
    audit events."""
    with container.session_factory() as session:
        found: dict[str, Any] = {
            table.name: sorted(tuple(str(v) for v in row) for row in session.execute(select(table)))
            for table in _STATE_TABLES
        }
        found["audit_events"] = session.scalar(
            select(func.count()).select_from(tables.audit_events))
    return found


def rows(container: Container, table_name: str) -> list[dict[str, Any]]:
    table = {t.name: t for t in _STATE_TABLES}[table_name]
    with container.session_factory() as session:
        return [dict(r._mapping) for r in session.execute(select(table).order_by(table.c.id))]


def newest_event(container: Container) -> AuditEvent:
    [event] = recent_events(uow=container.uow, limit=1)
    return event


def events(container: Container, action: str) -> list[AuditEvent]:
    return [e for e in recent_events(uow=container.uow, limit=1000) if e.action == action]


def refused(response: httpx.Response, container: Container, before: dict[str, Any], *,
            action: str, reason: str) -> None:
    """A 403 permission.denied carrying ``reason``, nothing changed, and one audit event of the
    refusal (the action's tag, outcome denied, the same reason)."""
    body = problem(response, 403, "permission.denied")
    assert body["detail"] == reason
    assert state(container) == before | {"audit_events": before["audit_events"] + 1}
    event = newest_event(container)
    assert (event.action, event.outcome, event.details["reason"]) == (action, "denied", reason)


# Refused before any use case runs (parsing, authentication): no audit event.
_UNAUDITED = ("request.", "auth.")


def rejected(response: httpx.Response, container: Container, before: dict[str, Any],
             status: int, code: str) -> dict[str, Any]:
    """A refused request that is not a permission refusal: its problem, nothing changed, and
    (once a use case refused it) one audit event of the refusal with its code."""
    body = problem(response, status, code)
    after = state(container)
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"}
    event = newest_event(container)
    if code.startswith(_UNAUDITED):
        assert event.request_id != response.headers["x-request-id"]
        return body
    assert (event.request_id, event.outcome, event.details["code"], event.details["reason"]) == (
        response.headers["x-request-id"], "denied", code, body["detail"])
    return body


def messages_to(container: Container, phone: str) -> list[str]:
    """The SMS bodies queued for ``phone`` (sorted: with the test clock standing
    still, their order of creation is not known)."""
    found = notifications.recent_messages(uow=container.uow, limit=100, recipient=phone)
    return sorted(m.body for m in found)


def code_in(text: str) -> str:
    found = re.search(r"确认码 (\d{6})", text)
    assert found, text
    return found.group(1)


@dataclass(frozen=True)
class Cast:
    """Everyone a permission test may need, in one enterprise."""

    company: Company
    admin: Person  # license administrator, appointed by the legal representative
    agent: Person
    linked: Person  # linked to the enterprise, no role yet
    stranger: Person  # verified, not linked
    seal: str  # ids of two of the enterprise's seals
    other_seal: str

    def __getitem__(self, who: str) -> Person:
        person: Person = self.company.legal_rep if who == "legal_rep" else getattr(self, who)
        return person


@pytest.fixture
def cast(client: TestClient, container: Container, company: Company) -> Cast:
    admin = appoint(client, container, company, 2, "admin", name="王五")
    agent = appoint(client, container, company, 3, "agent", name="赵六")
    linked = new_person(client, container, 4, "钱七")
    link(client, company, linked)
    stranger = new_person(client, container, 5, "孙八")
    return Cast(company, admin, agent, linked, stranger,
                make_seal(container, company, f"{company.name}合同专用章"),
                make_seal(container, company, f"{company.name}投标专用章"))
