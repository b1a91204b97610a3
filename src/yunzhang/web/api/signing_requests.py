"""Stamp and sign requests (用印/签署请求) and bindings (绑定) by business systems, and the person's
handwritten signature (手写签名) from the wallet. Each step of a request, each binding, is
carried out through a scan session (docs/signing-requests.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import Field

from yunzhang.domain.bindings import BindingStatus, BindingSubject
from yunzhang.domain.signing_requests import (
    MAX_DOCUMENTS,
    MAX_STEPS,
    RequestStatus,
    SigningOrder,
    StepKind,
    StepState,
)
from yunzhang.domain.stamping import Placement
from yunzhang.errors import NotFound
from yunzhang.services import bindings, handwriting, scan_sessions, signing_requests
from yunzhang.web.api import Public, Strict
from yunzhang.web.api.scan_sessions import OpenedPublic, b64decode
from yunzhang.web.deps import ContainerDep, PersonCaller, Reader, System, Writer

router = APIRouter(prefix="/api/v1", tags=["stamp and sign requests (business systems)"])
REQUEST_PATHS = (r"/api/v1/signing-requests",)
HANDWRITING_PATHS = (r"/api/v1/me/handwriting",)


class PlacementIn(Strict):
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    x_mm: Annotated[float, Field(ge=0, le=2000)] = 20.0
    y_mm: Annotated[float, Field(ge=0, le=2000)] = 20.0
    keyword: Annotated[str | None, Field(min_length=1, max_length=50)] = None
    cross_page: bool = False


class StepIn(Strict):
    seal: Annotated[str | None, Field(min_length=1, max_length=120, description=(
        "a seal id or <USCC>:<seal type>: stamped by a person allowed to use it here"))] = None
    signer: Annotated[str | None, Field(min_length=5, max_length=20, description=(
        "the phone number of the person who signs with their own key"))] = None
    placement: PlacementIn = PlacementIn()


class DocumentIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    content: Annotated[str, Field(min_length=8, max_length=1 << 31, description=(
        "the PDF, base64 (the body is bounded by YUNZHANG_MAX_DOCUMENT_BYTES)"))]


class CreateIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    documents: Annotated[list[DocumentIn], Field(min_length=1, max_length=MAX_DOCUMENTS)]
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=MAX_STEPS)]
    order: SigningOrder = SigningOrder.SEQUENTIAL
    scope: Annotated[str | None, Field(max_length=200)] = None
    reference: Annotated[str | None, Field(max_length=100)] = None


class StepPublic(Public):
    position: int
    kind: StepKind
    label: str
    state: StepState
    done_at: datetime | None


class RequestDocumentPublic(Public):
    position: int
    name: str
    sha256_original: str
    sha256: str
    size: int


class RequestPublic(Public):
    id: uuid.UUID
    title: str
    order: SigningOrder
    scope: str | None
    reference: str | None
    status: RequestStatus
    progress: str = Field(description="steps done / steps, e.g. 1/2")
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    steps: list[StepPublic]
    documents: list[RequestDocumentPublic]


def _public(view: signing_requests.RequestView) -> RequestPublic:
    r, (done, total) = view.request, view.progress
    return RequestPublic(
        id=r.id, title=r.title, order=r.order, scope=r.scope, reference=r.reference,
        status=view.status, progress=f"{done}/{total}", created_at=r.created_at,
        expires_at=r.expires_at, completed_at=r.completed_at,
        steps=[StepPublic(position=s.position, kind=s.kind, label=s.label, state=s.state,
                          done_at=s.done_at) for s in view.steps],
        documents=[RequestDocumentPublic(position=d.position, name=d.name,
                                         sha256_original=d.sha256_original, sha256=d.sha256,
                                         size=len(d.content)) for d in view.documents])


def _opened(opened: scan_sessions.Opened) -> OpenedPublic:
    s = opened.session
    return OpenedPublic(id=s.id, url=opened.url, action=s.action, binding_code=s.binding_code,
                        expires_at=s.expires_at, poll_token=opened.poll_token)


@router.post("/signing-requests", status_code=201, response_model=RequestPublic)
def create(body: CreateIn, auth: System, c: ContainerDep) -> RequestPublic:
    """Documents (PDF, base64, together at most YUNZHANG_MAX_DOCUMENT_BYTES) and the steps:
    seals to apply and persons to sign, in order (`sequential`) or not (`parallel`)."""
    scope = c.scopes.parse(body.scope) if body.scope is not None else None
    view = signing_requests.create_request(signing_requests.CreateRequest(
        system=auth.system, title=body.title,
        documents=[signing_requests.NewDocument(d.name, b64decode(
            d.content, "a document's content", "signing_request.content"))
            for d in body.documents],
        steps=[signing_requests.StepSpec(seal=s.seal, signer=s.signer,
                                         placement=Placement(**s.placement.model_dump()))
               for s in body.steps],
        order=body.order, scope=scope, reference=body.reference),
        caller=auth.caller, uow=c.uow, clock=c.clock, settings=c.settings)
    return _public(view)


@router.get("/signing-requests/{request_id}", response_model=RequestPublic)
def show(request_id: uuid.UUID, auth: System, c: ContainerDep) -> RequestPublic:
    """Status and progress; the business system's own requests only."""
    return _public(signing_requests.view_request(auth.system, request_id, uow=c.uow,
                                                 clock=c.clock))


@router.get("/signing-requests/{request_id}/documents/{position}", response_class=Response,
            responses={200: {"content": {"application/pdf": {}},
                             "description": "the document with every signature made so far"}})
def document(request_id: uuid.UUID, position: Annotated[int, Path(ge=1, le=MAX_DOCUMENTS)],
             auth: System, c: ContainerDep) -> Response:
    view = signing_requests.view_request(auth.system, request_id, uow=c.uow, clock=c.clock)
    found = next((d for d in view.documents if d.position == position), None)
    if found is None:
        raise NotFound(f"the request has documents 1 to {len(view.documents)}",
                       code="signing_request.document_not_found")
    return Response(found.content, media_type="application/pdf",
                    headers={"X-Document-SHA256": found.sha256,
                             "Content-Disposition":
                                 f'attachment; filename="document-{position}.pdf"'})


class OpenStepIn(Strict):
    step: Annotated[int | None, Field(ge=1, le=MAX_STEPS, description=(
        "which step; by default the first that can be carried out now"))] = None


@router.post("/signing-requests/{request_id}/scan-sessions", status_code=201,
             response_model=OpenedPublic)
def open_step(request_id: uuid.UUID, body: OpenStepIn, auth: System,
              c: ContainerDep) -> OpenedPublic:
    """A QR code for one step (valid for YUNZHANG_SCAN_SESSION_SECONDS; ask again for a new
    one). The screen follows it like any scan session."""
    return _opened(signing_requests.open_step_session(signing_requests.OpenStep(
        auth.system, request_id, body.step, auth.caller.ip, auth.caller.user_agent),
        caller=auth.caller, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings))


@router.post("/signing-requests/{request_id}/cancel", response_model=RequestPublic)
def cancel(request_id: uuid.UUID, auth: System, c: ContainerDep) -> RequestPublic:
    return _public(signing_requests.cancel_request(auth.system, request_id, caller=auth.caller,
                                                   uow=c.uow, clock=c.clock))


class BindIn(Strict):
    uscc: Annotated[str, Field(min_length=18, max_length=18)]
    account: Annotated[str, Field(min_length=1, max_length=100)]
    seal_type: Annotated[str | None, Field(min_length=1, max_length=40, description=(
        "bind this type of seal; without it, the enterprise certificate"))] = None
    scope: Annotated[str | None, Field(max_length=200)] = None


class BindingOpenedPublic(OpenedPublic):
    binding_id: uuid.UUID


class BindingPublic(Public):
    id: uuid.UUID
    account: str
    enterprise: str
    subject: BindingSubject
    seal_id: uuid.UUID | None
    scope: str | None
    status: BindingStatus
    bound_at: datetime | None


@router.post("/bindings", status_code=201, response_model=BindingOpenedPublic)
def bind(body: BindIn, auth: System, c: ContainerDep) -> BindingOpenedPublic:
    """A QR code to bind the enterprise certificate (for `scope`) or one of its seals to an
    account here; bound once a person allowed to do so confirms."""
    scope = c.scopes.parse(body.scope) if body.scope is not None else None
    opened = bindings.open_bind_session(bindings.OpenBinding(
        auth.system, body.uscc, body.account, body.seal_type, scope, auth.caller.ip,
        auth.caller.user_agent),
        caller=auth.caller, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings)
    assert opened.session.binding_id is not None
    return BindingOpenedPublic(**_opened(opened).model_dump(),
                               binding_id=opened.session.binding_id)


@router.post("/bindings/{binding_id}/unbind", status_code=201, response_model=OpenedPublic)
def unbind(binding_id: uuid.UUID, auth: System, c: ContainerDep) -> OpenedPublic:
    return _opened(bindings.open_unbind_session(bindings.OpenUnbinding(
        auth.system, binding_id, auth.caller.ip, auth.caller.user_agent),
        caller=auth.caller, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings))


@router.get("/bindings", response_model=list[BindingPublic])
def list_bindings(auth: System, c: ContainerDep,
                  account: Annotated[str | None, Query(min_length=1, max_length=100)] = None
                  ) -> list[BindingPublic]:
    return [BindingPublic(id=b.id, account=b.account, enterprise=uscc, subject=b.subject,
                          seal_id=b.seal_id, scope=b.scope, status=b.status, bound_at=b.bound_at)
            for b, uscc in bindings.bindings_of(auth.system, uow=c.uow, account=account)]


class HandwritingIn(Strict):
    picture: Annotated[str, Field(min_length=8, max_length=1 << 31, description=(
        "PNG or JPEG, base64 (bounded by YUNZHANG_MAX_IMAGE_BYTES)"))]
    certificate_serial: Annotated[str, Field(min_length=1, max_length=64)]
    proof: Annotated[str, Field(min_length=8, max_length=400, description=(
        "base64 signature by the certificate's key of yunzhang-handwriting-v1\\n<serial>\\n"
        "<hex SHA-256 of the picture>"))]


class HandwritingPublic(Public):
    id: uuid.UUID
    certificate_serial: str
    sha256: str
    width_mm: float
    height_mm: float
    created_at: datetime


@router.put("/me/handwriting", response_model=HandwritingPublic)
def set_handwriting(body: HandwritingIn, auth: Writer, caller: PersonCaller,
                    c: ContainerDep) -> HandwritingPublic:
    """The handwritten signature shown where this person signs, bound to their certificate."""
    image = handwriting.set_handwriting(handwriting.SetHandwriting(
        auth.person.id, b64decode(body.picture, "picture", "handwriting.picture"),
        body.certificate_serial, b64decode(body.proof, "proof", "handwriting.proof")),
        caller=caller, uow=c.uow, clock=c.clock, artist=c.artist, factory=c.x509,
        device_keys=c.device_keys)
    return HandwritingPublic.model_validate(image)


@router.get("/me/handwriting.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def handwriting_png(auth: Reader, c: ContainerDep) -> Response:
    return Response(handwriting.current_handwriting(auth.person.id, uow=c.uow).png,
                    media_type="image/png")
