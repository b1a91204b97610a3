"""Repositories of OpenID Connect authorizations and consents."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yunzhang.adapters.db import tables
from yunzhang.domain.oidc import Authorization, AuthorizationStatus, Consent

_LIVE = (AuthorizationStatus.CODE_ISSUED, AuthorizationStatus.REDEEMED)


class SqlAuthorizations:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, authorization: Authorization) -> None:
        self._s.add(authorization)

    def get(self, authorization_id: str, *, lock: bool = False) -> Authorization | None:
        return self._s.get(Authorization, authorization_id, with_for_update=lock or None)

    def by_code_hash(self, code_hash: str, *, lock: bool = False) -> Authorization | None:
        query = select(Authorization).where(tables.oidc_authorizations.c.code_hash == code_hash)
        return self._s.scalars(query.with_for_update() if lock else query).first()

    def by_access_hash(self, access_hash: str) -> Authorization | None:
        c = tables.oidc_authorizations.c
        return self._s.scalars(select(Authorization).where(c.access_hash == access_hash)).first()

    def by_refresh_hash(self, refresh_hash: str) -> Authorization | None:
        """The login whose current or previous refresh token this is, locked."""
        c = tables.oidc_authorizations.c
        query = select(Authorization).where(or_(c.refresh_hash == refresh_hash,
                                                c.previous_refresh_hash == refresh_hash))
        return self._s.scalars(query.with_for_update()).first()

    def live(self, person_id: uuid.UUID, client_id: str,
             enterprise_id: uuid.UUID | None) -> list[Authorization]:
        c = tables.oidc_authorizations.c
        query = select(Authorization).where(
            c.person_id == person_id, c.client_id == client_id, c.status.in_(_LIVE),
            c.enterprise_id.is_(None) if enterprise_id is None else c.enterprise_id == enterprise_id)
        return list(self._s.scalars(query.with_for_update()))


class SqlConsents:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, consent: Consent) -> None:
        self._s.add(consent)

    def get(self, consent_id: uuid.UUID, *, lock: bool = False) -> Consent | None:
        return self._s.get(Consent, consent_id, with_for_update=lock or None)

    def find(self, person_id: uuid.UUID, client_id: str,
             enterprise_id: uuid.UUID | None, *, lock: bool = False) -> Consent | None:
        c = tables.oidc_consents.c
        query = select(Consent).where(
            c.person_id == person_id, c.client_id == client_id,
            c.enterprise_id.is_(None) if enterprise_id is None else c.enterprise_id == enterprise_id)
        return self._s.scalars(query.with_for_update() if lock else query).first()

    def of_person(self, person_id: uuid.UUID) -> list[Consent]:
        c = tables.oidc_consents.c
        return list(self._s.scalars(select(Consent).where(c.person_id == person_id)
                                    .order_by(c.client_id, c.granted_at)))
