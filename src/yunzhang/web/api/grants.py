"""Authorizations: business grants for agents, seal-use grants, and asking for a decision."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from yunzhang.domain.authz import Action
from yunzhang.domain.grants import GrantKind, GrantStatus
from yunzhang.services import grants
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import ContainerDep, PersonCaller, Reader, Writer

router = APIRouter(prefix="/api/v1", tags=["authorizations"])


class _GrantPublic(Public):
    id: int
    enterprise_id: uuid.UUID
    grantee_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    granted_by: uuid.UUID
    authority: str
    created_at: datetime
    status: GrantStatus
    revoked_at: datetime | None
    revoke_reason: str | None


class GrantPublic(_GrantPublic):
    kind: GrantKind
    scopes: list[str]


class SealGrantPublic(_GrantPublic):
    seal_id: str
    business_system: str


class AutoStampGrantPublic(_GrantPublic):
    seal_id: str
    business_system: str
    scopes: list[str]
    max_count: int | None
    used_count: int


class GrantsPublic(Public):
    grants: list[GrantPublic]
    seal_grants: list[SealGrantPublic]
    auto_stamp_grants: list[AutoStampGrantPublic]


class GrantRequest(Strict):
    grantee_id: uuid.UUID
    all_business: bool = False
    scopes: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=50)] = []
    starts_at: datetime | None = Field(None, description="default: now")
    ends_at: datetime | None = Field(None, description="default: start + 3 days (seed 002)")


class SealGrantRequest(Strict):
    grantee_id: uuid.UUID
    seal_id: Annotated[str, Field(min_length=1, max_length=64)]
    business_system: Annotated[str, Field(min_length=1, max_length=64)]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class AutoStampGrantRequest(Strict):
    business_system: Annotated[str, Field(min_length=2, max_length=64,
                                          description="the business system's client id")]
    seal_id: Annotated[str, Field(min_length=1, max_length=64)]
    scopes: Annotated[list[Annotated[str, Field(max_length=200)]], Field(min_length=1,
                                                                         max_length=50)]
    starts_at: datetime | None = None
    ends_at: datetime | None = Field(None, description="default: start + 3 days")
    max_count: int | None = Field(None, ge=1, description="at most this many stamps")


class RevokeRequest(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class DecisionPublic(Public):
    allowed: bool
    reason: str
    grant_ids: list[int]


@router.post("/enterprises/{uscc}/grants", status_code=201, response_model=GrantPublic)
def create_grant(uscc: str, body: GrantRequest, auth: Writer, caller: PersonCaller,
                 c: ContainerDep) -> GrantPublic:
    """全业务授权 (all_business) or 精准授权 (scopes) for an agent, in a [start, end) window."""
    grant = grants.create_grant(
        grants.CreateGrant(auth.person.id, uscc, body.grantee_id, body.all_business,
                           list(body.scopes), body.starts_at, body.ends_at),
        caller=caller, uow=c.uow, clock=c.clock, scopes=c.scopes, settings=c.settings)
    return GrantPublic.model_validate(grant)


@router.get("/enterprises/{uscc}/grants", response_model=GrantsPublic)
def list_grants(uscc: str, auth: Reader, caller: PersonCaller, c: ContainerDep) -> GrantsPublic:
    listing = grants.list_grants(auth.person.id, uscc, caller=caller, uow=c.uow, clock=c.clock)
    return GrantsPublic(
        grants=[GrantPublic.model_validate(g) for g in listing.grants],
        seal_grants=[SealGrantPublic.model_validate(g) for g in listing.seal_grants],
        auto_stamp_grants=[AutoStampGrantPublic.model_validate(g)
                           for g in listing.auto_stamp_grants])


@router.post("/grants/{grant_id}/revoke", response_model=GrantPublic)
def revoke_grant(grant_id: int, body: RevokeRequest, auth: Writer, caller: PersonCaller,
                 c: ContainerDep) -> GrantPublic:
    """Takes effect on the very next decision."""
    grant = grants.revoke_grant(grants.RevokeGrant(auth.person.id, grant_id, body.reason),
                                caller=caller, uow=c.uow, clock=c.clock)
    return GrantPublic.model_validate(grant)


@router.post("/enterprises/{uscc}/seal-grants", status_code=201, response_model=SealGrantPublic)
def create_seal_grant(uscc: str, body: SealGrantRequest, auth: Writer, caller: PersonCaller,
                      c: ContainerDep) -> SealGrantPublic:
    """印章授权: this person may use this seal in this business system during the window."""
    grant = grants.create_seal_grant(
        grants.CreateSealGrant(auth.person.id, uscc, body.grantee_id, body.seal_id,
                               body.business_system, body.starts_at, body.ends_at),
        caller=caller, uow=c.uow, clock=c.clock, settings=c.settings)
    return SealGrantPublic.model_validate(grant)


@router.post("/seal-grants/{grant_id}/revoke", response_model=SealGrantPublic)
def revoke_seal_grant(grant_id: int, body: RevokeRequest, auth: Writer, caller: PersonCaller,
                      c: ContainerDep) -> SealGrantPublic:
    grant = grants.revoke_seal_grant(grants.RevokeGrant(auth.person.id, grant_id, body.reason),
                                     caller=caller, uow=c.uow, clock=c.clock)
    return SealGrantPublic.model_validate(grant)


@router.post("/enterprises/{uscc}/auto-stamp-grants", status_code=201,
             response_model=AutoStampGrantPublic)
def create_auto_stamp_grant(uscc: str, body: AutoStampGrantRequest, auth: Writer,
                            caller: PersonCaller, c: ContainerDep) -> AutoStampGrantPublic:
    """平台自动签: a registered business system may stamp with this seal, for these scopes, in the
    window, up to max_count times, without a person approving each document. The legal
    representative or an administrator, after a liveness check (实人认证) in the last minutes."""
    grant = grants.create_auto_stamp_grant(
        grants.CreateAutoStampGrant(auth.person.id, uscc, body.business_system, body.seal_id,
                                    list(body.scopes), body.starts_at, body.ends_at,
                                    body.max_count),
        caller=caller, uow=c.uow, clock=c.clock, scopes=c.scopes, settings=c.settings)
    return AutoStampGrantPublic.model_validate(grant)


@router.post("/auto-stamp-grants/{grant_id}/revoke", response_model=AutoStampGrantPublic)
def revoke_auto_stamp_grant(grant_id: int, body: RevokeRequest, auth: Writer,
                            caller: PersonCaller, c: ContainerDep) -> AutoStampGrantPublic:
    grant = grants.revoke_auto_stamp_grant(
        grants.RevokeGrant(auth.person.id, grant_id, body.reason), caller=caller, uow=c.uow,
        clock=c.clock)
    return AutoStampGrantPublic.model_validate(grant)


@router.get("/enterprises/{uscc}/decision", response_model=DecisionPublic)
def decision(
    uscc: str,
    auth: Reader,
    c: ContainerDep,
    action: Action,
    scope: Annotated[str | None, Query(max_length=200)] = None,
    seal_id: Annotated[str | None, Query(max_length=64)] = None,
    business_system: Annotated[str | None, Query(max_length=64)] = None,
) -> DecisionPublic:
    """Ask the decision function for yourself, now: business:act (with scope), seal:use (with
    seal_id and business_system) or enterprise:view."""
    result = grants.check_permission(
        grants.CheckPermission(auth.person.id, uscc, action, scope, seal_id, business_system),
        uow=c.uow, clock=c.clock, scopes=c.scopes, settings=c.settings)
    return DecisionPublic(allowed=result.allowed, reason=result.reason,
                          grant_ids=list(result.grant_ids))
