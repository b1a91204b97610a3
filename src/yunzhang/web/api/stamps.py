"""用印 by business systems (平台自动签): POST /api/v1/stamps with the PDF as the body, the system
authenticated by its client credentials, allowed by an auto-stamp grant of the seal's enterprise.
The stamped PDF is the answer; GET /api/v1/stamps/{id} reads the record of a stamp made."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import UnsupportedMedia
from yunzhang.services import stamping
from yunzhang.web.api import Public
from yunzhang.web.deps import ContainerDep, System

router = APIRouter(prefix="/api/v1", tags=["stamping (business systems)"])
STAMP_PATHS = (r"/api/v1/stamps",)


class StampPublic(Public):
    id: uuid.UUID
    seal_id: uuid.UUID
    business_system: str
    document_name: str
    sha256_in: str
    sha256_out: str
    profile: PadesProfile
    created_at: datetime
    auto_stamp_grant_id: int | None
    idempotency_key: str | None


@router.post("/stamps", status_code=201, response_class=Response, responses={
    201: {"content": {"application/pdf": {}}, "description": "the stamped PDF"}},
    openapi_extra={"requestBody": {"content": {"application/pdf": {}}, "required": True}})
async def stamp(
    request: Request,
    auth: System,
    c: ContainerDep,
    seal_id: uuid.UUID,
    scope: Annotated[str, Query(min_length=1, max_length=200,
                                description="the business the stamp is for (scope tree name)")],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    x_mm: Annotated[float, Query(ge=0, le=2000)] = 20.0,
    y_mm: Annotated[float, Query(ge=0, le=2000)] = 20.0,
    keyword: Annotated[str | None, Query(min_length=1, max_length=50,
                                         description="centre the seal on this text, e.g. 盖章处")] = None,
    cross_page: Annotated[bool, Query(description="骑缝章: a strip on every page's right edge")] = False,
    profile: PadesProfile = PadesProfile.B_T,
    name: Annotated[str, Query(min_length=1, max_length=200)] = "document.pdf",
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """Stamp the PDF in the body (`Content-Type: application/pdf`) with the seal, at `page`,
    `x_mm`/`y_mm` from the page's top-left corner, or centred on `keyword`, or across every
    page's right edge (`cross_page`, at `y_mm`); PAdES `profile` B-B, B-T or B-LT. Send an `Idempotency-Key` header to make
    retries safe: a key already used is refused (409 `stamp.replayed`), never stamped twice."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/pdf":
        raise UnsupportedMedia("send the PDF itself as application/pdf", code="stamp.media_type")
    command = stamping.SystemStamp(
        auth.system, seal_id, c.scopes.parse(scope), io.BytesIO(await request.body()),
        Placement(page, x_mm, y_mm, keyword, cross_page), profile, name, idempotency_key)
    output = io.BytesIO()
    record = await run_in_threadpool(
        stamping.stamp_as_system, command, output=output, caller=auth.caller, uow=c.uow,
        stamper=c.pdf, clock=c.clock, settings=c.settings, factory=c.x509)
    return Response(output.getvalue(), status_code=201, media_type="application/pdf", headers={
        "Location": f"/api/v1/stamps/{record.id}", "X-Stamp-Id": str(record.id),
        "X-Stamp-SHA256": record.sha256_out})


@router.get("/stamps/{stamp_id}", response_model=StampPublic)
def stamp_record(stamp_id: uuid.UUID, auth: System, c: ContainerDep) -> StampPublic:
    """A stamp this business system made (others' are not found)."""
    return StampPublic.model_validate(stamping.stamp_of(auth.system, stamp_id, uow=c.uow))
