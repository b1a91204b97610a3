"""Repositories of the PKI: issued certificates and the platform's certificate authorities."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from yunzhang.adapters.db import tables
from yunzhang.domain.pki import Authority, CaName, Certificate, CertStatus


class SqlCertificates:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, certificate: Certificate) -> None:
        self._s.add(certificate)
        self._s.flush()

    def get(self, certificate_id: uuid.UUID) -> Certificate | None:
        return self._s.get(Certificate, certificate_id)

    def by_serial(self, issuer: CaName, serial: str) -> Certificate | None:
        c = tables.certificates.c
        return self._s.scalars(
            select(Certificate).where(c.issuer == issuer, c.serial == serial)).first()

    def many_by_serial(self, issuer: CaName, serials: list[str]) -> dict[str, Certificate]:
        c = tables.certificates.c
        found = self._s.scalars(select(Certificate).where(c.issuer == issuer, c.serial.in_(serials)))
        return {cert.serial: cert for cert in found}

    def of_subject(self, subject_ref: str) -> list[Certificate]:
        c = tables.certificates.c
        return list(self._s.scalars(
            select(Certificate).where(c.subject_ref == subject_ref).order_by(c.created_at, c.serial)))

    def revoked(self, issuer: CaName) -> list[Certificate]:
        c = tables.certificates.c
        return list(self._s.scalars(
            select(Certificate).where(c.issuer == issuer, c.status == CertStatus.REVOKED)
            .order_by(c.revoked_at, c.serial)))


class SqlAuthorities:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, authority: Authority) -> None:
        self._s.add(authority)
        self._s.flush()

    def get(self, name: CaName, *, lock: bool = False) -> Authority | None:
        return self._s.get(Authority, name, with_for_update=lock or None)

    def all(self) -> list[Authority]:
        return list(self._s.scalars(select(Authority).order_by(tables.authorities.c.created_at)))
