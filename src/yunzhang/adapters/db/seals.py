"""Repositories of seals, their molds and types, and of the platform staff who review them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from yunzhang.adapters.db import tables
from yunzhang.domain.seals import ImageStatus, Seal, SealImage, SealStatus, SealType
from yunzhang.domain.staff import StaffMember, StaffRole


class SqlSealTypes:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, seal_type: SealType) -> None:
        self._s.add(seal_type)
        self._s.flush()

    def get(self, code: str) -> SealType | None:
        return self._s.get(SealType, code)

    def all(self) -> list[SealType]:
        c = tables.seal_types.c
        return list(self._s.scalars(select(SealType).order_by(c.builtin.desc(), c.code)))


class SqlSeals:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, seal: Seal) -> None:
        self._s.add(seal)
        self._s.flush()

    def get(self, seal_id: uuid.UUID, *, lock: bool = False) -> Seal | None:
        return self._s.get(Seal, seal_id, with_for_update=lock or None)

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[Seal]:
        c = tables.seals.c
        return list(self._s.scalars(
            select(Seal).where(c.enterprise_id == enterprise_id).order_by(c.applied_at, c.name)))

    def with_pending_molds(self, *, limit: int) -> list[Seal]:
        """Seals with a mold waiting for review, oldest upload first."""
        s, i = tables.seals.c, tables.seal_images.c
        first = (select(i.seal_id, i.uploaded_at).where(i.status == ImageStatus.PENDING)
                 .subquery())
        return list(self._s.scalars(
            select(Seal).join(first, first.c.seal_id == s.id)
            .where(s.status != SealStatus.REVOKED)
            .order_by(first.c.uploaded_at).limit(limit)).unique())


class SqlSealImages:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, image: SealImage) -> None:
        self._s.add(image)
        self._s.flush()

    def get(self, image_id: int) -> SealImage | None:
        return self._s.get(SealImage, image_id)

    def of_seal(self, seal_id: uuid.UUID) -> list[SealImage]:
        c = tables.seal_images.c
        return list(self._s.scalars(select(SealImage).where(c.seal_id == seal_id).order_by(c.id)))


class SqlStaff:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, member: StaffMember) -> None:
        self._s.add(member)
        self._s.flush()

    def get(self, person_id: uuid.UUID, role: StaffRole) -> StaffMember | None:
        return self._s.get(StaffMember, (person_id, role))

    def remove(self, member: StaffMember) -> None:
        self._s.delete(member)
        self._s.flush()

    def roles_of(self, person_id: uuid.UUID) -> frozenset[StaffRole]:
        c = tables.staff_roles.c
        return frozenset(self._s.scalars(select(c.role).where(c.person_id == person_id)))

    def all(self) -> list[StaffMember]:
        c = tables.staff_roles.c
        return list(self._s.scalars(select(StaffMember).order_by(c.role, c.granted_at)))
