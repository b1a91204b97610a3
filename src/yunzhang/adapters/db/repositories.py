"""Repositories over one SQLAlchemy session. They never commit: the unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yunzhang.domain.audit import GENESIS_HASH, AuditEvent
from yunzhang.domain.enterprises import Enterprise
from yunzhang.domain.notifications import CodePurpose, OutboxMessage, OutboxStatus, SmsCode
from yunzhang.domain.persons import Person
from yunzhang.domain.sessions import WebSession
from yunzhang.adapters.db import tables


class SqlPersons:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, person: Person) -> None:
        self._s.add(person)

    def get(self, person_id: uuid.UUID) -> Person | None:
        return self._s.get(Person, person_id)

    def by_phone(self, phone: str) -> Person | None:
        return self._s.scalars(select(Person).where(tables.persons.c.phone == phone)).first()

    def by_id_hmac(self, id_hmac: str) -> Person | None:
        return self._s.scalars(
            select(Person).where(tables.persons.c.id_number_hmac == id_hmac)
        ).first()


class SqlEnterprises:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, enterprise: Enterprise) -> None:
        self._s.add(enterprise)

    def by_uscc(self, uscc: str) -> Enterprise | None:
        return self._s.scalars(
            select(Enterprise).where(tables.enterprises.c.uscc == uscc)
        ).first()

    def many_by_uscc(self, usccs: Sequence[str]) -> dict[str, Enterprise]:
        found: dict[str, Enterprise] = {}
        for start in range(0, len(usccs), 500):
            chunk = list(usccs[start : start + 500])
            for ent in self._s.scalars(
                select(Enterprise).where(tables.enterprises.c.uscc.in_(chunk))
            ):
                found[ent.uscc] = ent
        return found

    def search(self, query: str | None, *, limit: int, offset: int) -> list[Enterprise]:
        stmt = select(Enterprise).order_by(tables.enterprises.c.name, tables.enterprises.c.uscc)
        if query:
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(
                or_(
                    tables.enterprises.c.uscc == query.upper(),
                    tables.enterprises.c.name.like(f"%{escaped}%", escape="\\"),
                )
            )
        return list(self._s.scalars(stmt.limit(limit).offset(offset)))


class SqlSmsCodes:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, code: SmsCode) -> None:
        self._s.add(code)

    def latest(self, phone: str, purpose: CodePurpose) -> SmsCode | None:
        c = tables.sms_codes.c
        stmt = (
            select(SmsCode)
            .where(c.phone == phone, c.purpose == purpose)
            .order_by(c.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return self._s.scalars(stmt).first()


class SqlOutbox:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, message: OutboxMessage) -> None:
        self._s.add(message)

    def get(self, message_id: uuid.UUID) -> OutboxMessage | None:
        return self._s.get(OutboxMessage, message_id, with_for_update=True)

    def due(self, at: datetime, *, limit: int) -> list[OutboxMessage]:
        c = tables.outbox_messages.c
        stmt = (
            select(OutboxMessage)
            .where(c.status == OutboxStatus.PENDING, c.next_attempt_at <= at)
            .order_by(c.next_attempt_at)
            .limit(limit)
            # Two deliverers (two server processes) never take the same message.
            .with_for_update(skip_locked=True)
        )
        return list(self._s.scalars(stmt))

    def recent(self, *, limit: int, recipient: str | None = None) -> list[OutboxMessage]:
        c = tables.outbox_messages.c
        stmt = select(OutboxMessage).order_by(c.created_at.desc()).limit(limit)
        if recipient:
            stmt = stmt.where(c.recipient == recipient)
        return list(self._s.scalars(stmt))


class SqlSessions:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, web_session: WebSession) -> None:
        self._s.add(web_session)

    def by_token_hash(self, token_hash: str) -> WebSession | None:
        return self._s.scalars(
            select(WebSession).where(tables.web_sessions.c.token_hash == token_hash)
        ).first()


class SqlAuditReader:
    """Reading side of the audit log; appending is the unit of work's job (see uow.py)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def events(self, *, batch: int = 1000) -> Iterator[AuditEvent]:
        c = tables.audit_events.c
        last = None
        while True:
            stmt = select(AuditEvent).order_by(c.seq).limit(batch)
            if last is not None:
                stmt = stmt.where(c.seq > last)
            rows = list(self._s.scalars(stmt))
            if not rows:
                return
            yield from rows
            last = rows[-1].seq
            self._s.expunge_all()

    def head(self) -> tuple[int, str]:
        row = self._s.execute(
            select(tables.audit_head.c.seq, tables.audit_head.c.hash).where(
                tables.audit_head.c.id == 1
            )
        ).first()
        if row is None:
            return 0, GENESIS_HASH
        return int(row.seq), str(row.hash)

    def recent(self, *, limit: int, subject: str | None = None) -> list[AuditEvent]:
        c = tables.audit_events.c
        stmt = select(AuditEvent).order_by(c.seq.desc()).limit(limit)
        if subject:
            stmt = stmt.where(c.subject == subject)
        return list(self._s.scalars(stmt))
