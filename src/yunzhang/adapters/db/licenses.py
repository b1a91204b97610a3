"""Repositories of token keys and e-licenses."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from yunzhang.adapters.db import tables
from yunzhang.domain.licenses import License, LicenseStatus
from yunzhang.domain.tokens import TokenKey, TokenPurpose


class SqlTokenKeys:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, key: TokenKey) -> None:
        self._s.add(key)
        self._s.flush()

    def of_purpose(self, purpose: TokenPurpose) -> list[TokenKey]:
        """Newest first."""
        c = tables.token_keys.c
        return list(self._s.scalars(select(TokenKey).where(c.purpose == purpose)
                                    .order_by(c.created_at.desc())))


class SqlLicenses:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, license: License) -> None:
        self._s.add(license)
        self._s.flush()

    def get(self, license_id: uuid.UUID) -> License | None:
        return self._s.get(License, license_id)

    def of_person(self, person_id: uuid.UUID) -> list[License]:
        c = tables.licenses.c
        return list(self._s.scalars(select(License).where(c.person_id == person_id)
                                    .order_by(c.issued_at.desc())))

    def active_of_device(self, device_id: uuid.UUID) -> list[License]:
        c = tables.licenses.c
        return list(self._s.scalars(select(License).where(
            c.device_id == device_id, c.status == LicenseStatus.ACTIVE)))
