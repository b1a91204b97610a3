"""Memberships and roles: link, apply, approve, grant, revoke, unlink; the scope tree."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from yunzhang.domain.enterprises import Enterprise
from yunzhang.domain.roles import ApplicationStatus, Membership, Role, RoleApplication
from yunzhang.services import roles
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import ContainerDep, PersonCaller, Reader, Writer

router = APIRouter(prefix="/api/v1", tags=["roles"])

Reason = Annotated[str, Field(min_length=1, max_length=500)]


class MembershipPublic(Public):
    id: int
    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    role: Role | None
    started_at: datetime
    authority: str


class MyMembershipPublic(MembershipPublic):
    uscc: str
    enterprise_name: str

    @classmethod
    def of(cls, membership: Membership, enterprise: Enterprise) -> MyMembershipPublic:
        return cls.model_validate({**MembershipPublic.model_validate(membership).model_dump(),
                                   "uscc": enterprise.uscc, "enterprise_name": enterprise.name})


class MemberPublic(MembershipPublic):
    name: str | None
    phone_masked: str


class ApplicationPublic(Public):
    id: int
    enterprise_id: uuid.UUID
    applicant_id: uuid.UUID
    role: Role
    reason: str
    created_at: datetime
    confirm_by_legal_rep_sms: bool
    status: ApplicationStatus
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str | None

    @classmethod
    def of(cls, application: RoleApplication) -> ApplicationPublic:
        return cls.model_validate(application)


class ApplicationRequest(Strict):
    role: Literal[Role.ADMIN, Role.AGENT]
    reason: Reason
    confirm_by_legal_rep_sms: bool = False


class DecisionNote(Strict):
    note: Annotated[str | None, Field(max_length=500)] = None


class RejectRequest(Strict):
    note: Reason


class ConfirmRequest(Strict):
    code: Annotated[str, Field(min_length=4, max_length=8, pattern=r"^\s*\d+\s*$")]


class GrantRoleRequest(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    id_number: Annotated[str, Field(min_length=1, max_length=20)]
    phone: Annotated[str, Field(min_length=1, max_length=20)]
    role: Literal[Role.ADMIN, Role.AGENT]


class RevokeRequest(Strict):
    reason: Reason


class ScopePublic(Public):
    name: str
    title: str


@router.get("/scopes", response_model=list[ScopePublic])
def scope_tree(c: ContainerDep) -> list[ScopePublic]:
    """The scopes a precise grant can name; a scope covers the scopes below it."""
    return [ScopePublic(name=n, title=t) for n, t in sorted(c.scopes.titles.items())]


@router.get("/me/memberships", response_model=list[MyMembershipPublic])
def my_memberships(auth: Reader, c: ContainerDep) -> list[MyMembershipPublic]:
    return [MyMembershipPublic.of(m, e) for m, e in roles.memberships_of(auth.person.id, uow=c.uow)]


@router.post("/enterprises/{uscc}/link", status_code=201, response_model=MembershipPublic)
def link(uscc: str, auth: Writer, caller: PersonCaller, c: ContainerDep) -> MembershipPublic:
    """关联企业. The registry's legal representative is bound at once (seed 000 §4.2.2)."""
    membership = roles.link_enterprise(auth.person.id, uscc, caller=caller, uow=c.uow, clock=c.clock)
    return MembershipPublic.model_validate(membership)


@router.delete("/enterprises/{uscc}/link", status_code=204)
def unlink(uscc: str, auth: Writer, caller: PersonCaller, c: ContainerDep) -> Response:
    """解除绑定 by the member; every grant they hold there stops at once."""
    roles.unlink_enterprise(auth.person.id, uscc, caller=caller, uow=c.uow, clock=c.clock)
    return Response(status_code=204)


@router.get("/enterprises/{uscc}/members", response_model=list[MemberPublic])
def members(uscc: str, auth: Reader, caller: PersonCaller, c: ContainerDep) -> list[MemberPublic]:
    views = roles.list_members(auth.person.id, uscc, caller=caller, uow=c.uow, clock=c.clock)
    return [MemberPublic.model_validate({
        **MembershipPublic.model_validate(v.membership).model_dump(), "name": v.person.name,
        "phone_masked": v.person.phone[:3] + "****" + v.person.phone[7:]}) for v in views]


@router.post("/enterprises/{uscc}/members", status_code=201, response_model=MembershipPublic)
def grant_role(uscc: str, body: GrantRoleRequest, auth: Writer, caller: PersonCaller,
               c: ContainerDep) -> MembershipPublic:
    """主动授权: give a registered, verified person a role without an application."""
    membership = roles.grant_role(
        roles.GrantRole(auth.person.id, uscc, body.name, body.id_number, body.phone, body.role),
        caller=caller, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings)
    return MembershipPublic.model_validate(membership)


@router.post("/enterprises/{uscc}/members/{person_id}/revoke", status_code=204)
def revoke_role(uscc: str, person_id: uuid.UUID, body: RevokeRequest, auth: Writer,
                caller: PersonCaller, c: ContainerDep) -> Response:
    """Remove a member's role; needs a liveness check (POST /me/liveness) in the last minutes."""
    roles.revoke_role(roles.RevokeRole(auth.person.id, uscc, person_id, body.reason),
                      caller=caller, uow=c.uow, clock=c.clock, settings=c.settings)
    return Response(status_code=204)


@router.post("/enterprises/{uscc}/applications", status_code=201, response_model=ApplicationPublic)
def apply(uscc: str, body: ApplicationRequest, auth: Writer, caller: PersonCaller,
          c: ContainerDep) -> ApplicationPublic:
    application = roles.apply_for_role(
        roles.ApplyForRole(auth.person.id, uscc, Role(body.role), body.reason,
                           body.confirm_by_legal_rep_sms),
        caller=caller, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings)
    return ApplicationPublic.of(application)


@router.get("/enterprises/{uscc}/applications", response_model=list[ApplicationPublic])
def pending_applications(uscc: str, auth: Reader, caller: PersonCaller,
                         c: ContainerDep) -> list[ApplicationPublic]:
    found = roles.list_applications(auth.person.id, uscc, caller=caller, uow=c.uow, clock=c.clock)
    return [ApplicationPublic.of(a) for a in found]


@router.post("/applications/{application_id}/approve", response_model=ApplicationPublic)
def approve(application_id: int, body: DecisionNote, auth: Writer, caller: PersonCaller,
            c: ContainerDep) -> ApplicationPublic:
    application = roles.decide_application(
        roles.DecideApplication(auth.person.id, application_id, True, body.note),
        caller=caller, uow=c.uow, clock=c.clock, settings=c.settings)
    return ApplicationPublic.of(application)


@router.post("/applications/{application_id}/reject", response_model=ApplicationPublic)
def reject(application_id: int, body: RejectRequest, auth: Writer, caller: PersonCaller,
           c: ContainerDep) -> ApplicationPublic:
    application = roles.decide_application(
        roles.DecideApplication(auth.person.id, application_id, False, body.note),
        caller=caller, uow=c.uow, clock=c.clock, settings=c.settings)
    return ApplicationPublic.of(application)


@router.post("/applications/{application_id}/confirm", response_model=ApplicationPublic)
def confirm(application_id: int, body: ConfirmRequest, auth: Writer, caller: PersonCaller,
            c: ContainerDep) -> ApplicationPublic:
    """The applicant enters the code sent to the legal representative (seed 004 §3)."""
    application = roles.confirm_agent(
        roles.ConfirmAgent(auth.person.id, application_id, body.code), caller=caller, uow=c.uow,
        clock=c.clock, keyring=c.keyring, settings=c.settings)
    return ApplicationPublic.of(application)
