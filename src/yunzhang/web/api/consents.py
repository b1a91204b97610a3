"""The person's consents (同意授权) to business systems at OpenID Connect logins: list them,
withdraw one (its tokens are revoked; the next login asks again)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter

from yunzhang.services import consents
from yunzhang.web.api import Public
from yunzhang.web.deps import ContainerDep, PersonCaller, Reader, Writer

router = APIRouter(prefix="/api/v1/me/consents", tags=["OpenID Connect"])


class ConsentPublic(Public):
    id: uuid.UUID
    business_system: str
    business_system_name: str
    enterprise_uscc: str | None
    enterprise_name: str | None
    scopes: list[str]
    granted_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None


def _public(view: consents.ConsentView) -> ConsentPublic:
    c = view.consent
    return ConsentPublic(id=c.id, business_system=c.client_id,
                         business_system_name=view.system_name, enterprise_uscc=view.uscc,
                         enterprise_name=view.enterprise_name, scopes=c.scopes,
                         granted_at=c.granted_at, updated_at=c.updated_at,
                         withdrawn_at=c.withdrawn_at)


@router.get("", response_model=list[ConsentPublic])
def my_consents(auth: Reader, c: ContainerDep) -> list[ConsentPublic]:
    """What each business system may learn at your logins, per enterprise."""
    return [_public(v) for v in consents.list_consents(auth.person.id, uow=c.uow)]


@router.post("/{consent_id}/withdraw", response_model=ConsentPublic)
def withdraw(consent_id: uuid.UUID, auth: Writer, caller: PersonCaller,
             c: ContainerDep) -> ConsentPublic:
    """Withdraw a consent: the business system's access tokens of those logins stop working."""
    consents.withdraw(auth.person.id, consent_id, caller=caller, uow=c.uow, clock=c.clock)
    [view] = [v for v in consents.list_consents(auth.person.id, uow=c.uow)
              if v.consent.id == consent_id]
    return _public(view)
