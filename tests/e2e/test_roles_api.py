"""Roles through HTTP: the registry's legal representative bound automatically, linking,
applying, approving and rejecting, proactive grants, the administrator limit and the agent
registration confirmed by the legal representative's SMS code (seed 000 §4.2, seed 004 §3).

Every refusal by the decision function is a 403 whose detail is the decision's reason, changes
nothing and leaves an audit event with outcome denied; other refusals change nothing at all.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock  # noqa: F401  (autouse fixture)
from tests.e2e.persons_support import log_in, other_code, problem, register
from tests.e2e.roles_support import (
    API,
    LEGAL_REP_NAME,
    Cast,
    Company,
    apply,
    applied,
    appoint,
    cast,  # noqa: F401  (fixture)
    code_in,
    company,  # noqa: F401  (fixture)
    decide_application,
    decision,
    enterprise_path,
    events,
    grant_role,
    import_registry,
    link,
    membership,
    messages_to,
    new_person,
    phone_of,
    refused,
    rejected,
    role_of,
    rows,
    state,
    the_company,
)
from tests.registry_samples import company_uscc, person_id
from yunzhang.bootstrap import Container

LEGAL_REP_LABEL = "legal representative (法定代表人)"
ADMIN_ONLY_BY_LEGAL_REP = "only the legal representative appoints license administrators"


# --- the legal representative comes from the registry ---------------------------------------

def test_identity_verification_binds_the_registry_legal_rep(
        client: TestClient, container: Container, company: Company) -> None:
    rep = company.legal_rep
    found = membership(client, rep, company.uscc)
    assert found is not None
    assert (found["role"], found["authority"], found["enterprise_name"]) == (
        "legal_rep", "registry", company.name)
    [event] = events(container, "role:bind_legal_rep")
    assert event.details == {"person": rep.id} and event.subject == f"enterprise:{company.uscc}"
    as_rep = f"as {LEGAL_REP_LABEL} of {company.name}"
    assert decision(client, company, rep, "hr.social_insurance.declare") == {
        "allowed": True, "reason": as_rep, "grant_ids": []}
    seal = decision(client, company, rep, action="seal:use", seal_id="SEAL-9",
                    business_system="tax")
    assert seal == {"allowed": True, "reason": f"{as_rep} (the seals' owner)", "grant_ids": []}
    problem(client.post(company.path("link"), headers=rep.headers()), 409, "member.linked")


def test_same_id_number_under_another_name_is_not_the_legal_rep(
        client: TestClient, container: Container) -> None:
    import_registry(client, legal_rep_name=LEGAL_REP_NAME, legal_rep_id_number=person_id(1))
    impostor = new_person(client, container, 1, "张叁")
    company = the_company(impostor)
    assert membership(client, impostor, company.uscc) is None
    assert link(client, company, impostor)["role"] is None
    assert events(container, "role:bind_legal_rep") == []


def test_registry_import_binds_a_person_verified_before(
        client: TestClient, container: Container) -> None:
    rep = new_person(client, container, 1, LEGAL_REP_NAME)
    import_registry(client, legal_rep_name=LEGAL_REP_NAME, legal_rep_id_number=person_id(1))
    found = membership(client, rep, the_company(rep).uscc)
    assert found is not None and (found["role"], found["authority"]) == ("legal_rep", "registry")


# --- link, apply, approve, reject -------------------------------------------------------------

def test_links_that_are_refused(client: TestClient, container: Container, company: Company) -> None:
    register(client, container, phone_of(9))
    unverified = log_in(client, phone_of(9))
    before = state(container)
    for path, status, code in [
        (company.path("link"), 409, "person.identity_required"),
        (enterprise_path(company_uscc(77), "link"), 404, "enterprise.not_found"),
        (enterprise_path(company.uscc[:17] + "0", "link"), 422, "uscc.check_digit"),
    ]:
        rejected(client.post(path, headers=unverified.headers()), container, before, status, code)


def test_link_apply_and_approval_by_the_legal_rep(
        client: TestClient, container: Container, company: Company) -> None:
    rep, person = company.legal_rep, new_person(client, container, 2, "王五")
    linked = link(client, company, person)
    assert (linked["role"], linked["authority"]) == (None, "self-linked")
    assert role_of(client, person, company.uscc) is None
    application = applied(client, company, person, "admin")
    assert (application["status"], application["role"], application["reason"]) == (
        "pending", "admin", "负责本企业投标事务")
    assert f"【云章】王五申请成为{company.name}的证照管理员，请审批。" in messages_to(container, rep.phone)
    pending = client.get(company.path("applications"), headers=rep.headers())
    assert [a["id"] for a in pending.json()] == [application["id"]]

    response = decide_application(client, rep, application["id"], note="同意")
    assert response.status_code == 200, response.text
    decided = response.json()
    assert (decided["status"], decided["decided_by"], decided["decision_note"]) == (
        "approved", rep.id, "同意")
    assert role_of(client, person, company.uscc) == "admin"
    assert f"【云章】您申请成为{company.name}证照管理员已通过。" in messages_to(container, person.phone)
    assert client.get(company.path("applications"), headers=rep.headers()).json() == []
    # The history keeps the linked row (ended) and the new one with its authority.
    old, new = [m for m in rows(container, "memberships") if str(m["person_id"]) == person.id]
    assert (old["status"], old["end_reason"], old["role"]) == ("ended", "role_changed", None)
    assert (new["status"], new["role"], str(new["granted_by"])) == ("active", "admin", rep.id)
    assert new["authority"] == (f"application {application['id']} approved "
                                f"(as {LEGAL_REP_LABEL} of {company.name})")
    [event] = events(container, "role:approve")
    assert event.details["person"] == person.id and event.outcome == "success"


def test_an_admin_approves_and_rejects_agents(
        client: TestClient, container: Container, cast: Cast) -> None:
    company, admin = cast.company, cast.admin
    first = applied(client, company, cast.linked, "agent")
    approved = decide_application(client, admin, first["id"])
    assert approved.status_code == 200, approved.text
    assert role_of(client, cast.linked, company.uscc) == "agent"

    other = new_person(client, container, 6, "周九")
    second = applied(client, company, other, "agent")
    response = decide_application(client, admin, second["id"], "reject", note="非本企业员工")
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["decided_by"]) == ("rejected", admin.id)
    assert role_of(client, other, company.uscc) is None
    assert (f"【云章】您申请成为{company.name}经办人未通过：非本企业员工。"
            in messages_to(container, other.phone))
    problem(decide_application(client, admin, second["id"]), 409, "application.not_pending")


# Nobody who may approve can have a pending application of their own (administrators cannot
# apply, and a new role withdraws pending applications), so one's own application is refused
# for the role one holds: "you cannot approve your own application" stays a second line of defence.
@pytest.mark.parametrize(("approver", "applicant", "role", "reason"), [
    ("admin", "linked", "admin", ADMIN_ONLY_BY_LEGAL_REP),
    ("agent", "agent", "admin", "agents cannot approve roles"),  # their own application
    ("linked", "linked", "agent",
     "you are linked to {name} but hold no role there; apply for one first"),  # their own
    ("agent", "linked", "agent", "agents cannot approve roles"),
    ("stranger", "linked", "agent", "you are not a member of {name}"),
], ids=["admin-approves-admin", "agent-own", "linked-own", "agent-approves-agent", "not-a-member"])
def test_approvals_beyond_ones_role_are_refused(
        client: TestClient, container: Container, cast: Cast, approver: str, applicant: str,
        role: str, reason: str) -> None:
    application = applied(client, cast.company, cast[applicant], role)
    for verdict in ("approve", "reject"):  # the same authority decides both ways
        before = state(container)
        response = decide_application(client, cast[approver], application["id"], verdict,
                                      note="理由")
        refused(response, container, before, action="role:approve",
                reason=reason.format(name=cast.company.name))
    assert role_of(client, cast[applicant], cast.company.uscc) == (
        "agent" if applicant == "agent" else None)


IMPOSSIBLE_APPLICATIONS: list[tuple[str, str, dict[str, object], int, str]] = [
    ("stranger", "agent", {}, 409, "member.not_linked"),
    ("agent", "agent", {}, 409, "role.already_held"),
    ("admin", "agent", {}, 409, "role.already_held"),
    ("legal_rep", "admin", {}, 409, "role.already_held"),
    ("linked", "legal_rep", {}, 422, "request.invalid"),
    ("linked", "admin", {"confirm_by_legal_rep_sms": True}, 422, "application.role"),
    ("linked", "agent", {"reason": "   "}, 422, "application.reason"),
]


def test_applications_that_cannot_be_made(client: TestClient, container: Container,
                                          cast: Cast) -> None:
    before = state(container)
    for who, role, extra, status, code in IMPOSSIBLE_APPLICATIONS:  # each leaves all as it was
        rejected(apply(client, cast.company, cast[who], role, **extra), container, before, status,
                 code)


def test_one_pending_application_at_a_time(
        client: TestClient, container: Container, cast: Cast) -> None:
    applied(client, cast.company, cast.linked, "agent")
    before = state(container)
    rejected(apply(client, cast.company, cast.linked, "admin"), container, before, 409,
             "application.pending")


def test_sms_confirmation_needs_a_legal_rep_who_has_joined(
        client: TestClient, container: Container, company: Company) -> None:
    import_registry(client, legal_rep_name="郑十一", legal_rep_id_number=person_id(11))
    person = new_person(client, container, 2, "王五")
    link(client, company, person)
    before = state(container)
    rejected(apply(client, company, person, "agent", confirm_by_legal_rep_sms=True), container,
             before, 409, "application.no_legal_rep")


def test_an_unknown_application(client: TestClient, container: Container, company: Company) -> None:
    before = state(container)
    rejected(decide_application(client, company.legal_rep, 999_999), container, before, 404,
             "application.not_found")


# --- proactive grant (主动授权) ----------------------------------------------------------------

def test_proactive_grant_withdraws_a_pending_application(
        client: TestClient, container: Container, cast: Cast) -> None:
    company, admin, person = cast.company, cast.admin, cast.linked
    application = applied(client, company, person, "admin")
    response = grant_role(client, company, admin, person, "agent")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["role"], body["person_id"]) == ("agent", person.id)
    [stored_membership] = [m for m in rows(container, "memberships") if m["id"] == body["id"]]
    assert str(stored_membership["granted_by"]) == admin.id
    assert body["authority"] == (f"granted by {admin.id} (as license administrator (证照管理员) "
                                 f"of {company.name})")
    assert f"【云章】您已被授予{company.name}的经办人角色。" in messages_to(container, person.phone)
    [stored] = [a for a in rows(container, "role_applications") if a["id"] == application["id"]]
    assert stored["status"] == "withdrawn"
    problem(grant_role(client, company, admin, person, "agent"), 409, "role.already_held")


@pytest.mark.parametrize(("granter", "subject", "role", "reason"), [
    ("admin", "linked", "admin", ADMIN_ONLY_BY_LEGAL_REP),
    ("agent", "linked", "agent", "agents cannot grant roles"),
    ("legal_rep", "legal_rep", "agent", "you cannot grant yourself a role"),
    ("admin", "admin", "agent", "you cannot grant yourself a role"),
    ("stranger", "linked", "agent", "you are not a member of {name}"),
])
def test_proactive_grants_beyond_ones_role_are_refused(
        client: TestClient, container: Container, cast: Cast, granter: str, subject: str,
        role: str, reason: str) -> None:
    before = state(container)
    response = grant_role(client, cast.company, cast[granter], cast[subject], role)
    refused(response, container, before, action="role:grant",
            reason=reason.format(name=cast.company.name))


NO_ROLE_TAKEN_AWAY = [
    ("agent", "agent", "role.already_held", "赵六 already is the agent (经办人)"),
    ("admin", "admin", "role.already_held", "王五 already is the license administrator (证照管理员)"),
    # A lower role would end the administrator's without a revocation's liveness check.
    ("admin", "agent", "role.already_held", "王五 already is the license administrator (证照管理员)"),
    ("legal_rep", "agent", "role.legal_rep_fixed",
     "the legal representative's role follows the registry"),
]


def test_proactive_grants_never_take_a_role_away(client: TestClient, container: Container,
                                                 cast: Cast) -> None:
    before = state(container)
    for subject, role, code, detail in NO_ROLE_TAKEN_AWAY:  # each leaves all as it was
        granter = cast.admin if subject == "legal_rep" else cast.company.legal_rep
        body = rejected(grant_role(client, cast.company, granter, cast[subject], role), container,
                        before, 409, code)
        assert body["detail"] == detail


def test_proactive_grant_needs_name_id_number_and_phone_to_match(
        client: TestClient, container: Container, cast: Cast) -> None:
    person = cast.stranger
    valid = {"name": person.name, "id_number": person.id_number, "phone": person.phone,
             "role": "agent"}
    before = state(container)
    for wrong in ({"name": "孙九"}, {"id_number": person_id(99)}, {"phone": "13900009999"}):
        response = client.post(cast.company.path("members"), json=valid | wrong,
                               headers=cast.company.legal_rep.headers())
        rejected(response, container, before, 404, "person.not_found")


# --- at most five license administrators ------------------------------------------------------

def test_a_sixth_administrator_is_refused_until_a_place_is_free(
        client: TestClient, container: Container, company: Company) -> None:
    rep = company.legal_rep
    admins = [appoint(client, container, company, n, "admin") for n in range(2, 7)]
    sixth = new_person(client, container, 7, "吴十")
    application = applied(client, company, sixth, "admin")
    before = state(container)
    body = rejected(decide_application(client, rep, application["id"]), container, before, 409,
                    "role.admin_limit")
    assert body["detail"] == (f"{company.name} already has 5 license administrators; "
                              "the limit is 5")
    rejected(grant_role(client, company, rep, sixth, "admin"), container, before, 409,
             "role.admin_limit")
    assert role_of(client, sixth, company.uscc) is None

    unlinked = client.delete(company.path("link"), headers=admins[0].headers())
    assert unlinked.status_code == 204, unlinked.text
    response = decide_application(client, rep, application["id"])
    assert response.status_code == 200, response.text
    assert role_of(client, sixth, company.uscc) == "admin"


# --- agent registration confirmed by the legal representative's SMS code (seed 004 §3) -------

def test_agent_registration_confirmed_by_the_legal_reps_code(
        client: TestClient, container: Container, cast: Cast) -> None:
    company, rep, person = cast.company, cast.company.legal_rep, cast.linked
    applicant_messages = messages_to(container, person.phone)
    application = applied(client, company, person, "agent", confirm_by_legal_rep_sms=True)
    assert application["confirm_by_legal_rep_sms"] is True
    [notice] = [m for m in messages_to(container, rep.phone) if "确认码" in m]
    assert notice.startswith(f"【云章】钱七申请成为{company.name}的经办人，确认码 ")
    code = code_in(notice)
    assert messages_to(container, person.phone) == applicant_messages  # nothing to the applicant
    confirm = f"{API}/applications/{application['id']}/confirm"

    before = state(container)
    wrong = client.post(confirm, json={"code": other_code(code)}, headers=person.headers())
    assert rejected(wrong, container, before, 422, "sms_code.wrong")["tries_left"] == 4
    # Only the applicant confirms their own application, even with the right code.
    rejected(client.post(confirm, json={"code": code}, headers=cast.admin.headers()), container,
             before, 404, "application.not_found")
    assert role_of(client, person, company.uscc) is None

    response = client.post(confirm, json={"code": f" {code} "}, headers=person.headers())
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["decided_by"]) == ("approved", rep.id)
    assert role_of(client, person, company.uscc) == "agent"
    found = membership(client, person, company.uscc)
    assert found is not None and found["authority"].startswith(
        f"application {application['id']} confirmed by the legal representative's SMS code")
    assert f"【云章】您申请成为{company.name}经办人已通过。" in messages_to(container, person.phone)
    problem(client.post(confirm, json={"code": code}, headers=person.headers()), 409,
            "application.not_pending")
