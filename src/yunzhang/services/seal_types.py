"""Seal types: the five built in (公章, 合同专用章, 财务专用章, 发票专用章, 法定代表人名章) and
those an operator adds."""

from __future__ import annotations

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.enterprises import EnterpriseKind, clean_name
from yunzhang.domain.seal_images import SealShape
from yunzhang.domain.seals import TYPE_CODE, SealType
from yunzhang.errors import Conflict, InvalidInput
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, UnitOfWorkFactory


def list_types(*, uow: UnitOfWorkFactory) -> list[SealType]:
    with uow() as tx:
        return tx.seal_types.all()


@refusals_audited(AuditTag.SEAL_TYPE_ADD, lambda code, *rest: f"seal_type:{code}"[:200])
def add_type(code: str, name: str, shape: str, kinds: list[str], filing_required: bool, *,
             caller: Caller, uow: UnitOfWorkFactory, clock: Clock) -> SealType:
    text = code.strip()
    if not TYPE_CODE.fullmatch(text):
        raise InvalidInput("a seal type code is 2-32 lower-case letters, digits or _, starting "
                           "with a letter", code="seal_type.code")
    title = clean_name(name, what="name", code="seal_type.name", max_len=20)
    try:
        seal_shape = SealShape(shape.strip())
    except ValueError:
        raise InvalidInput(f"unknown shape {shape!r}; expected round, oval or square",
                           code="seal_type.shape") from None
    allowed: list[str] = []
    for kind in kinds:
        try:
            allowed.append(EnterpriseKind(kind.strip()).value)
        except ValueError:
            raise InvalidInput(f"unknown enterprise kind {kind!r}; expected one of "
                               f"{', '.join(k.value for k in EnterpriseKind)}",
                               code="seal_type.kind") from None
    with uow(request_id=caller.request_id) as tx:
        if tx.seal_types.get(text) is not None:
            raise Conflict(f"seal type {text} already exists", code="seal_type.exists")
        seal_type = SealType(code=text, name=title, shape=seal_shape, kinds=sorted(set(allowed)),
                             filing_required=filing_required, builtin=False, created_at=clock.now())
        tx.seal_types.add(seal_type)
        tx.audit.record(AuditRecord(AuditTag.SEAL_TYPE_ADD, caller.actor, f"seal_type:{text}",
                                    details={"name": title, "shape": seal_shape.value,
                                             "kinds": seal_type.kinds,
                                             "filing_required": filing_required}))
        tx.commit()
        return seal_type
