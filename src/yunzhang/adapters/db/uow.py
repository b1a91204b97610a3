"""The SQLAlchemy unit of work: one session, one transaction, audit events chained at commit."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Self

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from yunzhang.adapters.db import tables
from yunzhang.adapters.db.business_systems import (
    SqlAutoStampGrants,
    SqlBusinessSystems,
    SqlStamps,
    SqlWebhookDeliveries,
)
from yunzhang.adapters.db.oidc import SqlAuthorizations, SqlConsents
from yunzhang.adapters.db.pki import SqlAuthorities, SqlCertificates
from yunzhang.adapters.db.scan_sessions import SqlDevices, SqlScanSessions
from yunzhang.adapters.db.licenses import SqlLicenses, SqlTokenKeys
from yunzhang.adapters.db.signing_requests import (
    SqlBindings,
    SqlSignatureImages,
    SqlSigningRequests,
)
from yunzhang.adapters.db.seals import SqlSealImages, SqlSeals, SqlSealTypes, SqlStaff
from yunzhang.adapters.db.repositories import (
    SqlApplications,
    SqlAuditReader,
    SqlEnterprises,
    SqlGrants,
    SqlMemberships,
    SqlOutbox,
    SqlPersons,
    SqlSealGrants,
    SqlSessions,
    SqlSmsCodes,
)
from yunzhang.domain.audit import GENESIS_HASH, AuditEvent, AuditRecord, event_hash
from yunzhang.errors import Conflict, DatabaseNotReady, YunzhangError
from yunzhang.services.ports import Clock


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self._reader = SqlAuditReader(session)
        self.pending: list[AuditRecord] = []

    def record(self, record: AuditRecord) -> None:
        self.pending.append(record)

    def events(self, *, batch: int = 1000) -> Iterator[AuditEvent]:
        return self._reader.events(batch=batch)

    def head(self) -> tuple[int, str]:
        return self._reader.head()

    def recent(self, *, limit: int, subject: str | None = None) -> list[AuditEvent]:
        return self._reader.recent(limit=limit, subject=subject)


class SqlUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, request_id: str) -> None:
        self._factory = session_factory
        self._clock = clock
        self._request_id = request_id

    def __enter__(self) -> Self:
        self.session = self._factory()
        self.persons = SqlPersons(self.session)
        self.enterprises = SqlEnterprises(self.session)
        self.sms_codes = SqlSmsCodes(self.session)
        self.outbox = SqlOutbox(self.session)
        self.sessions = SqlSessions(self.session)
        self.audit = SqlAuditLog(self.session)
        self.memberships = SqlMemberships(self.session)
        self.applications = SqlApplications(self.session)
        self.grants = SqlGrants(self.session)
        self.seal_grants = SqlSealGrants(self.session)
        self.certificates = SqlCertificates(self.session)
        self.authorities = SqlAuthorities(self.session)
        self.staff = SqlStaff(self.session)
        self.seal_types = SqlSealTypes(self.session)
        self.seals = SqlSeals(self.session)
        self.seal_images = SqlSealImages(self.session)
        self.business_systems = SqlBusinessSystems(self.session)
        self.auto_stamp_grants = SqlAutoStampGrants(self.session)
        self.stamps = SqlStamps(self.session)
        self.devices = SqlDevices(self.session)
        self.scan_sessions = SqlScanSessions(self.session)
        self.token_keys = SqlTokenKeys(self.session)
        self.licenses = SqlLicenses(self.session)
        self.signing_requests = SqlSigningRequests(self.session)
        self.signature_images = SqlSignatureImages(self.session)
        self.bindings = SqlBindings(self.session)
        self.webhooks = SqlWebhookDeliveries(self.session)
        self.oidc_authorizations = SqlAuthorizations(self.session)
        self.consents = SqlConsents(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed without expiring the loaded objects, so
        # a use case may return what it read or wrote after the block ends.
        self.audit.pending.clear()
        self.session.close()
        # A constraint can fire at any flush (autoflush before a query, an explicit flush for an
        # id), not only at commit: translate it wherever it surfaces in the block.
        if isinstance(exc, SQLAlchemyError):
            raise _translate(exc) from exc

    def commit(self) -> None:
        try:
            self.session.flush()
            self._append_audit()
            self.session.commit()
        except SQLAlchemyError as err:
            self.session.rollback()
            raise _translate(err) from err

    def rollback(self) -> None:
        self.audit.pending.clear()
        self.session.rollback()

    def _append_audit(self) -> None:
        """Chain the pending events after the head, which stays locked until the commit: audited
        transactions append one after the other, each seeing the head the previous one left."""
        if not self.audit.pending:
            return
        head = tables.audit_head
        row = self.session.execute(
            select(head.c.seq, head.c.hash).where(head.c.id == 1).with_for_update()
        ).first()
        if row is None:
            seq, prev = 0, GENESIS_HASH
            self.session.execute(insert(head).values(id=1, seq=0, hash=GENESIS_HASH))
        else:
            seq, prev = int(row.seq), str(row.hash)
        at = self._clock.now()
        rows = []
        for record in self.audit.pending:
            seq += 1
            fields = dict(
                at=at,
                actor=record.actor,
                action=record.action.value,
                subject=record.subject,
                outcome=record.outcome.value,
                request_id=self._request_id,
                details=record.details,
                prev_hash=prev,
            )
            prev = event_hash(**fields)  # type: ignore[arg-type]
            rows.append({"seq": seq, "hash": prev, **fields})
        self.audit.pending.clear()
        events = insert(tables.audit_events).values(rows)
        moved = update(head).where(head.c.id == 1).values(seq=seq, hash=prev)
        if self.session.get_bind().dialect.name == "postgresql":
            # One round trip: the events are inserted by a data-modifying WITH of the head's
            # update (PostgreSQL runs it exactly once, read or not).
            self.session.execute(moved.add_cte(events.cte("appended")))
        else:
            self.session.execute(events)
            self.session.execute(moved)


def _translate(err: SQLAlchemyError) -> YunzhangError:
    if isinstance(err, IntegrityError):
        return Conflict("the change conflicts with data written at the same time; try again",
                        code="db.conflict")
    if isinstance(err, OperationalError):
        return DatabaseNotReady("the database did not accept the change", code="db.unavailable")
    return DatabaseNotReady(f"database error: {type(err).__name__}", code="db.unavailable")


class SqlUnitOfWorkFactory:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def __call__(self, *, request_id: str = "-") -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory, self.clock, request_id)
