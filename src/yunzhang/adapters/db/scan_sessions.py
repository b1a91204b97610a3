"""Repositories of wallet devices and scan sessions."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from yunzhang.adapters.db import tables
from yunzhang.domain.devices import Device
from yunzhang.domain.persons import Person
from yunzhang.domain.scan_sessions import ScanSession


class SqlDevices:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, device: Device) -> None:
        self._s.add(device)
        self._s.flush()

    def get(self, device_id: uuid.UUID) -> Device | None:
        return self._s.get(Device, device_id)

    def with_owner(self, device_id: uuid.UUID) -> tuple[Device, Person] | None:
        # One query for two rows; both land in the session's identity map.
        row = self._s.execute(select(Device, Person).join(
            Person, tables.persons.c.id == tables.devices.c.person_id).where(
            tables.devices.c.id == device_id)).first()
        return (row[0], row[1]) if row is not None else None

    def of_person(self, person_id: uuid.UUID) -> list[Device]:
        c = tables.devices.c
        return list(self._s.scalars(select(Device).where(c.person_id == person_id)
                                    .order_by(c.created_at, c.name)))


class SqlScanSessions:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, session: ScanSession) -> None:
        self._s.add(session)
        self._s.flush()

    def get(self, session_id: str, *, lock: bool = False) -> ScanSession | None:
        # The row lock makes a scan and a confirmation of one session happen one after another.
        return self._s.get(ScanSession, session_id, with_for_update=lock or None)
