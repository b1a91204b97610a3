"""Scan sessions (扫码) over HTTP: a business system opens one, the wallet reads it, scans and
answers with device-signed requests, the screen holding the poll token follows it (long polling,
checked once a second); and the wallet's device enrolment."""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from datetime import datetime
from html import escape
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from yunzhang.domain.devices import DeviceStatus
from yunzhang.domain.roles import Role
from yunzhang.domain.scan_sessions import ScanAction, ScanDocument, ScanState
from yunzhang.errors import InvalidInput, NotFound
from yunzhang.services import devices, scan_answers, scan_sessions
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import AnonymousCaller, ContainerDep, PersonCaller, Reader, System, Writer

router = APIRouter(tags=["scan sessions"])
POLL_COOKIE = "yunzhang_scan"
MAX_WAIT = 25  # seconds a result request may wait for a change


def b64decode(value: str, what: str, code: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64", code=code) from None


class DocumentIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    sha256: Annotated[str, Field(min_length=64, max_length=64)]


class OpenRequest(Strict):
    action: ScanAction
    documents: Annotated[list[DocumentIn], Field(max_length=20)] = []
    scope: Annotated[str | None, Field(max_length=200)] = None


class OpenedPublic(Public):
    id: str
    url: str
    action: ScanAction
    binding_code: str | None
    expires_at: datetime
    poll_token: str = Field(description="for the screen showing the QR code only")


class DocumentPublic(Public):
    name: str
    sha256: str


class WalletViewPublic(Public):
    id: str
    business_system: str
    business_system_name: str
    action: ScanAction
    subject: str | None = Field(description="what precisely: a request's step, a binding")
    documents: list[DocumentPublic]
    scope: str | None
    binding_code: str | None
    nonce: str
    requester_ip: str | None
    requester_agent: str | None
    created_at: datetime
    expires_at: datetime
    state: ScanState
    digest: str = Field(description="SHA-256 of what is shown, as the wallet signs it")


class AnswerRequest(Strict):
    device_id: uuid.UUID
    signature: Annotated[str, Field(min_length=8, max_length=400,
                                    description="base64 DER ECDSA signature by the device key")]
    document_signatures: Annotated[list[Annotated[str, Field(max_length=1400)]], Field(
        max_length=20, description="confirming a signature step: per document, the base64 "
                                   "signature of `to_sign` by the person-signing key")] = []
    license_id: uuid.UUID | None = Field(default=None, description=(
        "confirming a login: the e-license (电子营业执照) to log in with; the signature then "
        "covers it (docs/scan-sessions.md)"))


class StatePublic(Public):
    id: str
    state: ScanState
    to_sign: list[str] = Field(default=[], description=(
        "scanning a signature step: per document, the base64 DER CMS signed attributes the "
        "wallet signs with the person-signing key"))


class EnterpriseRef(Public):
    uscc: str
    name: str


class ResultPublic(Public):
    state: ScanState
    person_id: uuid.UUID | None
    decided_at: datetime | None
    expires_at: datetime
    outcome: str | None = Field(description="refused: why the platform could not do it")
    enterprise: EnterpriseRef | None = Field(default=None, description=(
        "a login confirmed with an e-license: the enterprise logged in for"))
    role: Role | None = Field(default=None, description="the role held there")


class EnrollRequest(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    public_key: Annotated[str, Field(min_length=8, max_length=400,
                                     description="base64 DER SubjectPublicKeyInfo, EC P-256")]
    proof: Annotated[str, Field(min_length=8, max_length=400,
                                description="base64 signature of the enrolment message")]


class DevicePublic(Public):
    id: uuid.UUID
    name: str
    status: DeviceStatus
    created_at: datetime
    revoked_at: datetime | None


@router.post("/api/v1/scan-sessions", status_code=201, response_model=OpenedPublic)
def open_session(body: OpenRequest, request: Request, auth: System,
                 c: ContainerDep) -> OpenedPublic:
    """A business system asks for a scan: login, stamp, sign (with the documents' names and
    SHA-256), bind or unbind. The answer's `url` goes into the QR code; `poll_token` stays with
    the screen that shows it."""
    documents = [ScanDocument.parse(d.name, d.sha256) for d in body.documents]
    scope = c.scopes.parse(body.scope) if body.scope is not None else None
    opened = scan_sessions.open_session(
        scan_sessions.OpenSession(auth.system, body.action, documents, scope,
                                  requester_ip=auth.caller.ip,
                                  requester_agent=auth.caller.user_agent),
        caller=auth.caller, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings)
    s = opened.session
    return OpenedPublic(id=s.id, url=opened.url, action=s.action, binding_code=s.binding_code,
                        expires_at=s.expires_at, poll_token=opened.poll_token)


@router.get("/api/v1/scan-sessions/{session_id}", response_model=WalletViewPublic)
def wallet_view(session_id: str, c: ContainerDep) -> WalletViewPublic:
    """What the wallet shows before the person answers; never the result."""
    view = scan_sessions.describe(session_id, uow=c.uow, clock=c.clock)
    s = view.session
    return WalletViewPublic(
        id=s.id, business_system=s.business_system, business_system_name=view.business_system_name,
        action=s.action, subject=s.subject,
        documents=[DocumentPublic(**d) for d in s.documents], scope=s.scope,
        binding_code=s.binding_code, nonce=s.nonce, requester_ip=s.requester_ip,
        requester_agent=s.requester_agent, created_at=s.created_at, expires_at=s.expires_at,
        state=view.state, digest=view.digest)


@router.post("/api/v1/scan-sessions/{session_id}/{step}", response_model=StatePublic)
def answer(session_id: str, step: str, body: AnswerRequest, caller: AnonymousCaller,
           c: ContainerDep) -> StatePublic:
    """The wallet's steps (`scan`, `confirm`, `deny`), each signed by its device key over the
    session's nonce and digest (see docs/scan-sessions.md). Scanning a signature step answers
    with `to_sign`; its confirmation carries `document_signatures`."""
    if step not in ("scan", "confirm", "deny"):
        raise NotFound(f"no step {step[:20]!r}; the steps are scan, confirm and deny",
                       code="scan.step")
    signature = b64decode(body.signature, "signature", "scan.signature_encoding")
    wallet = scan_sessions.WalletAnswer(session_id, body.device_id, signature, body.license_id)
    if step == "scan":
        scanned = scan_answers.scan(wallet, caller=caller, uow=c.uow, clock=c.clock,
                                    device_keys=c.device_keys, stamper=c.pdf)
        return StatePublic(id=scanned.session.id, state=scanned.session.state,
                           to_sign=[base64.b64encode(t).decode() for t in scanned.to_sign])
    if step == "deny":
        session = scan_answers.deny(wallet, caller=caller, uow=c.uow, clock=c.clock,
                                    device_keys=c.device_keys)
        return StatePublic(id=session.id, state=session.state)
    signatures = [b64decode(s, "a document signature", "scan.signature_encoding")
                  for s in body.document_signatures]
    session = scan_answers.confirm(
        scan_answers.Confirmation(wallet, signatures), caller=caller, uow=c.uow, clock=c.clock,
        device_keys=c.device_keys, stamper=c.pdf, settings=c.settings,
        factory=c.x509)
    return StatePublic(id=session.id, state=session.state)


@router.get("/api/v1/scan-sessions/{session_id}/result", response_model=ResultPublic)
async def result(session_id: str, request: Request, c: ContainerDep,
                 wait: Annotated[int, Query(ge=0, le=MAX_WAIT)] = 0,
                 x_poll_token: Annotated[str | None, Header(max_length=100)] = None
                 ) -> ResultPublic:
    """For the screen only: the poll token in the `yunzhang_scan` cookie (a page of the
    platform) or the `X-Poll-Token` header (a business system's server). With `wait`, the answer
    comes when the state changes or after that many seconds, the session read once a second."""
    token = x_poll_token or request.cookies.get(POLL_COOKIE) or ""
    first = await run_in_threadpool(scan_sessions.result, session_id, token, uow=c.uow,
                                    clock=c.clock, keyring=c.keyring)
    current = first
    for _ in range(wait):
        if current.state is not first.state or current.state not in (ScanState.PENDING,
                                                                      ScanState.SCANNED):
            break
        await asyncio.sleep(1)
        current = await run_in_threadpool(scan_sessions.result, session_id, token, uow=c.uow,
                                          clock=c.clock, keyring=c.keyring)
    held = current.license
    return ResultPublic(state=current.state, person_id=current.person_id,
                        decided_at=current.decided_at, expires_at=current.expires_at,
                        outcome=current.outcome,
                        enterprise=held and EnterpriseRef(uscc=held.uscc,
                                                          name=held.enterprise_name),
                        role=held and held.role)


_LANDING = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>云章扫码 · yunzhang</title>
<h1>请使用云章钱包扫码 · Open this with the yunzhang wallet</h1>
<p>{who} 请求：{action}。此链接 {expires} 前有效，仅可使用一次。</p>
<p><code>yunzhang wallet scan {url}</code></p></html>"""


@router.get("/s/{session_id}", response_class=HTMLResponse, include_in_schema=False)
def landing(session_id: str, request: Request, c: ContainerDep) -> HTMLResponse:
    """What a phone camera opens from the QR code when no wallet takes the link."""
    view = scan_sessions.describe(session_id, uow=c.uow, clock=c.clock)
    return HTMLResponse(_LANDING.format(
        who=escape(view.business_system_name), action=escape(view.session.action.value),
        expires=escape(view.session.expires_at.isoformat()), url=escape(str(request.url))))


@router.post("/api/v1/me/devices", status_code=201, response_model=DevicePublic)
def enroll(body: EnrollRequest, auth: Writer, caller: PersonCaller, c: ContainerDep) -> DevicePublic:
    """Enrol a wallet device: its EC P-256 public key and that key's signature of
    `yunzhang-device-v1\\n<person id>\\n<hex SHA-256 of the key's DER>`."""
    device = devices.enroll_device(
        devices.EnrollDevice(auth.person.id, body.name,
                             b64decode(body.public_key, "public_key", "device.public_key"),
                             b64decode(body.proof, "proof", "device.proof")),
        caller=caller, uow=c.uow, clock=c.clock, device_keys=c.device_keys)
    return DevicePublic.model_validate(device)


@router.get("/api/v1/me/devices", response_model=list[DevicePublic])
def my_devices(auth: Reader, c: ContainerDep) -> list[DevicePublic]:
    return [DevicePublic.model_validate(d) for d in devices.list_devices(auth.person.id, uow=c.uow)]


@router.post("/api/v1/me/devices/{device_id}/revoke", response_model=DevicePublic)
def revoke(device_id: uuid.UUID, auth: Writer, caller: PersonCaller,
           c: ContainerDep) -> DevicePublic:
    """A lost or replaced phone: its signatures count no more."""
    return DevicePublic.model_validate(devices.revoke_device(
        auth.person.id, device_id, caller=caller, uow=c.uow, clock=c.clock))
