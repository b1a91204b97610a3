"""Business grants (全业务/精准授权, seed 002 §2.3) and seal grants (印章授权, seed 004 §4) through
HTTP, judged by the decision endpoint: scopes cover their subtrees, windows are half-open with a
default of three days, a grant that has not started is visible but not usable, and a revocation
or expiry counts from the very next decision, with a reason naming the grant.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import at, limiter_on_test_clock  # noqa: F401  (autouse fixture)
from tests.e2e.persons_support import problem
from tests.e2e.roles_support import (
    NOW_CST,
    Cast,
    Company,
    Person,
    cast,  # noqa: F401  (fixture)
    company,  # noqa: F401  (fixture)
    create_grant,
    decision,
    events,
    grant_role,
    granted,
    messages_to,
    relog,
    rejected,
    revoke_grant,
    rows,
    seal_grant,
    state,
)
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container

IN_3_DAYS = "2026-11-25 16:00 (UTC+8)"  # the default end of a grant starting now


def refusal(client: TestClient, cast: Cast, scope: str, person: Person | None = None) -> str:
    answer = decision(client, cast.company, person or cast.agent, scope)
    assert answer["allowed"] is False and answer["grant_ids"] == [], answer
    reason: str = answer["reason"]
    return reason


def use_seal(client: TestClient, cast: Cast, person: Person, seal_id: str | None = None,
             system: str = "bidding") -> dict[str, Any]:
    return decision(client, cast.company, person, action="seal:use",
                    seal_id=seal_id or cast.seal, business_system=system)


# --- what a grant covers ------------------------------------------------------------------------

def test_all_business_grant_covers_every_scope(
        client: TestClient, container: Container, cast: Cast, clock: FixedClock) -> None:
    company, rep, agent = cast.company, cast.company.legal_rep, cast.agent
    assert refusal(client, cast, "tax.declare") == (
        f"no grant of yours covers tax.declare in {company.name}")
    grant = granted(client, company, rep, agent, all_business=True)
    assert (grant["kind"], grant["scopes"], grant["status"]) == ("all_business", [], "active")
    assert (grant["granted_by"], grant["authority"], grant["grantee_id"]) == (
        rep.id, "legal_rep", agent.id)
    assert at(grant["starts_at"]) == clock.now()
    assert (at(grant["ends_at"]) - clock.now()).days == 3
    assert (f"【云章】{company.name}授权您办理：all business，{NOW_CST} 至 {IN_3_DAYS}。"
            in messages_to(container, agent.phone))
    [event] = events(container, "grant:create")
    assert event.details["grant"] == grant["id"] and event.details["grantee"] == agent.id

    scopes = [s["name"] for s in client.get("/api/v1/scopes").json()]
    assert len(scopes) > 20 and "hr.social_insurance.declare" in scopes
    for scope in scopes:
        assert decision(client, company, agent, scope) == {
            "allowed": True, "grant_ids": [grant["id"]],
            "reason": f"grant {grant['id']} for all business covers {scope} until {IN_3_DAYS}"}


def test_precise_grant_covers_its_subtree_only(
        client: TestClient, container: Container, cast: Cast) -> None:
    company, admin, agent = cast.company, cast.admin, cast.agent
    grant = granted(client, company, admin, agent, scopes=["ecommerce.bidding"])
    assert (grant["kind"], grant["scopes"], grant["authority"]) == (
        "precise", ["ecommerce.bidding"], "admin")
    for scope in ("ecommerce.bidding", "ecommerce.bidding.full_process",
                  "ecommerce.bidding.bid_opening"):
        assert decision(client, company, agent, scope) == {
            "allowed": True, "grant_ids": [grant["id"]],
            "reason": f"grant {grant['id']} for ecommerce.bidding covers {scope} until {IN_3_DAYS}"}
    for scope in ("hr.social_insurance.declare", "ecommerce", "ecommerce.procurement"):
        assert refusal(client, cast, scope) == f"no grant of yours covers {scope} in {company.name}"


@pytest.mark.parametrize(("asked", "stored"), [
    (["registration.*"], ["registration"]),
    ([" registration.* "], ["registration"]),
    (["registration.change", "registration.*", "tax.invoice"], ["registration", "tax.invoice"]),
])
def test_a_subtree_may_be_named_with_a_star(
        client: TestClient, cast: Cast, asked: list[str], stored: list[str]) -> None:
    grant = granted(client, cast.company, cast.company.legal_rep, cast.agent, scopes=asked)
    assert grant["scopes"] == stored
    assert decision(client, cast.company, cast.agent, "registration.establish")["allowed"] is True
    assert refusal(client, cast, "tax.declare").startswith("no grant of yours covers tax.declare")


BAD_SCOPES: list[tuple[dict[str, Any], str]] = [
    ({"scopes": ["nope"]}, "scope.unknown"),
    ({"scopes": ["ecommerce.bidding.nope"]}, "scope.unknown"),
    ({"scopes": ["tax.declare", "Tax.Invoice"]}, "scope.unknown"),
    ({"scopes": ["registration.**"]}, "scope.unknown"),
    ({"scopes": [""]}, "scope.unknown"),
    ({"scopes": []}, "grant.scopes_required"),
    ({"all_business": True, "scopes": ["tax"]}, "grant.scopes_with_all"),
]


def test_grants_with_bad_scopes_change_nothing(client: TestClient, container: Container,
                                               cast: Cast) -> None:
    before = state(container)
    for body, code in BAD_SCOPES:  # one cast for all: each refusal must leave it as it was
        response = create_grant(client, cast.company, cast.company.legal_rep, cast.agent, **body)
        rejected(response, container, before, 422, code)
    assert decision(client, cast.company, cast.agent, "tax")["allowed"] is False


@pytest.mark.parametrize(("query", "code"), [
    ({"action": "business:act", "scope": "tax.nope"}, "scope.unknown"),
    ({"action": "business:act"}, "scope.unknown"),
    ({"action": "role:approve"}, "authz.action"),
    ({"action": "anything"}, "request.invalid"),
])
def test_the_decision_endpoint_refuses_unknown_scopes_and_actions(
        client: TestClient, company: Company, query: dict[str, str], code: str) -> None:
    response = client.get(company.path("decision"), params=query,
                          headers=company.legal_rep.headers())
    problem(response, 422, code)


def test_decisions_for_people_without_a_role(client: TestClient, cast: Cast) -> None:
    name = cast.company.name
    assert refusal(client, cast, "tax", cast.stranger) == f"you are not a member of {name}"
    assert refusal(client, cast, "tax", cast.linked) == (
        f"you are linked to {name} but hold no role there; apply for one first")
    view = decision(client, cast.company, cast.stranger, action="enterprise:view")
    assert (view["allowed"], view["reason"]) == (False, f"you are not a member of {name}")


# --- windows --------------------------------------------------------------------------------

WINDOW_PROBLEMS: list[tuple[dict[str, str], str]] = [
    ({"starts_at": "2026-11-22T17:00:00+08:00", "ends_at": "2026-11-22T17:00:00+08:00"},
     "window.empty"),
    ({"starts_at": "2026-11-22T17:00:00+08:00", "ends_at": "2026-11-22T09:00:00Z"}, "window.empty"),
    ({"ends_at": "2026-11-22T07:00:00Z"}, "window.empty"),
    ({"starts_at": "2026-11-22T15:54:00+08:00"}, "window.in_past"),
    ({"starts_at": "2026-11-21T16:00:00+08:00", "ends_at": "2026-11-23T16:00:00+08:00"},
     "window.in_past"),
    ({"starts_at": "2026-11-22T17:00:00"}, "window.naive"),
    ({"ends_at": "2029-12-01T00:00:00Z"}, "window.too_long"),
]


@pytest.mark.parametrize("kind", ["grants", "seal-grants"])
def test_windows_that_are_refused(client: TestClient, container: Container, cast: Cast,
                                  kind: str) -> None:
    rep, agent = cast.company.legal_rep, cast.agent
    before = state(container)
    for window, code in WINDOW_PROBLEMS:  # one cast for all: each refusal leaves it as it was
        if kind == "grants":
            response = create_grant(client, cast.company, rep, agent, all_business=True, **window)
        else:
            response = seal_grant(client, cast.company, rep, agent, cast.seal, **window)
        rejected(response, container, before, 422, code)


def test_an_empty_window_is_explained_in_china_time(client: TestClient, container: Container,
                                                   cast: Cast) -> None:
    response = create_grant(client, cast.company, cast.company.legal_rep, cast.agent,
                            all_business=True, starts_at="2026-11-22T09:00:00Z",
                            ends_at="2026-11-22T16:30:00+08:00")
    assert problem(response, 422, "window.empty")["detail"] == (
        "the window ends (2026-11-22 16:30 (UTC+8)) at or before it starts "
        "(2026-11-22 17:00 (UTC+8))")


def test_a_start_a_few_minutes_back_is_tolerated(client: TestClient, cast: Cast,
                                                  clock: FixedClock) -> None:
    grant = granted(client, cast.company, cast.company.legal_rep, cast.agent, all_business=True,
                    starts_at="2026-11-22T15:56:00+08:00")
    assert (clock.now() - at(grant["starts_at"])).total_seconds() == 240
    assert decision(client, cast.company, cast.agent, "tax.declare")["allowed"] is True


def test_a_grant_that_has_not_started_is_visible_but_not_usable(
        client: TestClient, cast: Cast, clock: FixedClock) -> None:
    company, agent = cast.company, cast.agent
    grant = granted(client, company, company.legal_rep, agent, scopes=["ecommerce.bidding"],
                    starts_at="2026-11-22T16:20:00+08:00")
    assert at(grant["ends_at"]) == at("2026-11-25T08:20:00Z")  # start + 3 days
    listed = client.get(company.path("grants"), headers=agent.headers()).json()
    assert [g["id"] for g in listed["grants"]] == [grant["id"]]
    scope = "ecommerce.bidding.full_process"
    assert refusal(client, cast, scope) == (
        f"grant {grant['id']} for ecommerce.bidding starts 2026-11-22 16:20 (UTC+8)")
    clock.advance(minutes=19, seconds=59)
    assert decision(client, company, agent, scope)["allowed"] is False
    clock.advance(seconds=1)
    assert decision(client, company, agent, scope)["grant_ids"] == [grant["id"]]


def test_an_expired_grant_is_named_in_the_refusal(
        client: TestClient, cast: Cast, clock: FixedClock) -> None:
    grant = granted(client, cast.company, cast.admin, cast.agent, all_business=True,
                    ends_at="2026-11-22T08:25:00Z")
    clock.advance(minutes=24, seconds=59)
    assert decision(client, cast.company, cast.agent, "tax.declare")["allowed"] is True
    clock.advance(seconds=1)
    assert refusal(client, cast, "tax.declare") == (
        f"grant {grant['id']} for all business expired 2026-11-22 16:25 (UTC+8)")


def test_grants_that_ended_long_ago_are_no_longer_named(
        client: TestClient, cast: Cast, clock: FixedClock) -> None:
    granted(client, cast.company, cast.admin, cast.agent, all_business=True,
            ends_at="2026-11-22T08:25:00Z")
    clock.advance(days=31)
    agent = relog(client, cast.agent)  # the old session has long been idle
    assert refusal(client, cast, "tax.declare", agent) == (
        f"no grant of yours covers tax.declare in {cast.company.name}")


# --- revocation counts from the very next decision ----------------------------------------------

def test_revocation_counts_from_the_next_decision(
        client: TestClient, container: Container, cast: Cast, clock: FixedClock) -> None:
    company, admin = cast.company, cast.admin
    grant = granted(client, company, cast.company.legal_rep, cast.agent, all_business=True)
    assert decision(client, company, cast.agent, "tax.invoice")["allowed"] is True
    clock.advance(minutes=10)
    response = revoke_grant(client, admin, grant["id"])
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert (revoked["status"], revoked["revoke_reason"]) == ("revoked", "项目结束")
    assert refusal(client, cast, "tax.invoice") == (
        f"grant {grant['id']} for all business was revoked at 2026-11-22 16:10 (UTC+8)")
    [event] = events(container, "grant:revoke")
    assert event.details == {"grant": grant["id"], "reason": "项目结束"}
    before = state(container)
    rejected(revoke_grant(client, admin, grant["id"]), container, before, 409, "grant.not_active")
    rejected(revoke_grant(client, admin, 999_999), container, before, 404, "grant.not_found")


def test_the_most_useful_refusal_and_any_usable_grant_win(
        client: TestClient, cast: Cast) -> None:
    company, rep = cast.company, cast.company.legal_rep
    old = granted(client, company, rep, cast.agent, scopes=["tax"])
    assert revoke_grant(client, rep, old["id"]).status_code == 200
    later = granted(client, company, rep, cast.agent, scopes=["tax.declare"],
                    starts_at="2026-12-01T09:00:00+08:00")
    assert refusal(client, cast, "tax.declare") == (
        f"grant {later['id']} for tax.declare starts 2026-12-01 09:00 (UTC+8)")
    now = granted(client, company, rep, cast.agent, all_business=True)
    assert decision(client, company, cast.agent, "tax.declare")["grant_ids"] == [now["id"]]


# --- seal grants ------------------------------------------------------------------------------

def test_seal_grant_for_one_seal_in_one_system(
        client: TestClient, container: Container, cast: Cast, clock: FixedClock) -> None:
    company, admin = cast.company, cast.admin
    seal = cast.seal
    assert use_seal(client, cast, admin)["reason"] == (
        f"no seal grant of yours covers seal {seal} in bidding")
    response = seal_grant(client, company, company.legal_rep, admin, f" {seal.upper()} ",
                          business_system=" bidding ")
    assert response.status_code == 201, response.text
    grant = response.json()
    assert (grant["seal_id"], grant["business_system"], grant["authority"]) == (
        seal, "bidding", "legal_rep")
    assert use_seal(client, cast, admin) == {
        "allowed": True, "grant_ids": [grant["id"]],
        "reason": f"seal grant {grant['id']} for seal {seal} in bidding until {IN_3_DAYS}"}
    assert use_seal(client, cast, admin, system="tax")["allowed"] is False
    assert use_seal(client, cast, admin, seal_id=cast.other_seal)["allowed"] is False
    assert use_seal(client, cast, cast.agent)["allowed"] is False  # the grant is the admin's

    clock.advance(minutes=1)
    revoked = revoke_grant(client, company.legal_rep, grant["id"], kind="seal-grants")
    assert revoked.status_code == 200, revoked.text
    assert use_seal(client, cast, admin)["reason"] == (
        f"grant {grant['id']} for seal {seal} in bidding was revoked at 2026-11-22 16:01 (UTC+8)")
    listed = client.get(company.path("grants"), headers=admin.headers()).json()
    assert [(g["id"], g["status"]) for g in listed["seal_grants"]] == [(grant["id"], "revoked")]
    [event] = events(container, "seal_grant:revoke")
    assert event.details["seal_grant"] == grant["id"]


@pytest.mark.parametrize(("field", "value"), [
    ("seal_id", "印章"), ("seal_id", "SEAL-1"), ("business_system", "two words"),
    ("business_system", "-leading-dash"),
])
def test_seal_grant_identifiers_are_checked(client: TestClient, container: Container, cast: Cast,
                                            field: str, value: str) -> None:
    before = state(container)
    fields = {"seal_id": cast.seal, field: value}
    response = seal_grant(client, cast.company, cast.admin, cast.agent, **fields)  # type: ignore[arg-type]
    rejected(response, container, before, 422, f"seal_grant.{field}")


def test_a_seal_grant_names_a_usable_seal_of_the_enterprise(
        client: TestClient, container: Container, cast: Cast) -> None:
    import uuid

    before = state(container)
    unknown = seal_grant(client, cast.company, cast.admin, cast.agent, str(uuid.uuid4()))
    assert "has no seal" in rejected(unknown, container, before, 404, "seal.not_found")["detail"]
    with container.uow() as tx:
        seal = tx.seals.get(uuid.UUID(cast.other_seal))
        assert seal is not None
        seal.revoke(at=container.clock.now(), reason="作废")
        tx.commit()
    before = state(container)
    revoked = seal_grant(client, cast.company, cast.admin, cast.agent, cast.other_seal)
    rejected(revoked, container, before, 409, "seal.state")


def test_an_agent_sees_only_their_own_grants(client: TestClient, container: Container,
                                             cast: Cast) -> None:
    company, rep = cast.company, cast.company.legal_rep
    mine = granted(client, company, rep, cast.agent, all_business=True)
    assert grant_role(client, company, rep, cast.linked, "agent").status_code == 201
    granted(client, company, rep, cast.linked, scopes=["tax"])
    assert [g["id"] for g in client.get(company.path("grants"), headers=cast.agent.headers())
            .json()["grants"]] == [mine["id"]]
    everyone = client.get(company.path("grants"), headers=cast.admin.headers()).json()["grants"]
    assert len(everyone) == 2
    stored = [g for g in rows(container, "grants") if g["id"] == mine["id"]]
    assert str(stored[0]["granted_by"]) == rep.id and stored[0]["authority"] == "legal_rep"
