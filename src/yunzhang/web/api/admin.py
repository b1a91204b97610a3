"""Operator API: registry import, enterprise status, the SMS outbox and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from yunzhang.domain.enterprises import EnterpriseStatus
from yunzhang.domain.notifications import OutboxStatus
from yunzhang.errors import InvalidInput
from yunzhang.services import audit, enterprises, notifications
from yunzhang.services.registry_files import guess_format, parse_registry
from yunzhang.web.api import Public, Strict
from yunzhang.web.api.enterprises import EnterprisePublic
from yunzhang.web.deps import ContainerDep, Operator

router = APIRouter(prefix="/api/v1/admin", tags=["operators"])

IMPORT_PATH = "/api/v1/admin/enterprises/import"


class RejectedRowPublic(Public):
    row: int
    uscc: str | None
    reasons: list[str]


class ImportReportPublic(Public):
    source: str
    dry_run: bool
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    rejected: list[RejectedRowPublic]


class StatusRequest(Strict):
    status: EnterpriseStatus
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class OutboxPublic(Public):
    id: uuid.UUID
    channel: str
    recipient: str
    body: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class AuditEventPublic(Public):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    request_id: str
    details: dict[str, object]
    hash: str


class ChainProblemPublic(Public):
    seq: int
    kind: str
    message: str


class ChainReportPublic(Public):
    intact: bool
    events: int
    head_seq: int
    problems: list[ChainProblemPublic]


@router.post(IMPORT_PATH.removeprefix("/api/v1/admin"), response_model=ImportReportPublic,
             openapi_extra={"requestBody": {"content": {
                 "text/csv": {"schema": {"type": "string"}},
                 "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
             }, "required": True}})
async def import_registry(
    request: Request,
    caller: Operator,
    c: ContainerDep,
    dry_run: bool = False,
    source: Annotated[str | None, Query(max_length=120)] = None,
) -> ImportReportPublic:
    """Import the market-regulation registry: the body is the CSV or JSON file itself
    (`curl --data-binary @registry.csv -H 'Content-Type: text/csv'`)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    formats: dict[str, Literal["csv", "json"]] = {"text/csv": "csv", "application/json": "json"}
    if media not in formats:
        raise InvalidInput("send the registry as text/csv or application/json",
                           code="import.media_type")
    data = await request.body()
    fmt = formats[media]
    rows = parse_registry(data, fmt, max_bytes=c.settings.max_import_bytes,
                          max_rows=c.settings.max_import_rows)
    report = enterprises.import_registry(
        enterprises.ImportRegistry(rows, source or f"api.{fmt}", dry_run), caller=caller,
        uow=c.uow, keyring=c.keyring, clock=c.clock)
    return ImportReportPublic.model_validate(report)


@router.get("/enterprises", response_model=list[EnterprisePublic])
def list_enterprises(
    caller: Operator,
    c: ContainerDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[EnterprisePublic]:
    found = enterprises.search_enterprises(q, uow=c.uow, limit=limit, offset=offset)
    return [EnterprisePublic.of(e, c.settings.region_code) for e in found]


@router.put("/enterprises/{uscc}/status", response_model=EnterprisePublic)
def set_status(uscc: str, body: StatusRequest, caller: Operator, c: ContainerDep) -> EnterprisePublic:
    enterprise = enterprises.set_enterprise_status(uscc, body.status, body.reason, caller=caller,
                                                   uow=c.uow, clock=c.clock)
    return EnterprisePublic.of(enterprise, c.settings.region_code)


@router.get("/outbox", response_model=list[OutboxPublic])
def outbox(
    caller: Operator,
    c: ContainerDep,
    recipient: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[OutboxPublic]:
    """Recent messages with their delivery state; with the development sender this is where the
    SMS codes can be read."""
    found = notifications.recent_messages(uow=c.uow, limit=limit, recipient=recipient)
    return [OutboxPublic.model_validate(m) for m in found]


@router.get("/audit", response_model=list[AuditEventPublic])
def audit_events(
    caller: Operator,
    c: ContainerDep,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventPublic]:
    found = audit.recent_events(uow=c.uow, limit=limit, subject=subject)
    return [AuditEventPublic.model_validate(e) for e in found]


@router.get("/audit/verify", response_model=ChainReportPublic)
def verify_audit(caller: Operator, c: ContainerDep) -> ChainReportPublic:
    report = audit.verify_audit_chain(uow=c.uow)
    return ChainReportPublic(intact=report.intact, events=report.events, head_seq=report.head_seq,
                             problems=[ChainProblemPublic.model_validate(p) for p in report.problems])
