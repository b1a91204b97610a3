"""Enterprises: the registry import (idempotent, with a report of rejected rows), lookup, status."""

from __future__ import annotations

from dataclasses import dataclass, field

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.enterprises import (
    Enterprise,
    EnterpriseStatus,
    RegistryRecord,
    clean_name,
    kind_for,
    parse_status,
)
from yunzhang.domain.ids import ResidentId, Uscc
from yunzhang.errors import InvalidInput, NotFound
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, Keyring, UnitOfWorkFactory
from yunzhang.services.roles import sync_legal_representative


@dataclass(frozen=True)
class RejectedRow:
    row: int  # 1-based data row (the CSV header is not counted)
    uscc: str | None
    reasons: list[str]


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + len(self.unchanged) + len(self.rejected)


@dataclass(frozen=True)
class ImportRegistry:
    rows: list[dict[str, str]]
    source: str
    dry_run: bool = False


def validate_row(row: dict[str, str]) -> RegistryRecord | list[str]:
    """A registry record, or every reason the row is refused (not just the first)."""
    if "__error__" in row:
        return [f"row {row['__error__']}"]
    reasons: list[str] = []
    uscc: Uscc | None = None
    legal_id: ResidentId | None = None
    values: dict[str, object] = {}
    try:
        uscc = Uscc.parse(row.get("uscc", ""))
    except InvalidInput as err:
        reasons.append(f"uscc: {err.detail} [{err.code}]")
    for key, what in (("name", "name"), ("legal_rep_name", "legal representative's name")):
        try:
            values[key] = clean_name(row.get(key), what=what, code=f"enterprise.{key}")
        except InvalidInput as err:
            reasons.append(f"{key}: {err.detail} [{err.code}]")
    try:
        legal_id = ResidentId.parse(row.get("legal_rep_id_number", ""))
    except InvalidInput as err:
        reasons.append(f"legal_rep_id_number: {err.detail} [{err.code}]")
    try:
        values["status"] = parse_status(row.get("status"))
    except InvalidInput as err:
        reasons.append(f"status: {err.detail} [{err.code}]")
    if uscc is not None:
        try:
            values["kind"] = kind_for(uscc, row.get("kind"))
        except InvalidInput as err:
            reasons.append(f"kind: {err.detail} [{err.code}]")
    if reasons or uscc is None or legal_id is None:
        return reasons
    return RegistryRecord(uscc=uscc, legal_rep_id=legal_id, **values)  # type: ignore[arg-type]


def import_registry(
    cmd: ImportRegistry, *, caller: Caller, uow: UnitOfWorkFactory, keyring: Keyring, clock: Clock
) -> ImportReport:
    """Create or update enterprises from registry rows in one transaction. Rejected rows are
    reported and skipped; importing the same file twice changes nothing the second time."""
    report = ImportReport(source=cmd.source, dry_run=cmd.dry_run)
    records: list[tuple[int, RegistryRecord]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(cmd.rows, start=1):
        result = validate_row(row)
        raw_uscc = (row.get("uscc") or "").strip().upper() or None
        if isinstance(result, list):
            report.rejected.append(RejectedRow(number, raw_uscc, result))
            continue
        if result.uscc.value in seen:
            report.rejected.append(RejectedRow(
                number, result.uscc.value,
                [f"uscc: duplicate of row {seen[result.uscc.value]} [import.duplicate]"]))
            continue
        seen[result.uscc.value] = number
        records.append((number, result))

    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        existing = tx.enterprises.many_by_uscc([r.uscc.value for _, r in records])
        for _number, record in records:
            id_hmac = keyring.pii_hash(record.legal_rep_id.value)
            uscc = record.uscc.value
            current = existing.get(uscc)
            if current is None:
                current = Enterprise(
                    uscc=uscc, name=record.name, kind=record.kind, region=record.uscc.region,
                    status=record.status, legal_rep_name=record.legal_rep_name,
                    legal_rep_id_hmac=id_hmac, legal_rep_id_masked=record.legal_rep_id.masked,
                    created_at=now, updated_at=now,
                )
                tx.enterprises.add(current)
                sync_legal_representative(tx, current, at=now, actor=caller.actor)
                report.created.append(uscc)
                tx.audit.record(AuditRecord(AuditTag.ENTERPRISE_CREATE, caller.actor,
                                            f"enterprise:{uscc}",
                                            details={"source": cmd.source, "name": record.name}))
                continue
            changes = current.differences(record, id_hmac)
            if not changes:
                report.unchanged.append(uscc)
                continue
            current.apply(record, id_hmac, now)
            if "legal_rep_id" in changes or "legal_rep_name" in changes:
                sync_legal_representative(tx, current, at=now, actor=caller.actor)
            report.updated.append(uscc)
            tx.audit.record(AuditRecord(
                AuditTag.ENTERPRISE_UPDATE, caller.actor, f"enterprise:{uscc}",
                details={"source": cmd.source,
                         "changes": {k: [old, new] for k, (old, new) in changes.items()}}))
        tx.audit.record(AuditRecord(
            AuditTag.ENTERPRISE_IMPORT, caller.actor, f"import:{cmd.source}"[:200],
            details={"created": len(report.created), "updated": len(report.updated),
                     "unchanged": len(report.unchanged), "rejected": len(report.rejected)}))
        if not cmd.dry_run:
            tx.commit()
    return report


def get_enterprise(uscc: str, *, uow: UnitOfWorkFactory) -> Enterprise:
    code = Uscc.parse(uscc)
    with uow() as tx:
        enterprise = tx.enterprises.by_uscc(code.value)
        if enterprise is None:
            raise NotFound(f"no enterprise with USCC {code.value} is registered",
                           code="enterprise.not_found")
        return enterprise


def search_enterprises(
    query: str | None, *, uow: UnitOfWorkFactory, limit: int = 20, offset: int = 0
) -> list[Enterprise]:
    if query is not None and len(query) > 100:
        raise InvalidInput("the search text is longer than 100 characters", code="search.too_long")
    with uow() as tx:
        return tx.enterprises.search((query or "").strip() or None, limit=limit, offset=offset)


def set_enterprise_status(
    uscc: str, status: str, reason: str, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock
) -> Enterprise:
    """Record a status change announced by the registry (e.g. 吊销, 注销) between two imports."""
    new_status = parse_status(status)
    why = clean_name(reason, what="reason", code="enterprise.reason", max_len=500)
    code = Uscc.parse(uscc)
    with uow(request_id=caller.request_id) as tx:
        enterprise = tx.enterprises.by_uscc(code.value)
        if enterprise is None:
            raise NotFound(f"no enterprise with USCC {code.value} is registered",
                           code="enterprise.not_found")
        old = enterprise.status
        if old is not new_status:
            enterprise.status = new_status
            enterprise.updated_at = clock.now()
            tx.audit.record(AuditRecord(
                AuditTag.ENTERPRISE_SET_STATUS, caller.actor, f"enterprise:{code.value}",
                details={"from": EnterpriseStatus(old).value, "to": new_status.value,
                         "reason": why}))
            tx.commit()
        return enterprise


