"""Audit use cases: record an outcome that outlives a rolled-back change, verify the chain."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from yunzhang.domain.audit import (
    AuditEvent,
    AuditRecord,
    AuditTag,
    ChainProblem,
    Outcome,
    check_chain,
)
from yunzhang.errors import PermissionDenied, YunzhangError
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


P = ParamSpec("P")
R = TypeVar("R")


def refusals_audited(
    tag: AuditTag, subject: Callable[..., str]
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Audit every refusal of a use case, not only the decision function's: invalid windows,
    unknown scopes, the administrator limit... each becomes an event with outcome ``denied`` and
    the error's code, written in its own transaction (the refused change is rolled back).
    ``subject`` receives the use case's positional arguments. The decision function's refusals
    (``permission.denied``) are already audited by ``authorization.require`` and are not written
    twice; other permission refusals (a revoked device, a wrong signature) are written here."""

    def wrap(use_case: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(use_case)
        def audited(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return use_case(*args, **kwargs)
            except YunzhangError as err:
                if isinstance(err, PermissionDenied) and err.code == "permission.denied":
                    raise  # the decision function's refusal, audited where it was made
                caller = kwargs["caller"]
                uow = kwargs["uow"]
                assert isinstance(caller, Caller)
                record_separately(
                    AuditRecord(tag, caller.actor, subject(*args)[:200], Outcome.DENIED,
                                {"code": err.code, "reason": err.detail}),
                    caller=caller, uow=uow,  # type: ignore[arg-type]
                )
                raise

        return audited

    return wrap
