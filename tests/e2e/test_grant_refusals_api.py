"""Who may not grant or revoke authorizations, through HTTP: agents never re-delegate, outsiders
and role-less members manage nothing, business grants go to agents only, and a grant never
outlives the role it was given for. Each refusal is a 403 carrying the decision's reason,
changes nothing and is audited with outcome denied.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock  # noqa: F401  (autouse fixture)
from tests.e2e.roles_support import (
    Cast,
    cast,  # noqa: F401  (fixture)
    company,  # noqa: F401  (fixture)
    create_grant,
    decision,
    applied,
    decide_application,
    grant_role,
    granted,
    newest_event,
    refused,
    revoke_grant,
    rows,
    seal_grant,
    state,
)
from yunzhang.bootstrap import Container

ADMIN_LABEL = "license administrator (证照管理员)"


def use_seal_allowed(client: TestClient, cast: Cast) -> bool:
    answer = decision(client, cast.company, cast.agent, action="seal:use", seal_id=cast.seal,
                      business_system="bidding")
    allowed: bool = answer["allowed"]
    return allowed


@pytest.mark.parametrize(("granter", "grantee", "reason"), [
    ("agent", "agent", "agents cannot authorize others (no re-delegation)"),
    ("agent", "linked", "agents cannot authorize others (no re-delegation)"),
    ("stranger", "agent", "you are not a member of {name}"),
    ("linked", "agent", "you are linked to {name} but hold no role there; apply for one first"),
    ("legal_rep", "legal_rep", "you cannot authorize yourself"),
    ("legal_rep", "admin", f"business grants are for agents; that person is the {ADMIN_LABEL}"),
    ("admin", "legal_rep",
     "business grants are for agents; that person is the legal representative (法定代表人)"),
    ("legal_rep", "linked", "that person holds no role in {name}"),
    ("admin", "stranger", "that person holds no role in {name}"),
])
def test_business_grants_that_are_refused(
        client: TestClient, container: Container, cast: Cast, granter: str, grantee: str,
        reason: str) -> None:
    before = state(container)
    response = create_grant(client, cast.company, cast[granter], cast[grantee],
                            scopes=["ecommerce.bidding"])
    refused(response, container, before, action="grant:create",
            reason=reason.format(name=cast.company.name))
    details = newest_event(container).details
    assert details["person"] == cast[grantee].id and details["scopes"] == ["ecommerce.bidding"]


@pytest.mark.parametrize(("granter", "grantee", "reason"), [
    ("agent", "agent", "agents cannot authorize seal use (no re-delegation)"),
    ("stranger", "agent", "you are not a member of {name}"),
    ("admin", "legal_rep", "the legal representative uses the seals without a grant"),
    ("admin", "admin", "you cannot authorize yourself"),
    ("legal_rep", "linked", "that person holds no role in {name}"),
])
def test_seal_grants_that_are_refused(
        client: TestClient, container: Container, cast: Cast, granter: str, grantee: str,
        reason: str) -> None:
    before = state(container)
    refused(seal_grant(client, cast.company, cast[granter], cast[grantee], cast.seal), container, before,
            action="seal_grant:create", reason=reason.format(name=cast.company.name))


@pytest.mark.parametrize(("revoker", "reason"), [
    ("agent", "agents cannot revoke {what}"),
    ("stranger", "you are not a member of {name}"),
    ("linked", "you are linked to {name} but hold no role there; apply for one first"),
])
def test_revocations_of_grants_that_are_refused(
        client: TestClient, container: Container, cast: Cast, revoker: str, reason: str) -> None:
    company = cast.company
    grant = granted(client, company, company.legal_rep, cast.agent, all_business=True)["id"]
    response = seal_grant(client, company, company.legal_rep, cast.agent, cast.seal)
    assert response.status_code == 201, response.text
    for kind, grant_id, what in [("grants", grant, "authorizations"),
                                 ("seal-grants", response.json()["id"], "seal authorizations")]:
        before = state(container)
        refused(revoke_grant(client, cast[revoker], grant_id, kind=kind), container, before,
                action="grant:revoke" if kind == "grants" else "seal_grant:revoke",
                reason=reason.format(name=company.name, what=what))
    assert decision(client, company, cast.agent, "tax.declare")["grant_ids"] == [grant]
    assert use_seal_allowed(client, cast)


def test_a_refused_grant_can_be_given_once_the_person_is_an_agent(
        client: TestClient, container: Container, cast: Cast) -> None:
    company, rep, person = cast.company, cast.company.legal_rep, cast.linked
    assert create_grant(client, company, rep, person, all_business=True).status_code == 403
    assert grant_role(client, company, rep, person, "agent").status_code == 201
    grant = granted(client, company, rep, person, all_business=True)
    assert decision(client, company, person, "tax.declare")["grant_ids"] == [grant["id"]]


@pytest.mark.parametrize("promotion", ["grant", "application"])
def test_grants_end_when_an_agent_gets_another_role(
        client: TestClient, container: Container, cast: Cast, promotion: str) -> None:
    """Business and seal grants are given to an agent as an agent: promoted, they hold none."""
    company, rep, agent = cast.company, cast.company.legal_rep, cast.agent
    grant = granted(client, company, rep, agent, all_business=True)
    seal = seal_grant(client, company, rep, agent, cast.seal)
    assert seal.status_code == 201, seal.text
    if promotion == "grant":
        assert grant_role(client, company, rep, agent, "admin").status_code == 201
    else:
        application = applied(client, company, agent, "admin")
        assert decide_application(client, rep, application["id"]).status_code == 200
    listed = client.get(company.path("grants"), headers=rep.headers()).json()
    assert [(g["id"], g["status"]) for g in listed["grants"]] == [(grant["id"], "ended")]
    assert [g["status"] for g in listed["seal_grants"]] == ["ended"]
    [stored] = [g for g in rows(container, "grants") if g["id"] == grant["id"]]
    assert (stored["revoke_reason"], str(stored["revoked_by"])) == ("role changed to admin", rep.id)
