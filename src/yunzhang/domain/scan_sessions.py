"""Scan sessions (扫码会话): a business system asks for something (log in, stamp, sign, bind), the
person scans the QR code with the wallet, checks what is asked, and confirms or denies.

The rules of DESIGN.md's "Scan sessions": a >= 128-bit random id, an expiry of at most 120 s,
single use, states pending -> scanned -> confirmed | denied | expired, the result only for the
screen that holds the poll token, every wallet step signed by a registered device key over the
session's nonce and a digest of exactly what was shown, and a binding code shown on both sides
for stamp and sign (OpenID CIBA's binding_message; RFC 10027 cross-device security).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from yunzhang.errors import Conflict, InvalidInput, PermissionDenied

MAX_LIFETIME = timedelta(seconds=120)
MAX_DOCUMENTS = 20
SIGNED_PREFIX = b"yunzhang-scan-v1"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ScanAction(StrEnum):
    LOGIN = "login"
    STAMP = "stamp"
    SIGN = "sign"
    BIND = "bind"  # associate the enterprise certificate or a seal with an account there
    UNBIND = "unbind"

    @property
    def carries_documents(self) -> bool:
        return self in (ScanAction.STAMP, ScanAction.SIGN)


class ScanState(StrEnum):
    PENDING = "pending"
    SCANNED = "scanned"
    CONFIRMED = "confirmed"
    DENIED = "denied"
    REFUSED = "refused"  # the person confirmed; the platform refused to do it (``outcome`` says why)
    EXPIRED = "expired"


class WalletStep(StrEnum):
    """What a wallet's signed request does to a session."""

    SCAN = "scan"
    CONFIRM = "confirm"
    DENY = "deny"


@dataclass(frozen=True)
class ScanDocument:
    name: str
    sha256: str

    @classmethod
    def parse(cls, name: str, sha256: str) -> ScanDocument:
        text = " ".join(name.split())
        if not text or len(text) > 200:
            raise InvalidInput("a document name has 1 to 200 characters", code="scan.document")
        digest = sha256.strip().lower()
        if not _SHA256.fullmatch(digest):
            raise InvalidInput(f"the SHA-256 of {text[:50]!r} is not 64 hex digits",
                               code="scan.document")
        return cls(text, digest)


SHOWN = ("id", "business_system", "action", "subject", "documents", "scope", "binding_code",
         "expires_at")
MAX_SUBJECT = 400


def shown_digest(shown: dict[str, object]) -> str:
    """SHA-256 (hex) of the canonical JSON of what the wallet shows: the keys of SHOWN, sorted,
    no spaces, UTF-8; the wallet computes it from what it displayed (docs/scan-sessions.md)."""
    canonical = json.dumps({k: shown[k] for k in SHOWN}, ensure_ascii=False, sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def step_message(step: WalletStep, session_id: str, nonce: str, digest: str,
                 license_id: str | None = None) -> bytes:
    """The bytes a wallet's device key signs for one step of one session; a login confirmed
    with an e-license names it on a last line, so the signature covers the choice too."""
    lines = [SIGNED_PREFIX, step.value.encode(), session_id.encode(), nonce.encode(),
             digest.encode()]
    if license_id is not None:
        lines.append(b"license:" + license_id.encode())
    return b"\n".join(lines)


def check_request(action: ScanAction, documents: list[ScanDocument]) -> None:
    if action.carries_documents and not documents:
        raise InvalidInput(f"a {action.value} session names the documents (name and SHA-256)",
                           code="scan.documents")
    if not action.carries_documents and documents:
        raise InvalidInput(f"a {action.value} session carries no documents", code="scan.documents")
    if len(documents) > MAX_DOCUMENTS:
        raise InvalidInput(f"at most {MAX_DOCUMENTS} documents", code="scan.documents")


@dataclass(eq=False)
class ScanSession:
    id: str  # >= 128 random bits, URL-safe: what the QR code's URL carries
    business_system: str  # client id
    action: ScanAction
    documents: list[dict[str, str]]  # [{name, sha256}]
    scope: str | None
    subject: str | None  # what precisely: the request's step, or what is bound to which account
    nonce: str  # random; every wallet signature covers it
    binding_code: str | None  # stamp and sign: shown on the screen and in the wallet
    poll_hash: str = field(repr=False)  # keyed hash of the poll token
    requester_ip: str | None
    requester_agent: str | None
    created_at: datetime
    expires_at: datetime
    state: ScanState = ScanState.PENDING
    device_id: uuid.UUID | None = None  # the device that scanned
    person_id: uuid.UUID | None = None
    scanned_at: datetime | None = None
    decided_at: datetime | None = None
    request_step_id: uuid.UUID | None = None  # a step of a stamp/sign request this carries out
    binding_id: uuid.UUID | None = None  # bind: the binding made; unbind: the one to remove
    outcome: str | None = None  # why the platform refused what the person confirmed
    license_id: uuid.UUID | None = None  # login: the e-license it was confirmed with, if any

    def state_at(self, at: datetime) -> ScanState:
        """The state as of ``at``: an undecided session past its expiry is expired."""
        if self.state in (ScanState.PENDING, ScanState.SCANNED) and at >= self.expires_at:
            return ScanState.EXPIRED
        return self.state

    def digest(self) -> str:
        """SHA-256 of what the wallet shows and the person agrees to, canonically encoded; the
        wallet computes it from what it displayed, so a signature covers exactly that."""
        return shown_digest({
            "id": self.id, "business_system": self.business_system, "action": self.action.value,
            "subject": self.subject, "documents": self.documents, "scope": self.scope,
            "binding_code": self.binding_code,
            "expires_at": self.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})

    def signed_message(self, step: WalletStep, license_id: uuid.UUID | None = None) -> bytes:
        """The bytes a wallet's device key signs for ``step`` of this session."""
        return step_message(step, self.id, self.nonce, self.digest(),
                            str(license_id) if license_id is not None else None)

    def scan(self, device_id: uuid.UUID, person_id: uuid.UUID, at: datetime) -> None:
        self._require_open(at)
        if self.state is not ScanState.PENDING:
            raise Conflict("this QR code was already scanned; a session is used once",
                           code="scan.used")
        self.state, self.device_id, self.person_id, self.scanned_at = (
            ScanState.SCANNED, device_id, person_id, at)

    def check_answer(self, device_id: uuid.UUID, at: datetime) -> None:
        """May this device answer now? (Changes nothing but an expired session's state.)"""
        self._require_open(at)
        if self.state is ScanState.PENDING:
            raise Conflict("scan the QR code before confirming", code="scan.not_scanned")
        if self.state is not ScanState.SCANNED:
            raise Conflict(f"this session is already {self.state.value}", code="scan.used")
        if device_id != self.device_id:
            raise PermissionDenied("only the device that scanned the QR code may answer it",
                                   code="scan.other_device")

    def decide(self, device_id: uuid.UUID, approve: bool, at: datetime) -> None:
        self.check_answer(device_id, at)
        self.state = ScanState.CONFIRMED if approve else ScanState.DENIED
        self.decided_at = at

    def refuse(self, reason: str, at: datetime) -> None:
        """The person confirmed, but what was asked could not be done (the decision function
        said no, the seal was revoked, the document changed meanwhile): the session ends."""
        self.state, self.outcome, self.decided_at = ScanState.REFUSED, reason[:500], at

    def _require_open(self, at: datetime) -> None:
        if self.state_at(at) is ScanState.EXPIRED:
            self.state = ScanState.EXPIRED
            raise Conflict(f"this QR code expired at {self.expires_at.isoformat()}; ask for a "
                           f"new one", code="scan.expired")
