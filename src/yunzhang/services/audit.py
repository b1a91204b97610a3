"""Audit use cases: record an outcome that outlives a rolled-back change, verify the chain."""

from __future__ import annotations

from dataclasses import dataclass

from yunzhang.domain.audit import AuditEvent, AuditRecord, ChainProblem, check_chain
from yunzhang.services.context import Caller
from yunzhang.services.ports import UnitOfWorkFactory


def record_separately(record: AuditRecord, *, caller: Caller, uow: UnitOfWorkFactory) -> None:
    """Write one event in its own transaction: refusals and failures are audited even though the
    change they refused is rolled back."""
    with uow(request_id=caller.request_id) as tx:
        tx.audit.record(record)
        tx.commit()


@dataclass(frozen=True)
class ChainReport:
    events: int
    head_seq: int
    problems: list[ChainProblem]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_audit_chain(*, uow: UnitOfWorkFactory) -> ChainReport:
    with uow() as tx:
        head_seq, head_hash = tx.audit.head()
        events = list(tx.audit.events())
    problems = check_chain(events, head_seq=head_seq, head_hash=head_hash)
    return ChainReport(events=len(events), head_seq=head_seq, problems=problems)


def recent_events(*, uow: UnitOfWorkFactory, limit: int, subject: str | None = None) -> list[AuditEvent]:
    with uow() as tx:
        return tx.audit.recent(limit=limit, subject=subject)
