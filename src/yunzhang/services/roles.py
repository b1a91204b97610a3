"""Roles in enterprises: link, apply, approve or reject, grant, revoke, unlink (seed 000 §4.2),
agent registration confirmed by the legal representative's SMS code (seed 004 §3), and the
automatic binding of the legal representative from the registry (seed 000 §4.2.2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.authz import Action
from yunzhang.domain.enterprises import Enterprise, clean_name
from yunzhang.domain.ids import Phone, ResidentId
from yunzhang.domain.notifications import CodePurpose
from yunzhang.domain.persons import Person, VerificationLevel
from yunzhang.domain.roles import (
    ApplicationStatus,
    EndReason,
    Membership,
    Role,
    RoleApplication,
)
from yunzhang.errors import Conflict, InvalidInput, NotFound
from yunzhang.services import authorization
from yunzhang.services.audit import refusals_audited
from yunzhang.services.codes import issue_code, redeem_code
from yunzhang.services.context import Caller
from yunzhang.services.grants import end_grants_of, enterprise_by_uscc, resource_of
from yunzhang.services.notifications import queue_sms
from yunzhang.services.ports import Clock, Keyring, UnitOfWork, UnitOfWorkFactory

_APPLICABLE = (Role.ADMIN, Role.AGENT)


def _verified(tx: UnitOfWork, person_id: uuid.UUID) -> Person:
    person = tx.persons.get(person_id)
    if person is None:
        raise NotFound("no such person", code="person.not_found")
    if person.verification_level.rank < VerificationLevel.IDENTITY.rank:
        raise Conflict("complete identity verification (实名认证) first",
                       code="person.identity_required")
    return person


def _legal_rep(tx: UnitOfWork, enterprise: Enterprise) -> Person | None:
    for member in tx.memberships.of_enterprise(enterprise.id):
        if member.role is Role.LEGAL_REP:
            return tx.persons.get(member.person_id)
    return None


def _set_role(tx: UnitOfWork, enterprise: Enterprise, person_id: uuid.UUID, role: Role, *,
              at: datetime, authority: str, by: uuid.UUID | None, actor: str) -> Membership:
    """End the person's current membership (if any) and start one with the new role, so the
    history keeps who held which role when and on whose authority."""
    current = tx.memberships.active(person_id, enterprise.id)
    if current is not None:
        current.end(at=at, reason=EndReason.ROLE_CHANGED, by=by)
        # Grants were given for the role that ends here: a later agent role must not revive them.
        end_grants_of(tx, person_id=person_id, enterprise_id=enterprise.id, at=at, by=by,
                      reason=f"role changed to {role.value}", actor=actor, uscc=enterprise.uscc)
    membership = Membership(enterprise_id=enterprise.id, person_id=person_id, role=role,
                            started_at=at, authority=authority[:200], granted_by=by)
    tx.memberships.add(membership)
    return membership


def _check_admin_limit(tx: UnitOfWork, enterprise: Enterprise, person_id: uuid.UUID,
                       settings: Settings) -> None:
    """Called with the enterprise row locked, so concurrent approvals count one at a time."""
    current = tx.memberships.active(person_id, enterprise.id)
    if current is not None and current.role is Role.ADMIN:
        return
    count = tx.memberships.count_role(enterprise.id, Role.ADMIN)
    if count >= settings.max_license_admins:
        raise Conflict(f"{enterprise.name} already has {count} license administrators; the limit "
                       f"is {settings.max_license_admins}", code="role.admin_limit")


# --- the legal representative, from the registry ------------------------------------------


def sync_legal_representative(tx: UnitOfWork, enterprise: Enterprise, *, at: datetime,
                              actor: str) -> None:
    """Make the legal-representative role follow the registry: end it for a person the registry
    no longer names, and bind it to the verified person it names (name + ID number match)."""
    for member in tx.memberships.of_enterprise(enterprise.id):
        if member.role is not Role.LEGAL_REP:
            continue
        holder = tx.persons.get(member.person_id)
        if holder and holder.id_number_hmac == enterprise.legal_rep_id_hmac \
                and holder.name == enterprise.legal_rep_name:
            return
        member.end(at=at, reason=EndReason.REPLACED, by=None)
        end_grants_of(tx, person_id=member.person_id, enterprise_id=enterprise.id, at=at,
                      by=None, reason="no longer the legal representative", actor=actor,
                      uscc=enterprise.uscc)
        tx.audit.record(AuditRecord(AuditTag.ROLE_END_LEGAL_REP, actor,
                                    f"enterprise:{enterprise.uscc}",
                                    details={"person": str(member.person_id)}))
    person = tx.persons.by_id_hmac(enterprise.legal_rep_id_hmac)
    if person is not None and person.name == enterprise.legal_rep_name:
        _bind(tx, enterprise, person, at=at, actor=actor)


def bind_person_as_legal_rep(tx: UnitOfWork, person: Person, *, at: datetime, actor: str) -> None:
    """After identity verification: bind the person to every enterprise whose registry record
    names them as legal representative (seed 000 §4.2.2: 自动完成角色绑定)."""
    if person.id_number_hmac is None:
        return
    for enterprise in tx.enterprises.by_legal_rep(person.id_number_hmac):
        if enterprise.legal_rep_name == person.name:
            current = tx.memberships.active(person.id, enterprise.id)
            if current is None or current.role is not Role.LEGAL_REP:
                _bind(tx, enterprise, person, at=at, actor=actor)


def _bind(tx: UnitOfWork, enterprise: Enterprise, person: Person, *, at: datetime, actor: str) -> None:
    for application in tx.applications.pending_of(person.id, enterprise.id):
        application.status = ApplicationStatus.WITHDRAWN
    _set_role(tx, enterprise, person.id, Role.LEGAL_REP, at=at, authority="registry", by=None,
              actor=actor)
    tx.audit.record(AuditRecord(AuditTag.ROLE_BIND_LEGAL_REP, actor, f"enterprise:{enterprise.uscc}",
                                details={"person": str(person.id)}))


# --- linking and applying --------------------------------------------------------------------


@refusals_audited(AuditTag.MEMBER_LINK, lambda person_id, uscc: f"enterprise:{uscc}")
def link_enterprise(person_id: uuid.UUID, uscc: str, *, caller: Caller, uow: UnitOfWorkFactory,
                    clock: Clock) -> Membership:
    """关联企业: the legal representative gets the role at once; anyone else is linked and may
    then apply for a role."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, uscc)
        person = _verified(tx, person_id)
        if tx.memberships.active(person_id, enterprise.id) is not None:
            raise Conflict(f"you are already linked to {enterprise.name}", code="member.linked")
        if person.id_number_hmac == enterprise.legal_rep_id_hmac and person.name == enterprise.legal_rep_name:
            _bind(tx, enterprise, person, at=now, actor=caller.actor)
        else:
            tx.memberships.add(Membership(enterprise_id=enterprise.id, person_id=person_id,
                                          role=None, started_at=now, authority="self-linked"))
            tx.audit.record(AuditRecord(AuditTag.MEMBER_LINK, caller.actor,
                                        f"enterprise:{enterprise.uscc}",
                                        details={"person": str(person_id)}))
        membership = tx.memberships.active(person_id, enterprise.id)
        tx.commit()
        assert membership is not None
        return membership


@refusals_audited(AuditTag.MEMBER_UNLINK, lambda person_id, uscc: f"enterprise:{uscc}")
def unlink_enterprise(person_id: uuid.UUID, uscc: str, *, caller: Caller, uow: UnitOfWorkFactory,
                      clock: Clock) -> None:
    """解除绑定 by the member themselves; every grant they hold there stops at once."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, uscc)
        membership = tx.memberships.active(person_id, enterprise.id)
        if membership is None:
            raise NotFound(f"you are not linked to {enterprise.name}", code="member.not_linked")
        if membership.role is Role.LEGAL_REP:
            raise Conflict("the legal representative's role follows the registry; it ends when the "
                           "registry names someone else", code="role.legal_rep_fixed")
        membership.end(at=now, reason=EndReason.UNLINKED, by=person_id)
        for application in tx.applications.pending_of(person_id, enterprise.id):
            application.status = ApplicationStatus.WITHDRAWN
        end_grants_of(tx, person_id=person_id, enterprise_id=enterprise.id, at=now, by=person_id,
                      reason="the member unlinked", actor=caller.actor, uscc=enterprise.uscc)
        tx.audit.record(AuditRecord(AuditTag.MEMBER_UNLINK, caller.actor,
                                    f"enterprise:{enterprise.uscc}",
                                    details={"person": str(person_id),
                                             "role": membership.role.value if membership.role else None}))
        tx.commit()


@dataclass(frozen=True)
class ApplyForRole:
    applicant_id: uuid.UUID
    uscc: str
    role: Role
    reason: str
    confirm_by_legal_rep_sms: bool = False


@refusals_audited(AuditTag.ROLE_APPLY, lambda cmd: f"enterprise:{cmd.uscc}")
def apply_for_role(cmd: ApplyForRole, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                   keyring: Keyring, settings: Settings) -> RoleApplication:
    """申请角色. With ``confirm_by_legal_rep_sms`` (agents only, seed 004 §3) a code goes to the
    legal representative's phone; the applicant enters it to complete the registration."""
    reason = clean_name(cmd.reason, what="reason", code="application.reason", max_len=500)
    if cmd.role not in _APPLICABLE:
        raise InvalidInput("one applies for the admin or agent role; the legal representative "
                           "comes from the registry", code="application.role")
    if cmd.confirm_by_legal_rep_sms and cmd.role is not Role.AGENT:
        raise InvalidInput("SMS confirmation by the legal representative is for agents",
                           code="application.role")
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc)
        membership = tx.memberships.active(cmd.applicant_id, enterprise.id)
        if membership is None:
            raise Conflict(f"link {enterprise.name} first, then apply", code="member.not_linked")
        if membership.role is not None and _rank(membership.role) >= _rank(cmd.role):
            raise Conflict(f"you already are the {membership.role.label} of {enterprise.name}",
                           code="role.already_held")
        if tx.applications.pending_of(cmd.applicant_id, enterprise.id):
            raise Conflict("you already have a pending application here", code="application.pending")
        application = RoleApplication(enterprise_id=enterprise.id, applicant_id=cmd.applicant_id,
                                      role=cmd.role, reason=reason, created_at=now,
                                      confirm_by_legal_rep_sms=cmd.confirm_by_legal_rep_sms)
        tx.applications.add(application)
        applicant = tx.persons.get(cmd.applicant_id)
        legal_rep = _legal_rep(tx, enterprise)
        who = applicant.name if applicant and applicant.name else "someone"
        if cmd.confirm_by_legal_rep_sms:
            if legal_rep is None:
                raise Conflict(f"{enterprise.name}'s legal representative has not joined yet; "
                               "ask for approval instead", code="application.no_legal_rep")
            code = issue_code(tx, phone=Phone(legal_rep.phone), purpose=CodePurpose.CONFIRM_AGENT,
                              subject=f"application:{application.id}", at=now, keyring=keyring,
                              settings=settings)
            queue_sms(tx, phone=legal_rep.phone, at=now,
                      body=f"【云章】{who}申请成为{enterprise.name}的经办人，确认码 {code}，"
                           "同意请将确认码告知本人。如非本企业人员请勿告知。")
        elif legal_rep is not None:
            queue_sms(tx, phone=legal_rep.phone, at=now,
                      body=f"【云章】{who}申请成为{enterprise.name}的"
                           f"{'证照管理员' if cmd.role is Role.ADMIN else '经办人'}，请审批。")
        tx.audit.record(AuditRecord(AuditTag.ROLE_APPLY, caller.actor, f"enterprise:{enterprise.uscc}",
                                    details={"application": application.id, "role": cmd.role.value,
                                             "sms_confirmation": cmd.confirm_by_legal_rep_sms}))
        tx.commit()
        return application


def _rank(role: Role) -> int:
    return {Role.AGENT: 1, Role.ADMIN: 2, Role.LEGAL_REP: 3}[role]


@dataclass(frozen=True)
class DecideApplication:
    approver_id: uuid.UUID
    application_id: int
    approve: bool
    note: str | None = None


@refusals_audited(AuditTag.ROLE_APPROVE, lambda cmd: f"application:{cmd.application_id}")
def decide_application(cmd: DecideApplication, *, caller: Caller, uow: UnitOfWorkFactory,
                       clock: Clock, settings: Settings) -> RoleApplication:
    """审批角色: the legal representative approves administrators and agents, an administrator
    approves agents only; the applicant is told by SMS."""
    note = clean_name(cmd.note, what="note", code="application.note", max_len=500) if cmd.note else None
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        application = tx.applications.get(cmd.application_id)
        if application is None:
            raise NotFound(f"no application {cmd.application_id}", code="application.not_found")
        enterprise = tx.enterprises.get(application.enterprise_id, lock=True)
        assert enterprise is not None
        decision = authorization.require(
            cmd.approver_id, Action.APPROVE_ROLE,
            resource_of(enterprise, role=application.role, subject_person=application.applicant_id),
            now, tx=tx, caller=caller, uow=uow)
        _finish(tx, enterprise, application, approve=cmd.approve, by=cmd.approver_id, at=now,
                note=note, authority=f"application {application.id} approved ({decision.reason})",
                caller=caller, settings=settings)
        tx.commit()
        return application


@dataclass(frozen=True)
class ConfirmAgent:
    applicant_id: uuid.UUID
    application_id: int
    code: str


@refusals_audited(AuditTag.ROLE_APPROVE, lambda cmd: f"application:{cmd.application_id}")
def confirm_agent(cmd: ConfirmAgent, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                  keyring: Keyring, settings: Settings) -> RoleApplication:
    """The applicant enters the code the legal representative received: the legal
    representative's consent, so the decision is asked with them as the approver."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        application = tx.applications.get(cmd.application_id)
        if application is None or application.applicant_id != cmd.applicant_id \
                or not application.confirm_by_legal_rep_sms:
            raise NotFound(f"no application {cmd.application_id} awaiting your confirmation",
                           code="application.not_found")
        if application.status != ApplicationStatus.PENDING:
            raise Conflict(f"application {application.id} is {application.status}",
                           code="application.not_pending")
        enterprise = tx.enterprises.get(application.enterprise_id, lock=True)
        assert enterprise is not None
        legal_rep = _legal_rep(tx, enterprise)
        if legal_rep is None:
            raise Conflict("the enterprise has no legal representative to confirm",
                           code="application.no_legal_rep")
        redeem_code(tx, phone=Phone(legal_rep.phone), purpose=CodePurpose.CONFIRM_AGENT,
                    subject=f"application:{application.id}", code=cmd.code, keyring=keyring, at=now)
        decision = authorization.require(
            legal_rep.id, Action.APPROVE_ROLE,
            resource_of(enterprise, role=application.role, subject_person=application.applicant_id),
            now, tx=tx, caller=caller, uow=uow)
        _finish(tx, enterprise, application, approve=True, by=legal_rep.id, at=now, note=None,
                authority=f"application {application.id} confirmed by the legal representative's "
                          f"SMS code ({decision.reason})", caller=caller, settings=settings)
        tx.commit()
        return application


def _finish(tx: UnitOfWork, enterprise: Enterprise, application: RoleApplication, *, approve: bool,
            by: uuid.UUID, at: datetime, note: str | None, authority: str, caller: Caller,
            settings: Settings) -> None:
    if application.status != ApplicationStatus.PENDING:
        raise Conflict(f"application {application.id} is {application.status}",
                       code="application.not_pending")
    applicant = tx.persons.get(application.applicant_id)
    assert applicant is not None
    if approve:
        if tx.memberships.active(application.applicant_id, enterprise.id) is None:
            raise Conflict("the applicant is no longer linked to the enterprise",
                           code="member.not_linked")
        if application.role is Role.ADMIN:
            _check_admin_limit(tx, enterprise, application.applicant_id, settings)
        _set_role(tx, enterprise, application.applicant_id, application.role, at=at,
                  authority=authority, by=by, actor=caller.actor)
    application.decide(approved=approve, by=by, at=at, note=note)
    label = "证照管理员" if application.role is Role.ADMIN else "经办人"
    verdict = "已通过" if approve else "未通过" + (f"：{note}" if note else "")
    queue_sms(tx, phone=applicant.phone, at=at,
              body=f"【云章】您申请成为{enterprise.name}{label}{verdict}。")
    tx.audit.record(AuditRecord(
        AuditTag.ROLE_APPROVE if approve else AuditTag.ROLE_REJECT, caller.actor,
        f"enterprise:{enterprise.uscc}",
        details={"application": application.id, "role": application.role.value,
                 "person": str(application.applicant_id), "by": str(by), "authority": authority}))


# --- proactive grant and revocation --------------------------------------------------------


@dataclass(frozen=True)
class GrantRole:
    granter_id: uuid.UUID
    uscc: str
    name: str
    id_number: str
    phone: str
    role: Role


@refusals_audited(AuditTag.ROLE_GRANT, lambda cmd: f"enterprise:{cmd.uscc}")
def grant_role(cmd: GrantRole, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
               keyring: Keyring, settings: Settings) -> Membership:
    """主动授权: add a registered, verified person (name + ID number + phone must all match)
    and give them a role without an application."""
    phone = Phone.parse(cmd.phone)
    id_number = ResidentId.parse(cmd.id_number)
    name = clean_name(cmd.name, what="name", code="person.name", max_len=100)
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc, lock=True)
        person = tx.persons.by_phone(phone.value)
        if person is None or person.id_number_hmac is None or person.name != name \
                or not keyring.same(person.id_number_hmac, keyring.pii_hash(id_number.value)):
            raise NotFound("no identity-verified person with this name, ID number and phone; ask "
                           "them to register and complete 实名认证 first", code="person.not_found")
        decision = authorization.require(
            cmd.granter_id, Action.GRANT_ROLE,
            resource_of(enterprise, role=cmd.role, subject_person=person.id),
            now, tx=tx, caller=caller, uow=uow)
        current = tx.memberships.active(person.id, enterprise.id)
        if current is not None and current.role is not None and current.role is not Role.LEGAL_REP \
                and _rank(current.role) >= _rank(cmd.role):
            # A lower role would end the held one without a revocation's liveness check.
            raise Conflict(f"{name} already is the {current.role.label}", code="role.already_held")
        if current is not None and current.role is Role.LEGAL_REP:
            raise Conflict("the legal representative's role follows the registry",
                           code="role.legal_rep_fixed")
        if cmd.role is Role.ADMIN:
            _check_admin_limit(tx, enterprise, person.id, settings)
        for application in tx.applications.pending_of(person.id, enterprise.id):
            application.status = ApplicationStatus.WITHDRAWN
        membership = _set_role(tx, enterprise, person.id, cmd.role, at=now, by=cmd.granter_id,
                               authority=f"granted by {cmd.granter_id} ({decision.reason})",
                               actor=caller.actor)
        queue_sms(tx, phone=person.phone, at=now,
                  body=f"【云章】您已被授予{enterprise.name}的"
                       f"{'证照管理员' if cmd.role is Role.ADMIN else '经办人'}角色。")
        tx.audit.record(AuditRecord(AuditTag.ROLE_GRANT, caller.actor, f"enterprise:{enterprise.uscc}",
                                    details={"person": str(person.id), "role": cmd.role.value,
                                             "decision": decision.reason}))
        tx.commit()
        return membership


@dataclass(frozen=True)
class RevokeRole:
    revoker_id: uuid.UUID
    uscc: str
    person_id: uuid.UUID
    reason: str


@refusals_audited(AuditTag.ROLE_REVOKE, lambda cmd: f"enterprise:{cmd.uscc}")
def revoke_role(cmd: RevokeRole, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                settings: Settings) -> None:
    """解除角色 by the legal representative or an administrator, after a fresh liveness check
    (seed 000 §4.2.6); the member's grants stop at once."""
    reason = clean_name(cmd.reason, what="reason", code="role.reason", max_len=500)
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc, lock=True)
        decision = authorization.require(
            cmd.revoker_id, Action.REVOKE_ROLE,
            resource_of(enterprise, subject_person=cmd.person_id), now, tx=tx, caller=caller,
            uow=uow, fresh_liveness=_fresh(settings))
        membership = tx.memberships.active(cmd.person_id, enterprise.id)
        assert membership is not None and membership.role is not None
        role = membership.role
        membership.end(at=now, reason=EndReason.REVOKED, by=cmd.revoker_id)
        end_grants_of(tx, person_id=cmd.person_id, enterprise_id=enterprise.id, at=now,
                      by=cmd.revoker_id, reason=f"role revoked: {reason}", actor=caller.actor,
                      uscc=enterprise.uscc)
        person = tx.persons.get(cmd.person_id)
        if person is not None:
            queue_sms(tx, phone=person.phone, at=now,
                      body=f"【云章】您在{enterprise.name}的角色已被解除。")
        tx.audit.record(AuditRecord(AuditTag.ROLE_REVOKE, caller.actor, f"enterprise:{enterprise.uscc}",
                                    details={"person": str(cmd.person_id), "role": role.value,
                                             "reason": reason, "decision": decision.reason}))
        tx.commit()


def _fresh(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.fresh_liveness_seconds)


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    membership: Membership
    person: Person


def list_members(viewer_id: uuid.UUID, uscc: str, *, caller: Caller, uow: UnitOfWorkFactory,
                 clock: Clock) -> list[MemberView]:
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, uscc)
        authorization.require(viewer_id, Action.VIEW, resource_of(enterprise), now, tx=tx,
                              caller=caller, uow=uow)
        views = []
        for membership in tx.memberships.of_enterprise(enterprise.id):
            person = tx.persons.get(membership.person_id)
            if person is not None:
                views.append(MemberView(membership, person))
        return views


def list_applications(viewer_id: uuid.UUID, uscc: str, *, caller: Caller, uow: UnitOfWorkFactory,
                      clock: Clock) -> list[RoleApplication]:
    """Pending applications, for those who may approve at least agents."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, uscc)
        authorization.require(viewer_id, Action.APPROVE_ROLE,
                              resource_of(enterprise, role=Role.AGENT), now, tx=tx,
                              caller=caller, uow=uow)
        return tx.applications.pending(enterprise.id)


def memberships_of(person_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> list[tuple[Membership, Enterprise]]:
    with uow() as tx:
        found = []
        for membership in tx.memberships.of_person(person_id):
            enterprise = tx.enterprises.get(membership.enterprise_id)
            if enterprise is not None:
                found.append((membership, enterprise))
        return found
