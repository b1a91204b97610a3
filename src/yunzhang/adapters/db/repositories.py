"""Repositories over one SQLAlchemy session. They never commit: the unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.orm import Session

from yunzhang.domain.audit import GENESIS_HASH, AuditEvent
from yunzhang.domain.enterprises import Enterprise
from yunzhang.domain.notifications import CodePurpose, OutboxMessage, OutboxStatus, SmsCode
from yunzhang.domain.grants import Grant, SealGrant
from yunzhang.domain.persons import Person
from yunzhang.domain.roles import (
    ApplicationStatus,
    Membership,
    MembershipStatus,
    Role,
    RoleApplication,
)
from yunzhang.domain.sessions import WebSession
from yunzhang.adapters.db import authorization, tables


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

    def get(self, enterprise_id: uuid.UUID, *, lock: bool = False) -> Enterprise | None:
        return self._s.get(Enterprise, enterprise_id, with_for_update=lock or None)

    def by_legal_rep(self, id_hmac: str) -> list[Enterprise]:
        return list(self._s.scalars(
            select(Enterprise).where(tables.enterprises.c.legal_rep_id_hmac == id_hmac)
        ))

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
                    tables.enterprises.c.name.ilike(f"%{escaped}%", escape="\\"),
                )
            )
        return list(self._s.scalars(stmt.limit(limit).offset(offset)))


class SqlSmsCodes:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, code: SmsCode) -> None:
        self._s.add(code)

    def latest(self, phone: str, purpose: CodePurpose, subject: str | None = None) -> SmsCode | None:
        c = tables.sms_codes.c
        stmt = (
            select(SmsCode)
            .where(c.phone == phone, c.purpose == purpose,
                   c.subject.is_(None) if subject is None else c.subject == subject)
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


class SqlMemberships:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _current(self) -> Connection:
        # Core statements skip the ORM's autoflush: flush here, so that a decision sees what this
        # transaction changed, as it did when the facts were read through the ORM.
        if self._s.autoflush:
            self._s.flush()
        return self._s.connection()

    def active_with_grants(self, person_id: uuid.UUID, enterprise_id: uuid.UUID, *, scope: str,
                           ending_after: datetime) -> tuple[Membership | None, list[Grant]]:
        return authorization.act_facts(self._current(), person_id, enterprise_id, scope=scope,
                                       ending_after=ending_after)

    def active_with_seal_grants(self, person_id: uuid.UUID, enterprise_id: uuid.UUID,
                                seal_id: str, business_system: str, *,
                                ending_after: datetime) -> tuple[Membership | None, list[SealGrant]]:
        return authorization.seal_facts(self._current(), person_id, enterprise_id, seal_id,
                                        business_system, ending_after=ending_after)

    def add(self, membership: Membership) -> None:
        self._s.add(membership)
        self._s.flush()  # assigns the id

    def active(self, person_id: uuid.UUID, enterprise_id: uuid.UUID) -> Membership | None:
        c = tables.memberships.c
        return self._s.scalars(select(Membership).where(
            c.person_id == person_id, c.enterprise_id == enterprise_id,
            c.status == MembershipStatus.ACTIVE)).first()

    def of_person(self, person_id: uuid.UUID) -> list[Membership]:
        c = tables.memberships.c
        return list(self._s.scalars(select(Membership).where(
            c.person_id == person_id, c.status == MembershipStatus.ACTIVE).order_by(c.id)))

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[Membership]:
        c = tables.memberships.c
        return list(self._s.scalars(select(Membership).where(
            c.enterprise_id == enterprise_id, c.status == MembershipStatus.ACTIVE).order_by(c.id)))

    def count_role(self, enterprise_id: uuid.UUID, role: Role) -> int:
        c = tables.memberships.c
        return int(self._s.scalar(select(func.count()).select_from(tables.memberships).where(
            c.enterprise_id == enterprise_id, c.role == role,
            c.status == MembershipStatus.ACTIVE)) or 0)


class SqlApplications:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, application: RoleApplication) -> None:
        self._s.add(application)
        self._s.flush()  # assigns the id

    def get(self, application_id: int) -> RoleApplication | None:
        return self._s.get(RoleApplication, application_id, with_for_update=True)

    def pending(self, enterprise_id: uuid.UUID) -> list[RoleApplication]:
        c = tables.role_applications.c
        return list(self._s.scalars(select(RoleApplication).where(
            c.enterprise_id == enterprise_id, c.status == ApplicationStatus.PENDING).order_by(c.id)))

    def pending_of(self, applicant_id: uuid.UUID, enterprise_id: uuid.UUID) -> list[RoleApplication]:
        c = tables.role_applications.c
        return list(self._s.scalars(select(RoleApplication).where(
            c.applicant_id == applicant_id, c.enterprise_id == enterprise_id,
            c.status == ApplicationStatus.PENDING).order_by(c.id)))


class SqlGrants:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, grant: Grant) -> None:
        self._s.add(grant)
        self._s.flush()  # assigns the id, which reasons and audit events name

    def get(self, grant_id: int) -> Grant | None:
        return self._s.get(Grant, grant_id, with_for_update=True)

    def of_grantee(self, grantee_id: uuid.UUID, enterprise_id: uuid.UUID, *,
                   ending_after: datetime) -> list[Grant]:
        c = tables.grants.c
        return list(self._s.scalars(select(Grant).where(
            c.grantee_id == grantee_id, c.enterprise_id == enterprise_id,
            c.ends_at > ending_after).order_by(c.id)))

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[Grant]:
        c = tables.grants.c
        return list(self._s.scalars(select(Grant).where(c.enterprise_id == enterprise_id)
                                    .order_by(c.id)))


class SqlSealGrants:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, grant: SealGrant) -> None:
        self._s.add(grant)
        self._s.flush()  # assigns the id, which reasons and audit events name

    def get(self, grant_id: int) -> SealGrant | None:
        return self._s.get(SealGrant, grant_id, with_for_update=True)

    def for_use(self, grantee_id: uuid.UUID, enterprise_id: uuid.UUID, seal_id: str,
                business_system: str, *, ending_after: datetime) -> list[SealGrant]:
        c = tables.seal_grants.c
        return list(self._s.scalars(select(SealGrant).where(
            c.grantee_id == grantee_id, c.enterprise_id == enterprise_id, c.seal_id == seal_id,
            c.business_system == business_system, c.ends_at > ending_after).order_by(c.id)))

    def of_grantee(self, grantee_id: uuid.UUID, enterprise_id: uuid.UUID, *,
                   ending_after: datetime) -> list[SealGrant]:
        c = tables.seal_grants.c
        return list(self._s.scalars(select(SealGrant).where(
            c.grantee_id == grantee_id, c.enterprise_id == enterprise_id,
            c.ends_at > ending_after).order_by(c.id)))

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[SealGrant]:
        c = tables.seal_grants.c
        return list(self._s.scalars(select(SealGrant).where(c.enterprise_id == enterprise_id)
                                    .order_by(c.id)))
