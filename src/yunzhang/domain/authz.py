"""The one authorization decision: may this person do this action on this resource at this time?

``decide`` is pure: the service layer loads the facts (the actor's membership, grants and last
liveness check, the target's membership) fresh from the database for every call, so a revoked
grant or ended role counts from the very next decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from yunzhang.domain.grants import (
    AutoStampGrant,
    Grant,
    GrantStatus,
    SealGrant,
    Window,
    show_time,
)
from yunzhang.domain.roles import Membership, Role


class Action(StrEnum):
    VIEW = "enterprise:view"  # see members, applications and grants
    ACT = "business:act"  # act for the enterprise in a scope (login, declare, bid, ...)
    USE_SEAL = "seal:use"  # stamp with a seal in a business system
    APPROVE_ROLE = "role:approve"  # approve or reject an application for a role
    GRANT_ROLE = "role:grant"  # give a role without an application (主动授权)
    REVOKE_ROLE = "role:revoke"  # remove a member's role
    GRANT = "grant:create"  # authorize an agent for all business or scopes
    REVOKE_GRANT = "grant:revoke"
    GRANT_SEAL = "seal_grant:create"
    REVOKE_SEAL_GRANT = "seal_grant:revoke"
    APPLY_SEAL = "seal:apply"  # apply for a seal, upload a new mold
    CLAIM_SEAL = "seal:claim"  # 申领: have the seal's key and certificate made
    MANAGE_SEAL = "seal:manage"  # suspend, resume, revoke
    MANAGE_CERTIFICATE = "certificate:manage"  # the enterprise certificate (法人一证通)
    REVIEW_SEAL = "seal:review"  # platform staff: approve or reject a mold
    GRANT_AUTO_STAMP = "auto_stamp_grant:create"  # let a business system stamp by itself
    REVOKE_AUTO_STAMP = "auto_stamp_grant:revoke"
    AUTO_STAMP = "seal:auto_stamp"  # a business system stamps under an auto-stamp grant
    HOLD_LICENSE = "license:download"  # download the enterprise's e-license to one's wallet


@dataclass(frozen=True)
class Resource:
    """What the action is on. Only the fields the action needs are set."""

    enterprise_id: uuid.UUID
    enterprise_name: str = "this enterprise"
    uscc: str = ""
    scope: str | None = None  # ACT, AUTO_STAMP
    seal_id: str | None = None  # USE_SEAL, GRANT_SEAL, AUTO_STAMP
    business_system: str | None = None  # USE_SEAL, GRANT_SEAL, AUTO_STAMP (the client id)
    role: Role | None = None  # APPROVE_ROLE, GRANT_ROLE: the role given
    subject_person: uuid.UUID | None = None  # the applicant, the member, the grantee
    all_business: bool = False  # GRANT
    scopes: tuple[str, ...] = ()  # GRANT
    window: Window | None = None  # GRANT, GRANT_SEAL


@dataclass(frozen=True)
class Facts:
    """What the decision needs to know, read in the same transaction as the action."""

    membership: Membership | None  # the actor's active membership in the enterprise
    grants: tuple[Grant, ...] = ()  # the actor's business grants there (recent and current)
    seal_grants: tuple[SealGrant, ...] = ()  # the actor's seal grants for the asked seal/system
    auto_stamp_grants: tuple[AutoStampGrant, ...] = ()  # a business system's, for the seal
    subject: Membership | None = None  # the subject person's active membership, when relevant
    liveness_at: datetime | None = None  # the actor's last liveness check
    staff_roles: frozenset[str] = frozenset()  # the actor's platform staff roles
    fresh_liveness: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    grant_ids: tuple[int, ...] = field(default=())


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


_MANAGERS = (Role.LEGAL_REP, Role.ADMIN)


# Platform duties are held by staff the operator appoints, not by members of the enterprise.
_STAFF_ACTIONS = {Action.REVIEW_SEAL: ("seal_reviewer", "seal reviewer (印章审核员)")}


def decide(actor: uuid.UUID, action: Action, resource: Resource, at: datetime, facts: Facts) -> Decision:
    """``actor`` is a person, or for AUTO_STAMP the business system (already authenticated)."""
    if action is Action.AUTO_STAMP:
        return _auto_stamp(resource, at, facts)
    if action in _STAFF_ACTIONS:
        role_needed, title = _STAFF_ACTIONS[action]
        if role_needed in facts.staff_roles:
            return Decision(True, f"as platform {title}")
        return _deny(f"only platform staff with the {role_needed} role may do this")
    name = resource.enterprise_name
    member = facts.membership
    if member is None or not member.active:
        return _deny(f"you are not a member of {name}")
    if member.role is None:
        return _deny(f"you are linked to {name} but hold no role there; apply for one first")
    role = member.role
    as_role = f"as {role.label} of {name}"

    if action is Action.VIEW:
        return Decision(True, as_role)
    if action is Action.ACT:
        return _act(role, as_role, resource, at, facts)
    if action is Action.USE_SEAL:
        return _use_seal(role, as_role, resource, at, facts)
    if action is Action.CLAIM_SEAL:
        return _claim_seal(role, as_role, resource, at, facts)
    if action is Action.HOLD_LICENSE:
        return _hold_license(role, as_role, resource, at, facts)

    # Everything below manages the enterprise: agents never do (seed 002 §2.3, no re-delegation).
    if role is Role.AGENT:
        return _deny(f"agents cannot {_VERBS[action]}")
    if action in (Action.APPROVE_ROLE, Action.GRANT_ROLE):
        return _give_role(actor, action, role, as_role, resource, facts)
    if action is Action.REVOKE_ROLE:
        return _revoke_role(actor, role, as_role, resource, at, facts)
    if action in (Action.GRANT, Action.GRANT_SEAL):
        return _grant(actor, action, role, as_role, resource, facts)
    if action is Action.GRANT_AUTO_STAMP:
        # Stamping without a person approving each document: after a face check (平台自动签).
        problem = _liveness_problem(facts, "letting a business system stamp by itself", at)
        return _deny(problem) if problem else Decision(True, as_role)
    # REVOKE_GRANT, REVOKE_SEAL_GRANT, REVOKE_AUTO_STAMP: the legal representative and
    # administrators manage grants.
    return Decision(True, as_role)


_VERBS = {
    Action.APPROVE_ROLE: "approve roles",
    Action.GRANT_ROLE: "grant roles",
    Action.REVOKE_ROLE: "revoke roles",
    Action.GRANT: "authorize others (no re-delegation)",
    Action.REVOKE_GRANT: "revoke authorizations",
    Action.GRANT_SEAL: "authorize seal use (no re-delegation)",
    Action.REVOKE_SEAL_GRANT: "revoke seal authorizations",
    Action.APPLY_SEAL: "apply for seals or upload molds",
    Action.MANAGE_SEAL: "suspend, resume or revoke seals",
    Action.MANAGE_CERTIFICATE: "manage the enterprise certificate",
    Action.GRANT_AUTO_STAMP: "let business systems stamp by themselves",
    Action.REVOKE_AUTO_STAMP: "revoke automatic stamping",
}


def _by_grants(candidates: Sequence[Grant | SealGrant | AutoStampGrant], at: datetime, *, label: str,
               allowed_text: str, fallback: str) -> Decision:
    """Allowed by the usable grants among ``candidates`` (those covering what is asked), or
    refused with the most useful reason: a grant that will start, then one that ended."""
    usable = [g for g in candidates if g.timing_problem(at, g.describe()) is None]
    if usable:
        first = min(usable, key=lambda g: g.id or 0)
        return Decision(True, f"{label} {first.id} for {first.describe()} {allowed_text}until "
                              f"{show_time(first.ends_at)}",
                        tuple(sorted(g.id for g in usable if g.id is not None)))
    problems = sorted(
        (0 if at < g.starts_at else 1, g.id or 0, g.timing_problem(at, g.describe()) or "")
        for g in candidates
    )
    return _deny(problems[0][2] if problems else fallback)


def _hold_license(role: Role, as_role: str, resource: Resource, at: datetime,
                  facts: Facts) -> Decision:
    """Seed 002 §2.3: an agent downloads the license while authorized, and also before the
    authorization begins ("can be downloaded but not used"); not after every grant ended."""
    if role in _MANAGERS:
        return Decision(True, as_role)
    held = [g for g in (*facts.grants, *facts.seal_grants)
            if g.status is GrantStatus.ACTIVE and g.ends_at > at]
    if held:
        return Decision(True, f"{as_role}, authorized until "
                              f"{show_time(max(g.ends_at for g in held))}",
                        tuple(sorted(g.id for g in held if g.id is not None)))
    return _deny(f"none of your authorizations in {resource.enterprise_name} is current or "
                 f"still to come; ask the legal representative or an administrator")


def _act(role: Role, as_role: str, resource: Resource, at: datetime, facts: Facts) -> Decision:
    scope = resource.scope or ""
    if role in _MANAGERS:
        return Decision(True, as_role)
    return _by_grants([g for g in facts.grants if g.covers(scope)], at, label="grant",
                      allowed_text=f"covers {scope} ",
                      fallback=f"no grant of yours covers {scope} in {resource.enterprise_name}")


def _use_seal(role: Role, as_role: str, resource: Resource, at: datetime, facts: Facts) -> Decision:
    if role is Role.LEGAL_REP:
        return Decision(True, f"{as_role} (the seals' owner)")
    seal, system = resource.seal_id or "", resource.business_system or ""
    return _by_grants([g for g in facts.seal_grants if g.covers(seal, system)], at,
                      label="seal grant", allowed_text="",
                      fallback=f"no seal grant of yours covers seal {seal} in {system}")


def _auto_stamp(resource: Resource, at: datetime, facts: Facts) -> Decision:
    seal, system, scope = resource.seal_id or "", resource.business_system or "", resource.scope or ""
    return _by_grants([g for g in facts.auto_stamp_grants if g.covers(seal, scope)], at,
                      label="auto-stamp grant", allowed_text="",
                      fallback=f"{resource.enterprise_name} has not allowed {system} to stamp with "
                               f"seal {seal} for {scope or 'this business'}")


def _claim_seal(role: Role, as_role: str, resource: Resource, at: datetime,
                facts: Facts) -> Decision:
    """Seed 002 §4.2: the legal representative, an administrator or an agent may claim (领取) a
    seal; an agent only one they are authorized to use (a current seal grant, any system)."""
    if role in _MANAGERS:
        return Decision(True, as_role)
    seal = resource.seal_id or ""
    return _by_grants([g for g in facts.seal_grants if g.seal_id == seal], at,
                      label="seal grant", allowed_text="",
                      fallback=f"agents claim only seals they are authorized to use; no seal "
                               f"grant of yours names seal {seal}")


def _give_role(actor: uuid.UUID, action: Action, role: Role, as_role: str, resource: Resource,
               facts: Facts) -> Decision:
    wanted = resource.role
    if resource.subject_person == actor:
        what = "approve your own application" if action is Action.APPROVE_ROLE else "grant yourself a role"
        return _deny(f"you cannot {what}")
    if wanted is Role.LEGAL_REP:
        return _deny("the legal representative comes from the registry; no one grants that role")
    if wanted is Role.ADMIN and role is not Role.LEGAL_REP:
        return _deny("only the legal representative appoints license administrators")
    return Decision(True, as_role)


def _revoke_role(actor: uuid.UUID, role: Role, as_role: str, resource: Resource, at: datetime,
                 facts: Facts) -> Decision:
    target = facts.subject
    if resource.subject_person == actor:
        return _deny("you cannot revoke your own role; unlink from the enterprise instead")
    if target is None or not target.active or target.role is None:
        return _deny(f"that person holds no role in {resource.enterprise_name}")
    if target.role is Role.LEGAL_REP:
        return _deny("the legal representative's role comes from the registry and cannot be revoked")
    if target.role is Role.ADMIN and role is not Role.LEGAL_REP:
        return _deny("only the legal representative revokes license administrators")
    # Seed 000 §4.2.6: roles are revoked "通过人脸识别认证后", after a face check.
    problem = _liveness_problem(facts, "revoking a role", at)
    return _deny(problem) if problem else Decision(True, as_role)


def _liveness_problem(facts: Facts, doing: str, at: datetime) -> str | None:
    if facts.liveness_at is None or at - facts.liveness_at > facts.fresh_liveness:
        minutes = int(facts.fresh_liveness.total_seconds() // 60)
        last = show_time(facts.liveness_at) if facts.liveness_at else "never"
        return (f"{doing} needs a liveness check (实人认证) within the last {minutes} minutes; "
                f"your last one: {last}")
    return None


def _grant(actor: uuid.UUID, action: Action, role: Role, as_role: str, resource: Resource,
           facts: Facts) -> Decision:
    target = facts.subject
    if resource.subject_person == actor:
        return _deny("you cannot authorize yourself")
    if target is None or not target.active or target.role is None:
        return _deny(f"that person holds no role in {resource.enterprise_name}")
    if action is Action.GRANT and target.role is not Role.AGENT:
        return _deny(f"business grants are for agents; that person is the {target.role.label}")
    if action is Action.GRANT_SEAL and target.role is Role.LEGAL_REP:
        return _deny("the legal representative uses the seals without a grant")
    # Nobody grants more than they hold: the legal representative and administrators hold all
    # business without limit in time, so any scope and window is within their authority.
    return Decision(True, as_role)
