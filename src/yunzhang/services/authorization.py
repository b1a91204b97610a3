"""The single authorization decision, as every service asks it.

``decide`` loads the facts fresh inside the caller's transaction (no cache: a revocation counts
from the next decision) and hands them to the pure ``domain.authz.decide``. ``require`` turns a
refusal into PermissionDenied carrying the reason, after writing the refusal to the audit log.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from yunzhang.domain.audit import AuditRecord, AuditTag, Outcome
from yunzhang.domain.authz import Action, Decision, Facts, Resource
from yunzhang.domain.authz import decide as decide_on_facts
from yunzhang.domain.roles import Role
from yunzhang.errors import PermissionDenied
from yunzhang.services.audit import record_separately
from yunzhang.services.context import Caller
from yunzhang.services.ports import UnitOfWork, UnitOfWorkFactory

# Grants that ended within this time are still read, so a refusal can say "grant 9 expired ...".
RECENT = timedelta(days=30)

_NEEDS_SUBJECT = {Action.REVOKE_ROLE, Action.GRANT, Action.GRANT_SEAL}
_NEEDS_LIVENESS = {Action.REVOKE_ROLE, Action.GRANT_AUTO_STAMP}


def decide(
    actor: uuid.UUID,
    action: Action,
    resource: Resource,
    at: datetime,
    *,
    tx: UnitOfWork,
    fresh_liveness: timedelta = timedelta(minutes=5),
) -> Decision:
    # The hot actions read the membership and the grants in one round trip.
    if action is Action.ACT:
        membership, grants = tx.memberships.active_with_grants(
            actor, resource.enterprise_id, scope=resource.scope or "", ending_after=at - RECENT)
        facts = Facts(membership, grants=tuple(grants))
    elif action is Action.USE_SEAL:
        membership, seal_grants = tx.memberships.active_with_seal_grants(
            actor, resource.enterprise_id, resource.seal_id or "", resource.business_system or "",
            ending_after=at - RECENT)
        facts = Facts(membership, seal_grants=tuple(seal_grants))
    elif action is Action.AUTO_STAMP:
        facts = Facts(None, auto_stamp_grants=tuple(tx.auto_stamp_grants.for_use(
            actor, resource.enterprise_id, resource.seal_id or "", ending_after=at - RECENT)))
    elif action is Action.REVIEW_SEAL:
        facts = Facts(None, staff_roles=frozenset(r.value for r in tx.staff.roles_of(actor)))
    elif action is Action.HOLD_LICENSE:
        membership = tx.memberships.active(actor, resource.enterprise_id)
        facts = Facts(membership) if membership is None or membership.role is not Role.AGENT \
            else Facts(membership,
                       grants=tuple(tx.grants.of_grantee(actor, resource.enterprise_id,
                                                         ending_after=at)),
                       seal_grants=tuple(tx.seal_grants.of_grantee(actor, resource.enterprise_id,
                                                                   ending_after=at)))
    elif action is Action.CLAIM_SEAL:
        membership = tx.memberships.active(actor, resource.enterprise_id)
        held = [g for g in tx.seal_grants.of_grantee(actor, resource.enterprise_id,
                                                     ending_after=at - RECENT)
                if g.seal_id == resource.seal_id] if membership is not None else []
        facts = Facts(membership, seal_grants=tuple(held))
    else:
        membership = tx.memberships.active(actor, resource.enterprise_id)
        facts = Facts(membership, fresh_liveness=fresh_liveness)
        if membership is not None and membership.role is not None:
            subject = (tx.memberships.active(resource.subject_person, resource.enterprise_id)
                       if action in _NEEDS_SUBJECT and resource.subject_person is not None
                       else None)
            person = tx.persons.get(actor) if action in _NEEDS_LIVENESS else None
            facts = Facts(membership, subject=subject,
                          liveness_at=person.liveness_verified_at if person else None,
                          fresh_liveness=fresh_liveness)
    return decide_on_facts(actor, action, resource, at, facts)


def require(
    actor: uuid.UUID,
    action: Action,
    resource: Resource,
    at: datetime,
    *,
    tx: UnitOfWork,
    caller: Caller,
    uow: UnitOfWorkFactory,
    fresh_liveness: timedelta = timedelta(minutes=5),
) -> Decision:
    """The decision if allowed; otherwise audit the refusal (in its own transaction, since the
    caller's will roll back) and raise PermissionDenied with the decision's reason."""
    decision = decide(actor, action, resource, at, tx=tx, fresh_liveness=fresh_liveness)
    if decision.allowed:
        return decision
    tx.rollback()
    record_separately(
        AuditRecord(AuditTag(action.value), caller.actor, _subject(resource), Outcome.DENIED,
                    {"reason": decision.reason, **_details(resource)}),
        caller=caller, uow=uow,
    )
    raise PermissionDenied(decision.reason, code="permission.denied")


def _subject(resource: Resource) -> str:
    return f"enterprise:{resource.uscc or resource.enterprise_id}"


def _details(resource: Resource) -> dict[str, object]:
    details: dict[str, object] = {}
    for key in ("scope", "seal_id", "business_system"):
        value = getattr(resource, key)
        if value:
            details[key] = value
    if resource.role is not None:
        details["role"] = resource.role.value
    if resource.subject_person is not None:
        details["person"] = str(resource.subject_person)
    if resource.scopes:
        details["scopes"] = list(resource.scopes)
    return details
