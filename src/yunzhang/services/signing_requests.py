"""Stamp and sign requests (用印/签署请求) from business systems: created with their documents and
steps, carried out step by step through scan sessions, fetched when complete.

A step is carried out in three moments: the wallet scans the step's session (for a signature the
platform then prepares every document for the person's certificate and hands the wallet what to
sign), the person confirms (the work is done outside any transaction: the cloud seal stamps, or
the wallet's signatures are checked and embedded), and the result is recorded in one transaction
that first checks nothing changed meanwhile (another step finished, the request was cancelled).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.domain.ids import Phone
from yunzhang.domain.pki import CaName, Certificate, CertStatus, Profile
from yunzhang.domain.scan_sessions import ScanAction, ScanDocument, ScanSession
from yunzhang.domain.signing_requests import (
    MAX_DOCUMENTS,
    MAX_STEPS,
    RequestDocument,
    RequestStatus,
    RequestStep,
    SigningOrder,
    SigningRequest,
    StepKind,
    StepState,
    actionable,
    check_title,
    require_actionable,
    subject_line,
)
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    SigningError,
)
from yunzhang.domain.authz import Action
from yunzhang.services import authorization, pki, scan_sessions, seals, stamping, webhooks
from yunzhang.services.grants import resource_of
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    Keyring,
    PdfStamper,
    UnitOfWork,
    UnitOfWorkFactory,
)

PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class StepSpec:
    """One step: ``seal`` (a seal id or ``<USCC>:<type>``) or ``signer`` (the phone number of the
    person who signs), and where it goes."""

    seal: str | None = None
    signer: str | None = None
    placement: Placement = Placement()


@dataclass(frozen=True)
class NewDocument:
    name: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class CreateRequest:
    system: BusinessSystem
    title: str
    documents: list[NewDocument]
    steps: list[StepSpec]
    order: SigningOrder = SigningOrder.SEQUENTIAL
    scope: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class RequestView:
    request: SigningRequest
    status: RequestStatus  # as of now (an open request past its expiry is expired)
    steps: list[RequestStep]
    documents: list[RequestDocument]

    @property
    def progress(self) -> tuple[int, int]:
        return sum(s.state is StepState.DONE for s in self.steps), len(self.steps)


def _document(raw: NewDocument, position: int, request_id: uuid.UUID) -> RequestDocument:
    name = " ".join(raw.name.split())[:200] or f"document-{position}.pdf"
    if PDF_MAGIC not in raw.content[:1024]:
        raise InvalidInput(f"document {position} ({name[:50]!r}) is not a PDF",
                           code="signing_request.not_pdf")
    digest = hashlib.sha256(raw.content).hexdigest()
    return RequestDocument(request_id=request_id, position=position, name=name,
                           sha256_original=digest, sha256=digest, content=raw.content)


def _steps(cmd: CreateRequest, request_id: uuid.UUID, tx: UnitOfWork,
           uow: UnitOfWorkFactory) -> list[RequestStep]:
    steps = []
    for n, spec in enumerate(cmd.steps, start=1):
        placement = dataclasses.asdict(spec.placement)
        if (spec.seal is None) == (spec.signer is None):
            raise InvalidInput(f"step {n} names a seal or a signer (one of them)",
                               code="signing_request.step")
        if spec.seal is not None:
            seal_id = seals.seal_id_of(spec.seal, uow=uow)
            seal = tx.seals.get(seal_id)
            enterprise = tx.enterprises.get(seal.enterprise_id) if seal is not None else None
            if seal is None or enterprise is None:
                raise NotFound(f"step {n}: no seal {spec.seal[:80]!r}", code="seal.not_found")
            steps.append(RequestStep(request_id=request_id, position=n, kind=StepKind.STAMP,
                                     label=f"{enterprise.name} {seal.name}"[:200],
                                     placement=placement, seal_id=seal.id))
        else:
            assert spec.signer is not None
            person = tx.persons.by_phone(Phone.parse(spec.signer).value)
            if person is None or person.status != "active":
                raise InvalidInput(f"step {n}: no active account has the signer's phone number",
                                   code="signing_request.signer")
            if any(s.person_id == person.id for s in steps):
                raise InvalidInput(f"step {n}: the same person signs twice",
                                   code="signing_request.signer")
            label = person.name or Phone.parse(spec.signer).masked
            steps.append(RequestStep(request_id=request_id, position=n, kind=StepKind.SIGN,
                                     label=label, placement=placement, person_id=person.id))
    return steps


@refusals_audited(AuditTag.REQUEST_CREATE, lambda cmd: f"business_system:{cmd.system.client_id}")
def create_request(cmd: CreateRequest, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                   settings: Settings) -> RequestView:
    title = check_title(cmd.title)
    if not 1 <= len(cmd.documents) <= MAX_DOCUMENTS:
        raise InvalidInput(f"a request carries 1 to {MAX_DOCUMENTS} documents",
                           code="signing_request.documents")
    total = sum(len(d.content) for d in cmd.documents)
    if total > settings.max_document_bytes:
        raise PayloadTooLarge(f"the documents have {total} bytes together; the limit is "
                              f"{settings.max_document_bytes}", code="signing_request.too_large")
    if not 1 <= len(cmd.steps) <= MAX_STEPS:
        raise InvalidInput(f"a request has 1 to {MAX_STEPS} steps", code="signing_request.steps")
    if cmd.scope is not None:
        cmd.system.require_scope(cmd.scope)
    reference = cmd.reference.strip() if cmd.reference else None
    if reference is not None and not (len(reference) <= 100 and reference.isprintable()):
        raise InvalidInput("a reference is at most 100 printable characters",
                           code="signing_request.reference")
    now = clock.now()
    request = SigningRequest(business_system=cmd.system.client_id, title=title, order=cmd.order,
                             created_at=now,
                             expires_at=now + timedelta(hours=settings.signing_request_hours),
                             scope=cmd.scope, reference=reference or None)
    documents = [_document(d, n, request.id) for n, d in enumerate(cmd.documents, start=1)]
    with uow(request_id=caller.request_id) as tx:
        steps = _steps(cmd, request.id, tx, uow)
        tx.signing_requests.add(request, steps, documents)
        tx.audit.record(AuditRecord(AuditTag.REQUEST_CREATE, caller.actor,
                                    f"signing_request:{request.id}", details={
                                        "title": title, "order": cmd.order.value,
                                        "scope": cmd.scope, "reference": request.reference,
                                        "documents": [{"name": d.name, "sha256": d.sha256}
                                                      for d in documents],
                                        "steps": [s.label for s in steps]}))
        tx.commit()
    return RequestView(request, request.status, steps, documents)


def _owned(tx: UnitOfWork, system: BusinessSystem, request_id: uuid.UUID, *,
           lock: bool = False) -> SigningRequest:
    request = tx.signing_requests.get(request_id, lock=lock)
    if request is None or request.business_system != system.client_id:
        raise NotFound(f"no request {request_id} of {system.client_id}",
                       code="signing_request.not_found")
    return request


def view_request(system: BusinessSystem, request_id: uuid.UUID, *, uow: UnitOfWorkFactory,
                 clock: Clock) -> RequestView:
    with uow() as tx:
        request = _owned(tx, system, request_id)
        return RequestView(request, request.status_at(clock.now()),
                           tx.signing_requests.steps(request.id),
                           tx.signing_requests.documents(request.id))


@refusals_audited(AuditTag.REQUEST_CANCEL, lambda system, request_id, **_: f"signing_request:{request_id}")
def cancel_request(system: BusinessSystem, request_id: uuid.UUID, *, caller: Caller,
                   uow: UnitOfWorkFactory, clock: Clock) -> RequestView:
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        request = _owned(tx, system, request_id, lock=True)
        request.require_open(now)
        request.status, request.completed_at = RequestStatus.CANCELLED, now
        tx.audit.record(AuditRecord(AuditTag.REQUEST_CANCEL, caller.actor,
                                    f"signing_request:{request.id}"))
        tx.commit()
        return RequestView(request, request.status, tx.signing_requests.steps(request.id),
                           tx.signing_requests.documents(request.id))


@dataclass(frozen=True)
class OpenStep:
    system: BusinessSystem
    request_id: uuid.UUID
    position: int | None = None  # None: the first step that may be carried out now
    requester_ip: str | None = None
    requester_agent: str | None = None


def open_step_session(cmd: OpenStep, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                      keyring: Keyring, settings: Settings) -> scan_sessions.Opened:
    """A scan session (QR code) for one step of the request: a seal step is carried out by
    whoever scans and is allowed to use the seal, a signature step only by its signer."""
    with uow() as tx:
        request = _owned(tx, cmd.system, cmd.request_id)
        request.require_open(clock.now())
        steps = tx.signing_requests.steps(request.id)
        if cmd.position is None:
            ready = actionable(steps, request.order)
            if not ready:
                raise Conflict("no step of this request can be carried out now",
                               code="signing_request.no_step")
            step = ready[0]
        else:
            chosen = next((s for s in steps if s.position == cmd.position), None)
            if chosen is None:
                raise NotFound(f"the request has steps 1 to {len(steps)}",
                               code="signing_request.step_not_found")
            step = chosen
            require_actionable(step, steps, request.order)
        documents = [ScanDocument(d.name, d.sha256) for d in tx.signing_requests.documents(request.id)]
    return scan_sessions.open_session(scan_sessions.OpenSession(
        system=cmd.system,
        action=ScanAction.STAMP if step.kind is StepKind.STAMP else ScanAction.SIGN,
        documents=documents, scope=request.scope,
        subject=subject_line(request, step, len(steps)), request_step_id=step.id,
        requester_ip=cmd.requester_ip, requester_agent=cmd.requester_agent),
        caller=caller, uow=uow, clock=clock, keyring=keyring, settings=settings)


# --- carrying a step out (called by services.scan_answers) -------------------------------------


@dataclass(frozen=True)
class StepContext:
    request: SigningRequest
    step: RequestStep
    steps: list[RequestStep]
    documents: list[RequestDocument]


def context(tx: UnitOfWork, session: ScanSession, at: datetime, *,
            lock: bool = False) -> StepContext:
    """The request and step a session carries out, checked to be still open, its turn, and on
    the documents as the session showed them."""
    assert session.request_step_id is not None
    found = tx.signing_requests.step(session.request_step_id)
    assert found is not None, "a session's step exists"
    request = tx.signing_requests.get(found.request_id, lock=lock)
    assert request is not None
    request.require_open(at)
    steps = tx.signing_requests.steps(request.id)
    step = next(s for s in steps if s.id == found.id)
    require_actionable(step, steps, request.order)
    documents = tx.signing_requests.documents(request.id)
    if [d.sha256 for d in documents] != [d["sha256"] for d in session.documents]:
        raise Conflict("the documents changed since this QR code was shown (another step was "
                       "done meanwhile); ask for a new QR code", code="signing_request.changed")
    return StepContext(request, step, steps, documents)


def _person_certificate(tx: UnitOfWork, person_id: uuid.UUID, at: datetime) -> Certificate:
    current = [c for c in tx.certificates.of_subject(f"person:{person_id}")
               if c.profile is Profile.PERSON and c.status is CertStatus.GOOD and c.valid_at(at)]
    if not current:
        raise Conflict("you have no valid personal certificate; certify your wallet's signing "
                       "key first (yunzhang wallet certify)", code="signing_request.no_certificate")
    return max(current, key=lambda c: c.not_before)


def prepare_signatures(tx: UnitOfWork, session: ScanSession, person_id: uuid.UUID, *,
                       stamper: PdfStamper, clock: Clock) -> list[bytes]:
    """At the scan of a signature step: every document made ready for the person's certificate
    and handwritten signature; what the wallet's signing key must sign, per document."""
    now = clock.now()
    ctx = context(tx, session, now, lock=True)
    if ctx.step.person_id != person_id:
        raise PermissionDenied(f"step {ctx.step.position} is signed by {ctx.step.label}, not by "
                               f"you", code="signing_request.not_signer")
    certificate = _person_certificate(tx, person_id, now)
    image = tx.signature_images.current(person_id)
    if image is None or image.certificate_serial != certificate.serial:
        raise Conflict("no handwritten signature is bound to your current certificate; draw it "
                       "in the wallet first (yunzhang wallet handwriting)",
                       code="signing_request.no_handwriting")
    chain = [pki.authority(tx, CaName.PERSON)[1].der, pki.authority(tx, CaName.ROOT)[1].der]
    placement = Placement(**ctx.step.placement)  # type: ignore[arg-type]
    prepared = [stamper.prepare_external(
        d.content, certificate=certificate.der, chain=chain, image_png=image.png,
        size_mm=(image.width_mm, image.height_mm), placement=placement,
        field_name=f"yunzhang-sign-{secrets.token_hex(6)}") for d in ctx.documents]
    tx.signing_requests.keep_prepared(session.id, prepared)
    return [p.to_sign for p in prepared]


@dataclass(frozen=True)
class StepWork:
    """A step done but not yet recorded: the new documents, and for a seal the stamps."""

    step_id: uuid.UUID
    contents: list[bytes] = field(repr=False)
    sealed: list[stamping.Sealed]
    user: seals.SealUser | None


def do_step(session: ScanSession, person_id: uuid.UUID, signatures: list[bytes], *,
            caller: Caller, uow: UnitOfWorkFactory, stamper: PdfStamper, clock: Clock,
            settings: Settings, factory: CertificateFactory) -> StepWork:
    """Outside any transaction: stamp with the cloud seal (decided for this person, seal and
    business system), or embed the wallet's signatures (each checked first)."""
    with uow() as tx:
        ctx = context(tx, session, clock.now())
        prepared = (tx.signing_requests.prepared(session.id)
                    if ctx.step.kind is StepKind.SIGN else [])
    if ctx.step.kind is StepKind.SIGN:
        if len(signatures) != len(prepared):
            raise InvalidInput(f"confirming this step takes {len(prepared)} document "
                               f"signature(s), one per document, made by your signing key",
                               code="scan.signatures")
        try:
            contents = [stamper.finish_external(p, sig, timestamped=True)
                        for p, sig in zip(prepared, signatures, strict=True)]
        except SigningError as err:
            raise PermissionDenied(f"{err.detail}; nothing was signed",
                                   code="scan.document_signature") from None
        return StepWork(ctx.step.id, contents, [], None)
    if signatures:
        raise InvalidInput("a seal step takes no signatures from the wallet",
                           code="scan.signatures")
    assert ctx.step.seal_id is not None
    user = seals.SealUser(person_id, ctx.request.business_system, scope=ctx.request.scope)
    placement = Placement(**ctx.step.placement)  # type: ignore[arg-type]
    contents, sealed = [], []
    for document in ctx.documents:
        output = io.BytesIO()
        sealed.append(stamping.seal_document(
            user, ctx.step.seal_id, io.BytesIO(document.content), output, placement,
            PadesProfile.B_T, caller=caller, uow=uow, stamper=stamper, clock=clock,
            settings=settings, factory=factory))
        contents.append(output.getvalue())
    return StepWork(ctx.step.id, contents, sealed, user)


def record_step(tx: UnitOfWork, session: ScanSession, work: StepWork, person_id: uuid.UUID, *,
                caller: Caller, clock: Clock) -> RequestView:
    """In the confirmation's transaction: the documents replaced, the step done, the stamps or
    the signature recorded, the request completed when it was the last step."""
    now = clock.now()
    ctx = context(tx, session, now, lock=True)
    if ctx.step.id != work.step_id:
        raise Conflict("the request changed meanwhile; ask for a new QR code",
                       code="signing_request.changed")
    for document, content in zip(ctx.documents, work.contents, strict=True):
        document.content, document.sha256 = content, hashlib.sha256(content).hexdigest()
    ctx.step.state, ctx.step.done_by, ctx.step.done_at = StepState.DONE, person_id, now
    if work.user is not None:
        for document, sealed in zip(ctx.documents, work.sealed, strict=True):
            stamping.record_stamp(tx, work.user, sealed, document.name, caller=caller,
                                  clock=clock)
    else:
        tx.audit.record(AuditRecord(AuditTag.DOCUMENT_SIGN, caller.actor,
                                    f"signing_request:{ctx.request.id}", details={
                                        "step": ctx.step.position, "person": str(person_id),
                                        "business_system": ctx.request.business_system,
                                        "documents": [{"name": d.name, "sha256": d.sha256}
                                                      for d in ctx.documents]}))
    done = sum(s.state is StepState.DONE for s in ctx.steps)
    view = RequestView(ctx.request, ctx.request.status, ctx.steps, ctx.documents)
    if done == len(ctx.steps):
        ctx.request.status, ctx.request.completed_at = RequestStatus.COMPLETED, now
        view = RequestView(ctx.request, ctx.request.status, ctx.steps, ctx.documents)
        tx.audit.record(AuditRecord(AuditTag.REQUEST_COMPLETE, caller.actor,
                                    f"signing_request:{ctx.request.id}",
                                    details={"documents": [d.sha256 for d in ctx.documents]}))
        webhooks.queue_event(tx, client_id=ctx.request.business_system,
                             event="signing_request.completed", data=event_data(view), at=now)
    else:
        webhooks.queue_event(tx, client_id=ctx.request.business_system,
                             event="signing_request.progress", data=event_data(view), at=now)
    return view


def decline_step(tx: UnitOfWork, session: ScanSession, person_id: uuid.UUID, *, caller: Caller,
                 uow: UnitOfWorkFactory, clock: Clock) -> None:
    """The signer, or someone allowed to use the step's seal here, says no: the request ends,
    declined. Anyone else saying no (a stranger who scanned the QR code) ends only their own
    session."""
    now = clock.now()
    try:
        ctx = context(tx, session, now)
    except Conflict:
        return
    if ctx.step.kind is StepKind.SIGN and ctx.step.person_id != person_id:
        return
    if ctx.step.kind is StepKind.STAMP:
        seal = tx.seals.get(ctx.step.seal_id) if ctx.step.seal_id else None
        enterprise = tx.enterprises.get(seal.enterprise_id) if seal else None
        assert seal is not None and enterprise is not None
        try:
            authorization.require(person_id, Action.USE_SEAL, resource_of(
                enterprise, seal_id=str(seal.id), business_system=ctx.request.business_system,
                scope=ctx.request.scope), now, tx=tx, caller=caller, uow=uow)
        except PermissionDenied:
            return
    ctx = context(tx, session, now, lock=True)
    ctx.step.state, ctx.step.done_by, ctx.step.done_at = StepState.DECLINED, person_id, now
    ctx.request.status, ctx.request.completed_at = RequestStatus.DECLINED, now
    tx.audit.record(AuditRecord(AuditTag.REQUEST_DECLINE, caller.actor,
                                f"signing_request:{ctx.request.id}",
                                details={"step": ctx.step.position, "person": str(person_id)}))
    webhooks.queue_event(tx, client_id=ctx.request.business_system,
                         event="signing_request.declined",
                         data=event_data(RequestView(ctx.request, ctx.request.status, ctx.steps,
                                                     ctx.documents)), at=now)


def event_data(view: RequestView) -> dict[str, object]:
    """What a webhook says about a request: enough to act on, no document content (fetch it)."""
    done, total = view.progress
    return {"id": str(view.request.id), "reference": view.request.reference,
            "status": view.status.value, "progress": {"done": done, "total": total},
            "steps": [{"position": s.position, "kind": s.kind.value, "state": s.state.value,
                       "done_at": s.done_at.isoformat() if s.done_at else None}
                      for s in view.steps],
            "documents": [{"position": d.position, "name": d.name, "sha256": d.sha256}
                          for d in view.documents]}
