"""Authorizations: business grants for agents (全业务/精准授权) and seal-use grants (印章授权)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TypeVar
from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.authz import Action, Decision, Resource
from yunzhang.domain.enterprises import Enterprise, clean_name
from yunzhang.domain.business_systems import SystemStatus
from yunzhang.domain.grants import (
    AutoStampGrant,
    Grant,
    GrantKind,
    GrantStatus,
    SealGrant,
    Window,
    show_time,
)
from yunzhang.domain.ids import Uscc
from yunzhang.domain.roles import Role
from yunzhang.domain.scopes import ScopeTree
from yunzhang.domain.seals import Seal, SealStatus
from yunzhang.errors import Conflict, InvalidInput, NotFound
from yunzhang.services import authorization
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.notifications import queue_sms
from yunzhang.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

# A grant may start a little in the past (clocks of phones and servers differ), not more.
BACKDATE_TOLERANCE = timedelta(minutes=5)
G = TypeVar("G", Grant, SealGrant, AutoStampGrant)

_IDENT = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def enterprise_by_uscc(tx: UnitOfWork, uscc: str, *, lock: bool = False) -> Enterprise:
    code = Uscc.parse(uscc)
    enterprise = tx.enterprises.by_uscc(code.value)
    if enterprise is None:
        raise NotFound(f"no enterprise with USCC {code.value} is registered",
                       code="enterprise.not_found")
    if lock:
        tx.enterprises.get(enterprise.id, lock=True)
    return enterprise


def resource_of(enterprise: Enterprise, **fields: object) -> Resource:
    return Resource(enterprise_id=enterprise.id, enterprise_name=enterprise.name,
                    uscc=enterprise.uscc, **fields)  # type: ignore[arg-type]


def _window(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> Window:
    window = Window.of(starts_at or now, ends_at)
    if window.start < now - BACKDATE_TOLERANCE:
        raise InvalidInput(f"the window starts in the past ({show_time(window.start)})",
                           code="window.in_past")
    return window


def _identifier(value: str, what: str, code: str) -> str:
    text = value.strip()
    if not re.fullmatch(_IDENT, text):
        raise InvalidInput(f"{what} must be 1-64 letters, digits or . _ : -", code=code)
    return text


@dataclass(frozen=True)
class CreateGrant:
    granter_id: uuid.UUID
    uscc: str
    grantee_id: uuid.UUID
    all_business: bool
    scopes: list[str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class CreateSealGrant:
    granter_id: uuid.UUID
    uscc: str
    grantee_id: uuid.UUID
    seal_id: str
    business_system: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class CreateAutoStampGrant:
    granter_id: uuid.UUID
    uscc: str
    client_id: str
    seal_id: str
    scopes: list[str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_count: int | None = None


@dataclass(frozen=True)
class RevokeGrant:
    revoker_id: uuid.UUID
    grant_id: int
    reason: str


@refusals_audited(AuditTag.GRANT_CREATE, lambda cmd: f"enterprise:{cmd.uscc}")
def create_grant(
    cmd: CreateGrant, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock, scopes: ScopeTree,
    settings: Settings,
) -> Grant:
    now = clock.now()
    window = _window(cmd.starts_at, cmd.ends_at, now)
    if cmd.all_business and cmd.scopes:
        raise InvalidInput("an all-business grant names no scopes", code="grant.scopes_with_all")
    names = () if cmd.all_business else scopes.parse_many(cmd.scopes)
    if not cmd.all_business and not names:
        raise InvalidInput("a precise grant needs at least one scope", code="grant.scopes_required")
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc)
        resource = resource_of(enterprise, subject_person=cmd.grantee_id,
                               all_business=cmd.all_business, scopes=names, window=window)
        decision = authorization.require(cmd.granter_id, Action.GRANT, resource, now, tx=tx,
                                         caller=caller, uow=uow)
        grantee = tx.persons.get(cmd.grantee_id)
        assert grantee is not None  # the decision found their membership
        granter = tx.memberships.active(cmd.granter_id, enterprise.id)
        grant = Grant(
            enterprise_id=enterprise.id, grantee_id=cmd.grantee_id, starts_at=window.start,
            ends_at=window.end, granted_by=cmd.granter_id,
            authority=(granter.role.value if granter and granter.role else "?"), created_at=now,
            kind=GrantKind.ALL_BUSINESS if cmd.all_business else GrantKind.PRECISE,
            scopes=list(names),
        )
        tx.grants.add(grant)
        tx.audit.record(AuditRecord(
            AuditTag.GRANT_CREATE, caller.actor, f"enterprise:{enterprise.uscc}",
            details={"grant": grant.id, "grantee": str(cmd.grantee_id), "what": grant.describe(),
                     "starts_at": window.start.isoformat(), "ends_at": window.end.isoformat(),
                     "decision": decision.reason}))
        queue_sms(tx, phone=grantee.phone, at=now,
                  body=f"【云章】{enterprise.name}授权您办理：{grant.describe()}，"
                       f"{show_time(window.start)} 至 {show_time(window.end)}。")
        tx.commit()
        return grant


@refusals_audited(AuditTag.SEAL_GRANT_CREATE, lambda cmd: f"enterprise:{cmd.uscc}")
def create_seal_grant(
    cmd: CreateSealGrant, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
    settings: Settings,
) -> SealGrant:
    now = clock.now()
    window = _window(cmd.starts_at, cmd.ends_at, now)
    try:
        seal_id = str(uuid.UUID(cmd.seal_id.strip()))
    except ValueError:
        raise InvalidInput("seal_id is the id of one of the enterprise's seals (a UUID, as "
                           "GET /enterprises/{uscc}/seals lists them)",
                           code="seal_grant.seal_id") from None
    system = _identifier(cmd.business_system, "business_system", "seal_grant.business_system")
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc)
        resource = resource_of(enterprise, subject_person=cmd.grantee_id, seal_id=seal_id,
                               business_system=system, window=window)
        decision = authorization.require(cmd.granter_id, Action.GRANT_SEAL, resource, now, tx=tx,
                                         caller=caller, uow=uow)
        _seal_of(tx, enterprise, seal_id, "seal_grant.seal_id")
        granter = tx.memberships.active(cmd.granter_id, enterprise.id)
        grant = SealGrant(
            enterprise_id=enterprise.id, grantee_id=cmd.grantee_id, starts_at=window.start,
            ends_at=window.end, granted_by=cmd.granter_id,
            authority=(granter.role.value if granter and granter.role else "?"), created_at=now,
            seal_id=seal_id, business_system=system,
        )
        tx.seal_grants.add(grant)
        tx.audit.record(AuditRecord(
            AuditTag.SEAL_GRANT_CREATE, caller.actor, f"enterprise:{enterprise.uscc}",
            details={"seal_grant": grant.id, "grantee": str(cmd.grantee_id), "seal": seal_id,
                     "business_system": system, "starts_at": window.start.isoformat(),
                     "ends_at": window.end.isoformat(), "decision": decision.reason}))
        tx.commit()
        return grant


def _seal_of(tx: UnitOfWork, enterprise: Enterprise, raw_id: str, code: str) -> Seal:
    try:
        seal_uuid = uuid.UUID(raw_id.strip())
    except ValueError:
        raise InvalidInput("seal_id is the id of one of the enterprise's seals (a UUID, as "
                           "GET /enterprises/{uscc}/seals lists them)", code=code) from None
    seal = tx.seals.get(seal_uuid)
    if seal is None or seal.enterprise_id != enterprise.id:
        raise NotFound(f"{enterprise.name} has no seal {seal_uuid}", code="seal.not_found")
    if seal.status in (SealStatus.REVOKED, SealStatus.REJECTED):
        raise Conflict(f"seal {seal_uuid} is {seal.status.value}; its use cannot be granted",
                       code="seal.state")
    return seal


@refusals_audited(AuditTag.AUTO_STAMP_GRANT_CREATE, lambda cmd: f"enterprise:{cmd.uscc}")
def create_auto_stamp_grant(
    cmd: CreateAutoStampGrant, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
    scopes: ScopeTree, settings: Settings,
) -> AutoStampGrant:
    """平台自动签: the legal representative or an administrator, after a fresh liveness check,
    lets a registered business system stamp with a seal for some scopes, without a person
    approving each document."""
    now = clock.now()
    window = _window(cmd.starts_at, cmd.ends_at, now)
    names = list(scopes.parse_many(cmd.scopes))
    if not names:
        raise InvalidInput("name the scopes the business system may stamp for",
                           code="auto_stamp_grant.scopes")
    if cmd.max_count is not None and not 1 <= cmd.max_count <= 1_000_000_000:
        raise InvalidInput("max_count is a number of stamps from 1 up", code="auto_stamp_grant.max_count")
    client_id = cmd.client_id.strip()[:64]
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc)
        resource = resource_of(enterprise, seal_id=cmd.seal_id.strip()[:64],
                               business_system=client_id, scopes=tuple(names), window=window)
        decision = authorization.require(
            cmd.granter_id, Action.GRANT_AUTO_STAMP, resource, now, tx=tx, caller=caller, uow=uow,
            fresh_liveness=timedelta(seconds=settings.fresh_liveness_seconds))
        seal = _seal_of(tx, enterprise, cmd.seal_id, "auto_stamp_grant.seal_id")
        system = tx.business_systems.by_client_id(client_id)
        if system is None or system.status is not SystemStatus.ACTIVE:
            raise NotFound(f"no active business system {client_id} is registered",
                           code="business_system.not_found")
        outside = [n for n in names if not system.allows(n)]
        if outside:
            raise InvalidInput(f"{system.client_id} is registered for {', '.join(system.scopes)}; "
                               f"not for {', '.join(outside)}", code="auto_stamp_grant.scopes")
        granter = tx.memberships.active(cmd.granter_id, enterprise.id)
        grant = AutoStampGrant(
            enterprise_id=enterprise.id, grantee_id=system.id, starts_at=window.start,
            ends_at=window.end, granted_by=cmd.granter_id,
            authority=(granter.role.value if granter and granter.role else "?"), created_at=now,
            seal_id=str(seal.id), business_system=system.client_id, scopes=names,
            max_count=cmd.max_count)
        tx.auto_stamp_grants.add(grant)
        tx.audit.record(AuditRecord(
            AuditTag.AUTO_STAMP_GRANT_CREATE, caller.actor, f"enterprise:{enterprise.uscc}",
            details={"auto_stamp_grant": grant.id, "business_system": system.client_id,
                     "seal": str(seal.id), "scopes": names, "max_count": cmd.max_count,
                     "starts_at": window.start.isoformat(), "ends_at": window.end.isoformat(),
                     "decision": decision.reason}))
        tx.commit()
        return grant


@refusals_audited(AuditTag.GRANT_REVOKE, lambda cmd: f"grant:{cmd.grant_id}")
def revoke_grant(cmd: RevokeGrant, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock) -> Grant:
    """Takes effect on the very next decision: decisions read grants from the database."""
    with uow(request_id=caller.request_id) as tx:
        grant = _revoke(tx.grants.get(cmd.grant_id), cmd, "grant", tx=tx, caller=caller, uow=uow,
                        clock=clock)
        tx.commit()
        return grant


@refusals_audited(AuditTag.SEAL_GRANT_REVOKE, lambda cmd: f"seal_grant:{cmd.grant_id}")
def revoke_seal_grant(cmd: RevokeGrant, *, caller: Caller, uow: UnitOfWorkFactory,
                      clock: Clock) -> SealGrant:
    with uow(request_id=caller.request_id) as tx:
        grant = _revoke(tx.seal_grants.get(cmd.grant_id), cmd, "seal_grant", tx=tx, caller=caller,
                        uow=uow, clock=clock)
        tx.commit()
        return grant


@refusals_audited(AuditTag.AUTO_STAMP_GRANT_REVOKE, lambda cmd: f"auto_stamp_grant:{cmd.grant_id}")
def revoke_auto_stamp_grant(cmd: RevokeGrant, *, caller: Caller, uow: UnitOfWorkFactory,
                            clock: Clock) -> AutoStampGrant:
    """Takes effect on the next stamp, also one already past its decision: the stamp's count is
    taken only while the grant is active."""
    with uow(request_id=caller.request_id) as tx:
        grant = _revoke(tx.auto_stamp_grants.get(cmd.grant_id), cmd, "auto_stamp_grant", tx=tx,
                        caller=caller, uow=uow, clock=clock)
        tx.commit()
        return grant


_REVOKE = {
    "grant": (Action.REVOKE_GRANT, AuditTag.GRANT_REVOKE),
    "seal_grant": (Action.REVOKE_SEAL_GRANT, AuditTag.SEAL_GRANT_REVOKE),
    "auto_stamp_grant": (Action.REVOKE_AUTO_STAMP, AuditTag.AUTO_STAMP_GRANT_REVOKE),
}


def _revoke(grant: G | None, cmd: RevokeGrant, kind: str, *, tx: UnitOfWork, caller: Caller,
            uow: UnitOfWorkFactory, clock: Clock) -> G:
    reason = clean_name(cmd.reason, what="reason", code="grant.reason", max_len=500)
    what = kind.replace("_", " ")
    if grant is None:
        raise NotFound(f"no {what} {cmd.grant_id}", code=f"{kind}.not_found")
    action, tag = _REVOKE[kind]
    enterprise = tx.enterprises.get(grant.enterprise_id)
    assert enterprise is not None
    now = clock.now()
    subject = None if isinstance(grant, AutoStampGrant) else grant.grantee_id
    authorization.require(cmd.revoker_id, action, resource_of(enterprise, subject_person=subject),
                          now,
                          tx=tx, caller=caller, uow=uow)
    if grant.status != GrantStatus.ACTIVE:
        raise Conflict(f"{what} {grant.id} is already {grant.status}", code="grant.not_active")
    grant.stop(status=GrantStatus.REVOKED, at=now, by=cmd.revoker_id, reason=reason)
    tx.audit.record(AuditRecord(tag, caller.actor, f"enterprise:{enterprise.uscc}",
                                details={kind: grant.id, "reason": reason}))
    return grant


def end_grants_of(tx: UnitOfWork, *, person_id: uuid.UUID, enterprise_id: uuid.UUID, at: datetime,
                  by: uuid.UUID | None, reason: str, actor: str, uscc: str) -> list[int]:
    """Stop every grant a person holds in an enterprise, at once (they left or lost the role)."""
    ended: list[int] = []
    current: list[Grant | SealGrant] = [
        *tx.grants.of_grantee(person_id, enterprise_id, ending_after=at),
        *tx.seal_grants.of_grantee(person_id, enterprise_id, ending_after=at),
    ]
    for grant in current:
        if grant.status == GrantStatus.ACTIVE:
            grant.stop(status=GrantStatus.ENDED, at=at, by=by, reason=reason)
            ended.append(grant.id or 0)
    if ended:
        tx.audit.record(AuditRecord(AuditTag.GRANT_END, actor, f"enterprise:{uscc}",
                                    details={"person": str(person_id), "grants": ended,
                                             "reason": reason}))
    return ended


@dataclass(frozen=True)
class GrantListing:
    grants: list[Grant]
    seal_grants: list[SealGrant]
    auto_stamp_grants: list[AutoStampGrant]


def list_grants(viewer_id: uuid.UUID, uscc: str, *, caller: Caller, uow: UnitOfWorkFactory,
                clock: Clock) -> GrantListing:
    """Managers see every grant of the enterprise; an agent sees their own."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, uscc)
        authorization.require(viewer_id, Action.VIEW, resource_of(enterprise), now, tx=tx,
                              caller=caller, uow=uow)
        member = tx.memberships.active(viewer_id, enterprise.id)
        grants = tx.grants.of_enterprise(enterprise.id)
        seal_grants = tx.seal_grants.of_enterprise(enterprise.id)
        auto = tx.auto_stamp_grants.of_enterprise(enterprise.id)
        if member is not None and member.role is Role.AGENT:
            grants = [g for g in grants if g.grantee_id == viewer_id]
            seal_grants = [g for g in seal_grants if g.grantee_id == viewer_id]
            auto = []
        return GrantListing(grants, seal_grants, auto)


@dataclass(frozen=True)
class CheckPermission:
    actor_id: uuid.UUID
    uscc: str
    action: Action
    scope: str | None = None
    seal_id: str | None = None
    business_system: str | None = None


def check_permission(cmd: CheckPermission, *, uow: UnitOfWorkFactory, clock: Clock,
                     scopes: ScopeTree, settings: Settings) -> Decision:
    """Ask the decision function without acting: 'may I act in this scope / use this seal now?'"""
    if cmd.action not in (Action.ACT, Action.USE_SEAL, Action.VIEW):
        raise InvalidInput("only business:act, seal:use and enterprise:view can be checked",
                           code="authz.action")
    scope = scopes.parse(cmd.scope or "") if cmd.action is Action.ACT else None
    with uow() as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc)
        resource = resource_of(enterprise, scope=scope, seal_id=cmd.seal_id,
                               business_system=cmd.business_system)
        return authorization.decide(cmd.actor_id, cmd.action, resource, clock.now(), tx=tx)
