"""Binding (绑定, seed 004 §5.2): a business system asks to associate the enterprise certificate or
a seal with one of its accounts; a person allowed to act for the enterprise there (or to use that
seal there) scans and confirms. Unbinding goes the same way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.authz import Action
from yunzhang.domain.bindings import Binding, BindingStatus, BindingSubject, account_of
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.domain.scan_sessions import ScanAction, ScanSession
from yunzhang.errors import Conflict, InvalidInput, NotFound
from yunzhang.services import authorization, scan_sessions, seals, webhooks
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.grants import enterprise_by_uscc, resource_of
from yunzhang.services.ports import Clock, Keyring, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class OpenBinding:
    system: BusinessSystem
    uscc: str
    account: str
    seal_type: str | None = None  # a seal type code: bind that seal; None: the certificate
    scope: str | None = None  # the certificate: the business it is bound for (required)
    requester_ip: str | None = None
    requester_agent: str | None = None


def _subject(tx: UnitOfWork, binding: Binding) -> str:
    enterprise = tx.enterprises.get(binding.enterprise_id)
    seal = tx.seals.get(binding.seal_id) if binding.seal_id else None
    assert enterprise is not None
    return binding.describe(enterprise.name, seal.name if seal else None)


@refusals_audited(AuditTag.BINDING_CREATE, lambda cmd: f"business_system:{cmd.system.client_id}")
def open_bind_session(cmd: OpenBinding, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                      keyring: Keyring, settings: Settings) -> scan_sessions.Opened:
    account = account_of(cmd.account)
    seal_id = (seals.seal_id_of(f"{cmd.uscc.strip()}:{cmd.seal_type}", uow=uow)
               if cmd.seal_type else None)
    if seal_id is None:
        if cmd.scope is None:
            raise InvalidInput("binding the enterprise certificate names the business (scope) it "
                               "is bound for", code="binding.scope")
    if cmd.scope is not None:
        cmd.system.require_scope(cmd.scope)
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc)
        binding = Binding(business_system=cmd.system.client_id, account=account,
                          enterprise_id=enterprise.id,
                          subject=BindingSubject.SEAL if seal_id else BindingSubject.CERTIFICATE,
                          created_at=clock.now(), seal_id=seal_id, scope=cmd.scope)
        tx.bindings.add(binding)
        subject = _subject(tx, binding)
        tx.commit()
    return scan_sessions.open_session(scan_sessions.OpenSession(
        system=cmd.system, action=ScanAction.BIND, documents=[], scope=cmd.scope,
        subject=f"bind {subject}", binding_id=binding.id, requester_ip=cmd.requester_ip,
        requester_agent=cmd.requester_agent),
        caller=caller, uow=uow, clock=clock, keyring=keyring, settings=settings)


@dataclass(frozen=True)
class OpenUnbinding:
    system: BusinessSystem
    binding_id: uuid.UUID
    requester_ip: str | None = None
    requester_agent: str | None = None


def open_unbind_session(cmd: OpenUnbinding, *, caller: Caller, uow: UnitOfWorkFactory,
                        clock: Clock, keyring: Keyring,
                        settings: Settings) -> scan_sessions.Opened:
    with uow() as tx:
        binding = _owned(tx, cmd.system, cmd.binding_id)
        if binding.status is not BindingStatus.ACTIVE:
            raise Conflict(f"binding {binding.id} is {binding.status.value}",
                           code="binding.not_active")
        subject = _subject(tx, binding)
    return scan_sessions.open_session(scan_sessions.OpenSession(
        system=cmd.system, action=ScanAction.UNBIND, documents=[], scope=binding.scope,
        subject=f"unbind {subject}", binding_id=binding.id, requester_ip=cmd.requester_ip,
        requester_agent=cmd.requester_agent),
        caller=caller, uow=uow, clock=clock, keyring=keyring, settings=settings)


def _owned(tx: UnitOfWork, system: BusinessSystem, binding_id: uuid.UUID) -> Binding:
    binding = tx.bindings.get(binding_id)
    if binding is None or binding.business_system != system.client_id:
        raise NotFound(f"no binding {binding_id} of {system.client_id}", code="binding.not_found")
    return binding


def carry_out(tx: UnitOfWork, session: ScanSession, person_id: uuid.UUID, *, caller: Caller,
              uow: UnitOfWorkFactory, at: datetime) -> Binding:
    """At the confirmation: decided for this person (act in the scope for the certificate, use
    the seal in this business system for a seal), then bound or unbound."""
    assert session.binding_id is not None
    binding = tx.bindings.get(session.binding_id)
    assert binding is not None
    binding_ = binding
    wanted = BindingStatus.PROPOSED if session.action is ScanAction.BIND else BindingStatus.ACTIVE
    if binding_.status is not wanted:
        raise Conflict(f"binding {binding_.id} is {binding_.status.value}",
                       code="binding.not_active" if session.action is ScanAction.UNBIND
                       else "binding.used")
    enterprise = tx.enterprises.get(binding_.enterprise_id)
    assert enterprise is not None
    if binding_.subject is BindingSubject.SEAL:
        resource = resource_of(enterprise, seal_id=str(binding_.seal_id),
                               business_system=binding_.business_system)
        action = Action.USE_SEAL
    else:
        resource, action = resource_of(enterprise, scope=binding_.scope), Action.ACT
    decision = authorization.require(person_id, action, resource, at, tx=tx, caller=caller,
                                     uow=uow)
    if session.action is ScanAction.BIND:
        binding_.status, binding_.bound_by, binding_.bound_at = BindingStatus.ACTIVE, person_id, at
        tag, event = AuditTag.BINDING_CREATE, "binding.created"
    else:
        binding_.status, binding_.removed_by, binding_.removed_at = (
            BindingStatus.REMOVED, person_id, at)
        tag, event = AuditTag.BINDING_REMOVE, "binding.removed"
    tx.audit.record(AuditRecord(tag, caller.actor, f"binding:{binding_.id}", details={
        "business_system": binding_.business_system, "account": binding_.account,
        "enterprise": enterprise.uscc, "subject": binding_.subject.value,
        "seal": str(binding_.seal_id) if binding_.seal_id else None,
        "person": str(person_id), "decision": decision.reason}))
    webhooks.queue_event(tx, client_id=binding_.business_system, event=event,
                         data=event_data(binding_, enterprise.uscc), at=at)
    return binding_


def event_data(binding: Binding, uscc: str) -> dict[str, object]:
    return {"id": str(binding.id), "account": binding.account, "enterprise": uscc,
            "subject": binding.subject.value,
            "seal": str(binding.seal_id) if binding.seal_id else None,
            "scope": binding.scope, "status": binding.status.value,
            "by": str(binding.removed_by or binding.bound_by)}


def bindings_of(system: BusinessSystem, *, uow: UnitOfWorkFactory,
                account: str | None = None) -> list[tuple[Binding, str]]:
    """Active bindings of the business system with each enterprise's USCC."""
    with uow() as tx:
        found = tx.bindings.of_system(system.client_id, account=account)
        usccs = {b.enterprise_id: tx.enterprises.get(b.enterprise_id) for b in found}
        return [(b, e.uscc if (e := usccs[b.enterprise_id]) else "?") for b in found]
