"""Requests to the roles and grants endpoints that are refused before any decision: no session
(401), no or someone else's CSRF token (403 auth.csrf), unknown fields, malformed JSON and
ill-typed bodies (422). Each is checked on every endpoint, and none of them changes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock  # noqa: F401  (autouse fixture)
from tests.e2e.persons_support import problem
from tests.e2e.roles_support import (
    API,
    MEMBERSHIPS,
    Cast,
    applied,
    cast,  # noqa: F401  (fixture)
    company,  # noqa: F401  (fixture)
    granted,
    seal_grant,
    state,
)
from yunzhang.bootstrap import Container


@dataclass(frozen=True)
class Targets:
    """A cast with something to act on: a pending application, a grant and a seal grant."""

    cast: Cast
    application: int
    grant: int
    seal_grant: int


@pytest.fixture
def targets(client: TestClient, cast: Cast) -> Targets:
    company = cast.company
    application = applied(client, company, cast.linked, "agent")["id"]
    grant = granted(client, company, company.legal_rep, cast.agent, all_business=True)["id"]
    response = seal_grant(client, company, company.legal_rep, cast.agent, cast.seal)
    assert response.status_code == 201, response.text
    return Targets(cast, application, grant, response.json()["id"])


Request = tuple[str, str, dict[str, Any] | None]  # method, path, a body the endpoint accepts

# Each write endpoint with a well-formed request (real ids, a body its schema accepts).
WRITES: dict[str, Callable[[Targets], Request]] = {
    "link": lambda t: ("POST", t.cast.company.path("link"), None),
    "unlink": lambda t: ("DELETE", t.cast.company.path("link"), None),
    "apply": lambda t: ("POST", t.cast.company.path("applications"),
                        {"role": "agent", "reason": "办理社保"}),
    "approve": lambda t: ("POST", f"{API}/applications/{t.application}/approve", {"note": "同意"}),
    "reject": lambda t: ("POST", f"{API}/applications/{t.application}/reject", {"note": "不同意"}),
    "confirm": lambda t: ("POST", f"{API}/applications/{t.application}/confirm",
                          {"code": "123456"}),
    "grant-role": lambda t: ("POST", t.cast.company.path("members"), {
        "name": t.cast.stranger.name, "id_number": t.cast.stranger.id_number,
        "phone": t.cast.stranger.phone, "role": "agent"}),
    "revoke-role": lambda t: ("POST", t.cast.company.path(f"members/{t.cast.agent.id}/revoke"),
                              {"reason": "离职"}),
    "grant": lambda t: ("POST", t.cast.company.path("grants"),
                        {"grantee_id": t.cast.agent.id, "scopes": ["tax"]}),
    "seal-grant": lambda t: ("POST", t.cast.company.path("seal-grants"), {
        "grantee_id": t.cast.agent.id, "seal_id": t.cast.other_seal, "business_system": "tax"}),
    "revoke-grant": lambda t: ("POST", f"{API}/grants/{t.grant}/revoke", {"reason": "结束"}),
    "revoke-seal-grant": lambda t: ("POST", f"{API}/seal-grants/{t.seal_grant}/revoke",
                                    {"reason": "结束"}),
}
WITH_BODY = [name for name in WRITES if name not in ("link", "unlink")]
READS: dict[str, Callable[[Targets], str]] = {
    "members": lambda t: t.cast.company.path("members"),
    "applications": lambda t: t.cast.company.path("applications"),
    "grants": lambda t: t.cast.company.path("grants"),
    "decision": lambda t: t.cast.company.path("decision") + "?action=business:act&scope=tax",
    "my-memberships": lambda t: MEMBERSHIPS,
}


def send(client: TestClient, request: Request, headers: dict[str, str],
         body: dict[str, Any] | None = None, content: bytes | None = None) -> httpx.Response:
    """The request with ``body`` instead of its valid one, or with raw JSON ``content``."""
    method, path, valid = request
    if content is not None:
        headers = {**headers, "content-type": "application/json"}
        response: httpx.Response = client.request(method, path, content=content, headers=headers)
    else:
        response = client.request(method, path, json=valid if body is None else body,
                                  headers=headers)
    return response


@pytest.mark.parametrize("csrf", [None, "", "foreign"],
                         ids=["no-session", "no-csrf-header", "someone-elses-csrf"])
def test_writes_need_a_session_and_its_csrf_token(client: TestClient, container: Container,
                                                   targets: Targets, csrf: str | None) -> None:
    rep = targets.cast.company.legal_rep
    if csrf is None:
        headers, status, code = {}, 401, "auth.session_invalid"
    else:
        token = targets.cast.agent.login.csrf if csrf == "foreign" else csrf
        headers, status, code = rep.headers(token), 403, "auth.csrf"
        if csrf == "":
            headers.pop("x-csrf-token")
    before = state(container)
    for name, build in WRITES.items():
        problem(send(client, build(targets), headers), status, code)
        assert state(container) == before, name


def test_reads_need_a_session(client: TestClient, container: Container, targets: Targets) -> None:
    before = state(container)
    for build in READS.values():
        problem(client.get(build(targets)), 401, "auth.session_invalid")
    assert state(container) == before


def first_field_a_list(body: dict[str, Any]) -> dict[str, Any]:
    first = next(iter(body))
    return {**body, first: ["a", "list"]}


@pytest.mark.parametrize(("change", "code", "detail"), [
    (lambda body: {**body, "surprise": True}, "request.unknown_field",
     "unknown field(s): surprise"),
    (lambda body: {**body, "granted_by": "00000000-0000-0000-0000-000000000000"},
     "request.unknown_field", "unknown field(s): granted_by"),
    (first_field_a_list, "request.invalid", None),
], ids=["unknown-field", "field-that-only-responses-have", "wrong-type"])
def test_bodies_are_strict(client: TestClient, container: Container, targets: Targets,
                           change: Callable[[dict[str, Any]], dict[str, Any]], code: str,
                           detail: str | None) -> None:
    rep = targets.cast.company.legal_rep
    before = state(container)
    for name in WITH_BODY:
        request = WRITES[name](targets)
        found = problem(send(client, request, rep.headers(), body=change(request[2] or {})), 422,
                        code)
        assert detail is None or found["detail"] == detail, name
        assert state(container) == before, name


@pytest.mark.parametrize("content", [b'{"reason": ', b"not json", b"\xff\xfe"],
                         ids=["truncated", "text", "not-utf8"])
def test_malformed_json_is_refused(client: TestClient, container: Container, targets: Targets,
                                   content: bytes) -> None:
    rep = targets.cast.company.legal_rep
    before = state(container)
    for name in WITH_BODY:
        problem(send(client, WRITES[name](targets), rep.headers(), content=content), 422,
                "request.malformed_json")
        assert state(container) == before, name


def test_a_body_that_is_not_an_object(client: TestClient, container: Container,
                                      targets: Targets) -> None:
    rep = targets.cast.company.legal_rep
    before = state(container)
    for name in WITH_BODY:
        problem(send(client, WRITES[name](targets), rep.headers(), content=b"[]"), 422,
                "request.invalid")
        assert state(container) == before, name
