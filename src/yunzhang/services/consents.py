"""Consents (同意授权) a person gave business systems at OpenID Connect logins: listed, and
withdrawn, which revokes the tokens given under them; the next login asks again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.oidc import Consent
from yunzhang.errors import Conflict, NotFound
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, UnitOfWorkFactory


@dataclass(frozen=True)
class ConsentView:
    consent: Consent
    system_name: str
    uscc: str | None
    enterprise_name: str | None


def list_consents(person_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> list[ConsentView]:
    with uow() as tx:
        views = []
        for consent in tx.consents.of_person(person_id):
            system = tx.business_systems.by_client_id(consent.client_id)
            enterprise = (tx.enterprises.get(consent.enterprise_id)
                          if consent.enterprise_id is not None else None)
            views.append(ConsentView(consent, system.name if system else consent.client_id,
                                     enterprise.uscc if enterprise else None,
                                     enterprise.name if enterprise else None))
        return views


@refusals_audited(AuditTag.CONSENT_WITHDRAW, lambda person_id, consent_id: f"consent:{consent_id}")
def withdraw(person_id: uuid.UUID, consent_id: uuid.UUID, *, caller: Caller,
             uow: UnitOfWorkFactory, clock: Clock) -> Consent:
    """The business system learns nothing more from the logins given under it: their access
    tokens are revoked now, and the next login asks for consent again."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        consent = tx.consents.get(consent_id, lock=True)
        if consent is None or consent.person_id != person_id:
            raise NotFound("no such consent of yours", code="consent.not_found")
        if not consent.active:
            raise Conflict("this consent is already withdrawn", code="consent.withdrawn")
        consent.withdraw(now)
        revoked = tx.oidc_authorizations.live(person_id, consent.client_id, consent.enterprise_id)
        for authorization in revoked:
            authorization.revoke(now)
        tx.audit.record(AuditRecord(AuditTag.CONSENT_WITHDRAW, caller.actor,
                                    f"consent:{consent.id}", details={
                                        "business_system": consent.client_id,
                                        "enterprise": str(consent.enterprise_id),
                                        "revoked": [a.id for a in revoked]}))
        tx.commit()
        return consent
