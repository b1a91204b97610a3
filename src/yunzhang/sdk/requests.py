"""Stamp and sign requests (用印/签署请求) and scan sessions (扫码) as a business system asks for
them over the platform's HTTP API (docs/signing-requests.md, docs/scan-sessions.md):

    platform = PlatformClient("https://yunzhang.example", client_id="bidding.portal",
                              client_secret=SECRET)
    made = platform.create_request("投标函", [Document("投标函.pdf", pdf)],
                                   [Step.stamp("91310115MA1K4DEM05:official",
                                               Placement(keyword="盖章处"))],
                                   scope="ecommerce.bidding")
    qr = platform.open_step(made.id)          # qr.url into a QR code; qr.poll_token stays here
    platform.scan_result(qr, wait=20).state   # pending, scanned, confirmed, ...
    platform.get_request(made.id).completed
    platform.download(made.id, 1).content     # the stamped PDF
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import httpx

from yunzhang.sdk._http import DEFAULT_TIMEOUT, json_object, new_client, send
from yunzhang.sdk.errors import SdkError
from yunzhang.sdk.oidc import Enterprise

MAX_WAIT = 25  # the platform answers a long poll after at most this many seconds


@dataclass(frozen=True)
class Placement:
    """Where a seal or signature goes: ``page`` and millimetres from the top-left corner, or
    centred on a ``keyword`` (e.g. 盖章处), or for a seal ``cross_page`` (骑缝章)."""

    page: int = 1
    x_mm: float = 20.0
    y_mm: float = 20.0
    keyword: str | None = None
    cross_page: bool = False


@dataclass(frozen=True)
class Step:
    """A ``seal`` to apply (its id or ``<USCC>:<seal type>``) by someone allowed to use it
    here, or a ``signer`` (phone number) who signs with the key in their wallet."""

    seal: str | None = None
    signer: str | None = None
    placement: Placement = Placement()

    @classmethod
    def stamp(cls, seal: str, placement: Placement | None = None) -> Step:
        return cls(seal=seal, placement=placement or Placement())

    @classmethod
    def signature(cls, phone: str, placement: Placement | None = None) -> Step:
        return cls(signer=phone, placement=placement or Placement())

    def wire(self) -> dict[str, Any]:
        if (self.seal is None) == (self.signer is None):
            raise SdkError("a step is either a seal or a signer", code="request.step")
        who = {"seal": self.seal} if self.seal is not None else {"signer": self.signer}
        placement = {k: v for k, v in asdict(self.placement).items() if v is not None}
        return {**who, "placement": placement}


@dataclass(frozen=True)
class Document:
    name: str
    content: bytes = field(repr=False)  # a PDF


@dataclass(frozen=True)
class StepStatus:
    position: int
    kind: str  # stamp (a seal), sign (a person)
    label: str
    state: str  # waiting, open, done, declined, ... as the platform says
    done_at: datetime | None


@dataclass(frozen=True)
class DocumentStatus:
    position: int
    name: str
    sha256_original: str
    sha256: str  # of the current version, with every signature so far
    size: int


@dataclass(frozen=True)
class SigningRequest:
    id: uuid.UUID
    title: str
    order: str  # sequential, parallel
    scope: str | None
    reference: str | None
    status: str  # open, completed, declined, cancelled, expired
    done: int
    total: int
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    steps: tuple[StepStatus, ...]
    documents: tuple[DocumentStatus, ...]

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def finished(self) -> bool:
        """Nothing more will happen to it (completed, declined, cancelled or expired)."""
        return self.status != "open"


@dataclass(frozen=True)
class ScanSession:
    """A QR code to show: ``url`` goes into it; ``poll_token`` never leaves the business
    system (it is what lets the screen learn the answer); ``binding_code`` is shown next to
    the QR code for stamp and sign sessions, the wallet shows the same two digits."""

    id: str
    url: str
    action: str
    binding_code: str | None
    expires_at: datetime
    poll_token: str = field(repr=False)


@dataclass(frozen=True)
class ScanResult:
    state: str  # pending, scanned, confirmed, denied, refused, expired
    person_id: uuid.UUID | None
    decided_at: datetime | None
    expires_at: datetime
    outcome: str | None  # refused: why the platform could not do it
    enterprise: Enterprise | None = None  # a login with an e-license: for which enterprise
    role: str | None = None

    @property
    def decided(self) -> bool:
        return self.state not in ("pending", "scanned")


@dataclass(frozen=True)
class SignedDocument:
    position: int
    name: str
    content: bytes = field(repr=False)
    sha256: str


def _when(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise SdkError("the platform sent a malformed time", code="platform.malformed") from None


def _at(value: object) -> datetime:
    when = _when(value)
    if when is None:
        raise SdkError("the platform sent no time", code="platform.malformed")
    return when


def _request(body: dict[str, Any]) -> SigningRequest:
    try:
        done, total = (int(n) for n in str(body["progress"]).split("/"))
        return SigningRequest(
            id=uuid.UUID(str(body["id"])), title=str(body["title"]), order=str(body["order"]),
            scope=body.get("scope"), reference=body.get("reference"), status=str(body["status"]),
            done=done, total=total, created_at=_at(body["created_at"]),
            expires_at=_at(body["expires_at"]),
            completed_at=_when(body.get("completed_at")),
            steps=tuple(StepStatus(int(s["position"]), str(s["kind"]), str(s["label"]),
                                   str(s["state"]), _when(s.get("done_at")))
                        for s in body["steps"]),
            documents=tuple(DocumentStatus(int(d["position"]), str(d["name"]),
                                           str(d["sha256_original"]), str(d["sha256"]),
                                           int(d["size"])) for d in body["documents"]))
    except (KeyError, TypeError, ValueError):
        raise SdkError("the platform's answer is not a signing request",
                       code="platform.malformed") from None


def _session(body: dict[str, Any]) -> ScanSession:
    try:
        return ScanSession(str(body["id"]), str(body["url"]), str(body["action"]),
                           body.get("binding_code"), _at(body["expires_at"]),
                           str(body["poll_token"]))
    except (KeyError, TypeError):
        raise SdkError("the platform's answer is not a scan session",
                       code="platform.malformed") from None


class PlatformClient:
    """The platform's API as one business system sees it (HTTP Basic with its client id and
    secret). Errors are ``SdkError`` with the platform's problem ``code`` (docs/errors.md)."""

    def __init__(self, base_url: str, *, client_id: str, client_secret: str,
                 http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._http = http or new_client(DEFAULT_TIMEOUT + MAX_WAIT)
        self._auth = httpx.BasicAuth(client_id, client_secret)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return send(self._http, method, f"{self.base_url}/api/v1{path}", auth=self._auth,
                    **kwargs)

    def create_request(self, title: str, documents: Sequence[Document], steps: Sequence[Step],
                       *, parallel: bool = False, scope: str | None = None,
                       reference: str | None = None) -> SigningRequest:
        """Hand over the PDFs and say what must happen to them: seals to apply, persons to
        sign, in order (or in any order with ``parallel``)."""
        body: dict[str, Any] = {
            "title": title, "order": "parallel" if parallel else "sequential",
            "documents": [{"name": d.name, "content": base64.b64encode(d.content).decode()}
                          for d in documents],
            "steps": [s.wire() for s in steps]}
        if scope is not None:
            body["scope"] = scope
        if reference is not None:
            body["reference"] = reference
        return _request(json_object(self._send("POST", "/signing-requests", json=body),
                                    "the created request"))

    def get_request(self, request_id: uuid.UUID | str) -> SigningRequest:
        """Status and progress (only this business system's own requests exist for it)."""
        return _request(json_object(self._send("GET", f"/signing-requests/{request_id}"),
                                    "the request"))

    def cancel_request(self, request_id: uuid.UUID | str) -> SigningRequest:
        return _request(json_object(self._send("POST", f"/signing-requests/{request_id}/cancel"),
                                    "the request"))

    def open_step(self, request_id: uuid.UUID | str, step: int | None = None) -> ScanSession:
        """A QR code for one step (by default the first that can be carried out now), valid
        for the platform's scan-session lifetime (at most 120 s): ask again for a new one."""
        return _session(json_object(self._send(
            "POST", f"/signing-requests/{request_id}/scan-sessions",
            json={} if step is None else {"step": step}), "the scan session"))

    def qr_url(self, request_id: uuid.UUID | str, step: int | None = None) -> str:
        """Just the URL for a step's QR code (``open_step`` also gives the poll token)."""
        return self.open_step(request_id, step).url

    def open_scan_session(self, action: str, *, documents: Sequence[tuple[str, str]] = (),
                          scope: str | None = None) -> ScanSession:
        """A bare scan session: ``login``, or ``stamp``/``sign`` as a confirmation of documents
        (name, hex SHA-256) the business system handles itself."""
        body: dict[str, Any] = {"action": action,
                                "documents": [{"name": n, "sha256": h} for n, h in documents]}
        if scope is not None:
            body["scope"] = scope
        return _session(json_object(self._send("POST", "/scan-sessions", json=body),
                                    "the scan session"))

    def scan_result(self, session: ScanSession | str, *, poll_token: str | None = None,
                    wait: int = 0) -> ScanResult:
        """The session's state as the screen may know it: ``session`` as opened, or its id with
        the ``poll_token`` kept from then. With ``wait`` (at most 25 s) the platform answers
        when the state changes or when the time is up."""
        if isinstance(session, ScanSession):
            session_id, token = session.id, poll_token or session.poll_token
        else:
            session_id, token = session, poll_token or ""
        if not token:
            raise SdkError("a scan result is only for the holder of the poll token",
                           code="request.poll_token")
        body = json_object(self._send(
            "GET", f"/scan-sessions/{session_id}/result",
            params={"wait": max(0, min(wait, MAX_WAIT))},
            headers={"x-poll-token": token}), "the scan result")
        try:
            raw = body.get("enterprise")
            enterprise = Enterprise(str(raw["uscc"]), str(raw.get("name") or "")) \
                if isinstance(raw, dict) else None
            person = body.get("person_id")
            return ScanResult(str(body["state"]), uuid.UUID(str(person)) if person else None,
                              _when(body.get("decided_at")),
                              _at(body["expires_at"]),
                              body.get("outcome"), enterprise, body.get("role"))
        except (KeyError, TypeError, ValueError):
            raise SdkError("the platform's answer is not a scan result",
                           code="platform.malformed") from None

    def download(self, request_id: uuid.UUID | str, position: int) -> SignedDocument:
        """Document ``position`` (from 1) with every signature made so far; its SHA-256 is
        checked against the platform's ``X-Document-SHA256``."""
        view = self.get_request(request_id)
        found = next((d for d in view.documents if d.position == position), None)
        if found is None:
            raise SdkError(f"the request has documents 1 to {len(view.documents)}",
                           code="signing_request.document_not_found", status=404)
        response = self._send("GET", f"/signing-requests/{request_id}/documents/{position}")
        digest = hashlib.sha256(response.content).hexdigest()
        given = response.headers.get("x-document-sha256", "")
        if not hmac.compare_digest(digest, given):
            raise SdkError("the document received is not the one the platform described",
                           code="platform.digest")
        return SignedDocument(position, found.name, response.content, digest)

    def download_all(self, request_id: uuid.UUID | str) -> list[SignedDocument]:
        view = self.get_request(request_id)
        return [self.download(request_id, d.position) for d in view.documents]

    def close(self) -> None:
        self._http.close()
