"""Roles ending through HTTP: revocation after a fresh liveness check (seed 000 §4.2.6),
unlinking by the member, and a registry import naming another legal representative. Whenever a
person leaves or loses a role, every grant they hold there ends at once (status 'ended') and
their very next decision is refused.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock  # noqa: F401  (autouse fixture)
from tests.e2e.persons_support import problem, tiny_png
from tests.e2e.roles_support import (
    LEGAL_REP_NAME,
    NOW_CST,
    Cast,
    Company,
    Person,
    applied,
    appoint,
    cast,  # noqa: F401  (fixture)
    company,  # noqa: F401  (fixture)
    decision,
    events,
    granted,
    import_registry,
    liveness,
    messages_to,
    new_person,
    refused,
    rejected,
    revoke_role,
    role_of,
    rows,
    seal_grant,
    state,
)
from tests.registry_samples import person_id
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container

SCOPE = "ecommerce.bidding.full_process"


def grants_of(container: Container, person_id_: str) -> list[tuple[str, str | None]]:
    """(status, revoke_reason) of every business and seal grant the person holds."""
    return [(g["status"], g["revoke_reason"])
            for table in ("grants", "seal_grants") for g in rows(container, table)
            if str(g["grantee_id"]) == person_id_]


def equipped(client: TestClient, cast: Cast) -> None:
    """Give the agent an all-business grant and a seal grant, both usable now."""
    granted(client, cast.company, cast.admin, cast.agent, all_business=True)
    response = seal_grant(client, cast.company, cast.admin, cast.agent, cast.seal)
    assert response.status_code == 201, response.text
    assert decision(client, cast.company, cast.agent, SCOPE)["allowed"] is True


def not_a_member(client: TestClient, cast: Cast, person: Person) -> None:
    """The person's next decision refuses them as an outsider."""
    answer = decision(client, cast.company, person, SCOPE)
    assert answer == {"allowed": False, "reason": f"you are not a member of {cast.company.name}",
                      "grant_ids": []}


# --- revocation (解除角色) -----------------------------------------------------------------------

def test_revocation_with_a_fresh_liveness_check_ends_role_and_grants(
        client: TestClient, container: Container, cast: Cast, clock: FixedClock) -> None:
    company, admin, agent = cast.company, cast.admin, cast.agent
    equipped(client, cast)
    liveness(client, admin, tiny_png())
    clock.advance(minutes=2)
    response = revoke_role(client, company, admin, agent.id)
    assert response.status_code == 204, response.text
    assert grants_of(container, agent.id) == [("ended", "role revoked: 已离职")] * 2
    not_a_member(client, cast, cast.agent)
    assert role_of(client, agent, company.uscc) == "unlinked"
    [ended] = [m for m in rows(container, "memberships")
               if str(m["person_id"]) == agent.id and m["status"] == "ended"]
    assert (ended["end_reason"], str(ended["ended_by"])) == ("revoked", admin.id)
    assert f"【云章】您在{company.name}的角色已被解除。" in messages_to(container, agent.phone)
    [event] = events(container, "role:revoke")
    assert event.details["role"] == "agent" and event.details["reason"] == "已离职"
    [end] = events(container, "grant:end")
    assert len(end.details["grants"]) == 2
    members = client.get(company.path("members"), headers=admin.headers()).json()
    assert agent.id not in {m["person_id"] for m in members}


@pytest.mark.parametrize(("seconds", "allowed"), [(300, True), (301, False)])
def test_liveness_counts_for_five_minutes(
        client: TestClient, container: Container, cast: Cast, clock: FixedClock, seconds: int,
        allowed: bool) -> None:
    liveness(client, cast.company.legal_rep, tiny_png())
    clock.advance(seconds=seconds)
    before = state(container)
    response = revoke_role(client, cast.company, cast.company.legal_rep, cast.admin.id)
    if allowed:
        assert response.status_code == 204, response.text
        assert role_of(client, cast.admin, cast.company.uscc) == "unlinked"
    else:
        refused(response, container, before, action="role:revoke", reason=(
            "revoking a role needs a liveness check (实人认证) within the last 5 minutes; "
            f"your last one: {NOW_CST}"))
        assert role_of(client, cast.admin, cast.company.uscc) == "admin"


@pytest.mark.parametrize(("by", "whom", "fresh", "reason"), [
    ("legal_rep", "agent", False, "revoking a role needs a liveness check (实人认证) within the "
                                  "last 5 minutes; your last one: never"),
    ("admin", "legal_rep", True,
     "the legal representative's role comes from the registry and cannot be revoked"),
    ("admin", "admin", True, "you cannot revoke your own role; unlink from the enterprise instead"),
    ("legal_rep", "linked", True, "that person holds no role in {name}"),
    ("legal_rep", "stranger", True, "that person holds no role in {name}"),
    ("agent", "linked", True, "agents cannot revoke roles"),
    ("stranger", "agent", True, "you are not a member of {name}"),
], ids=["no-liveness", "the-legal-rep", "oneself", "no-role", "not-a-member", "by-an-agent",
        "by-an-outsider"])
def test_revocations_that_are_refused(
        client: TestClient, container: Container, cast: Cast, by: str, whom: str, fresh: bool,
        reason: str) -> None:
    equipped(client, cast)
    if fresh:
        liveness(client, cast[by], tiny_png())
    before = state(container)
    refused(revoke_role(client, cast.company, cast[by], cast[whom].id), container, before,
            action="role:revoke", reason=reason.format(name=cast.company.name))
    assert decision(client, cast.company, cast.agent, SCOPE)["allowed"] is True


def test_only_the_legal_rep_revokes_administrators(
        client: TestClient, container: Container, cast: Cast) -> None:
    second = appoint(client, container, cast.company, 6, "admin")
    liveness(client, cast.admin, tiny_png())
    before = state(container)
    refused(revoke_role(client, cast.company, cast.admin, second.id), container, before,
            action="role:revoke",
            reason="only the legal representative revokes license administrators")
    assert role_of(client, second, cast.company.uscc) == "admin"


# --- unlinking (解除绑定) ------------------------------------------------------------------------

def test_unlinking_ends_grants_and_withdraws_applications(
        client: TestClient, container: Container, cast: Cast) -> None:
    company, agent = cast.company, cast.agent
    equipped(client, cast)
    pending = applied(client, company, agent, "admin")
    response = client.delete(company.path("link"), headers=agent.headers())
    assert response.status_code == 204, response.text
    assert grants_of(container, agent.id) == [("ended", "the member unlinked")] * 2
    not_a_member(client, cast, cast.agent)
    [application] = [a for a in rows(container, "role_applications") if a["id"] == pending["id"]]
    assert application["status"] == "withdrawn"
    [ended] = [m for m in rows(container, "memberships")
               if str(m["person_id"]) == agent.id and m["status"] == "ended"]
    assert (ended["end_reason"], str(ended["ended_by"])) == ("unlinked", agent.id)
    [event] = events(container, "member:unlink")
    assert event.details == {"person": agent.id, "role": "agent"}


def test_unlinking_that_is_refused(client: TestClient, container: Container, cast: Cast) -> None:
    before = state(container)
    for who, status, code in [("legal_rep", 409, "role.legal_rep_fixed"),
                              ("stranger", 404, "member.not_linked")]:
        rejected(client.delete(cast.company.path("link"), headers=cast[who].headers()), container,
                 before, status, code)


# --- the registry names another legal representative --------------------------------------------

def test_a_new_legal_rep_in_the_registry_replaces_the_old_one(
        client: TestClient, container: Container, cast: Cast) -> None:
    company, old = cast.company, cast.company.legal_rep
    equipped(client, cast)  # the agent, 赵六 (person 3), holds grants
    import_registry(client, legal_rep_name="赵六", legal_rep_id_number=person_id(3))

    not_a_member(client, cast, old)
    [ended] = [m for m in rows(container, "memberships") if str(m["person_id"]) == old.id]
    assert (ended["status"], ended["end_reason"]) == ("ended", "replaced")
    assert [e.details for e in events(container, "role:end_legal_rep")] == [{"person": old.id}]
    assert role_of(client, cast.agent, company.uscc) == "legal_rep"
    assert decision(client, company, cast.agent, "registration.change")["reason"] == (
        f"as legal representative (法定代表人) of {company.name}")
    # The grants the new legal representative held as an agent ended with that role.
    assert grants_of(container, cast.agent.id) == [("ended", "role changed to legal_rep")] * 2
    # The administrator appointed by the old legal representative stays.
    assert role_of(client, cast.admin, company.uscc) == "admin"

    # Back to the first: the second loses the role.
    import_registry(client, legal_rep_name=LEGAL_REP_NAME, legal_rep_id_number=person_id(1))
    assert role_of(client, old, company.uscc) == "legal_rep"
    not_a_member(client, cast, cast.agent)
    assert [e.details["person"] for e in events(container, "role:end_legal_rep")] == [
        cast.agent.id, old.id]


def test_a_registry_legal_rep_who_has_not_registered_yet(
        client: TestClient, container: Container, cast: Cast) -> None:
    import_registry(client, legal_rep_name="郑十一", legal_rep_id_number=person_id(11))
    not_a_member(client, cast, cast.company.legal_rep)
    newcomer = new_person(client, container, 11, "郑十一")
    assert role_of(client, newcomer, cast.company.uscc) == "legal_rep"
    problem(client.post(cast.company.path("link"), headers=newcomer.headers()), 409,
            "member.linked")
