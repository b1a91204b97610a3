"""The wallet's side of the protocol (docs/scan-sessions.md), over HTTP with httpx: enrol this
device for an account, read a scan session, check that the platform's digest is the one of
what is shown, and answer with steps signed by the device key. The messages it signs are the
domain's (domain.devices, domain.scan_sessions), computed here from what was displayed."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from yunzhang.domain.devices import enrollment_message
from yunzhang.domain.handwriting import binding_message
from yunzhang.domain.scan_sessions import WalletStep, shown_digest, step_message
from yunzhang.wallet.store import WalletError, WalletStore

def signed_step(view: dict[str, Any], step: str) -> bytes:
    """What the device key signs to take ``step`` on the session as shown."""
    return step_message(WalletStep(step), view["id"], view["nonce"], shown_digest(view))


@dataclass(frozen=True)
class ScanRequest:
    """A session as the wallet shows it, its digest checked."""

    view: dict[str, Any]

    def lines(self) -> list[str]:
        """Everything the person must see before answering (DESIGN.md: who, what, from where)."""
        v = self.view
        shown = [f"business system: {v['business_system_name']} ({v['business_system']})",
                 f"asks to:         {v['action']}" + (f" for {v['scope']}" if v["scope"] else "")]
        if v.get("subject"):
            shown.append(f"what:            {v['subject']}")
        shown += [f"document:        {d['name']}  SHA-256 {d['sha256']}" for d in v["documents"]]
        if v["binding_code"]:
            shown.append(f"binding code:    {v['binding_code']}  (the screen must show the same)")
        shown += [f"requested from:  {v['requester_ip'] or '?'}  {v['requester_agent'] or ''}",
                  f"requested at:    {v['created_at']}, valid until {v['expires_at']}",
                  f"state:           {v['state']}"]
        return shown


@dataclass(frozen=True)
class Holding:
    kind: str  # license, grant, seal
    enterprise: str
    what: str
    colour: str  # red: usable now; grey: not now
    why: str = ""

    def line(self) -> str:
        return f"{self.kind:<8} {self.colour:<5} {self.enterprise}  {self.what}" + (
            f"  ({self.why})" if self.why else "")


class WalletClient:
    def __init__(self, store: WalletStore, http: httpx.Client) -> None:
        self.store, self.http = store, http

    def enroll(self, *, phone: str, password: str, license_password: str,
               name: str = "yunzhang wallet") -> str:
        """Log in to the account, enrol this device's key with proof of possession; the device
        id is kept in the wallet."""
        key = self.store.unlock(license_password)
        login = self._ok(self.http.post("/api/v1/sessions",
                                        json={"phone": phone, "password": password}))
        me = self._ok(self.http.get("/api/v1/me"))
        public = self.store.public_key()
        proof = key.sign(enrollment_message(uuid.UUID(str(me["id"])), public),
                         ec.ECDSA(hashes.SHA256()))
        device = self._ok(self.http.post(
            "/api/v1/me/devices", headers={"X-CSRF-Token": login["csrf_token"]},
            json={"name": name, "public_key": base64.b64encode(public).decode(),
                  "proof": base64.b64encode(proof).decode()}))
        self.store.set_device_id(str(device["id"]))
        if me.get("verification_level") == "identity+liveness":
            self._certify(license_password, login["csrf_token"])
        return str(device["id"])

    def certify(self, *, phone: str, password: str, license_password: str) -> str:
        """Have the platform's person CA certify the person-signing key (a PKCS #10 request
        signed by it); the certificate is kept in the wallet. Its serial (hex)."""
        login = self._ok(self.http.post("/api/v1/sessions",
                                        json={"phone": phone, "password": password}))
        return self._certify(license_password, login["csrf_token"])

    def _certify(self, license_password: str, csrf_token: str) -> str:
        key = self.store.unlock_signing(license_password)
        request = (x509.CertificateSigningRequestBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                               "yunzhang wallet")]))
                   .sign(key, hashes.SHA256()))
        issued = self._ok(self.http.post(
            "/api/v1/me/certificates", headers={"X-CSRF-Token": csrf_token},
            json={"csr": request.public_bytes(serialization.Encoding.PEM).decode()}))
        self.store.set_certificate(x509.load_pem_x509_certificate(
            str(issued["pem"]).encode()).public_bytes(serialization.Encoding.DER))
        return str(issued["serial"])

    def read(self, url_or_id: str) -> ScanRequest:
        """The session a QR code's URL (…/s/<id>) names, after checking its digest."""
        session_id = urlsplit(url_or_id).path.rstrip("/").rsplit("/", 1)[-1] or url_or_id
        view = self._ok(self.http.get(f"/api/v1/scan-sessions/{session_id}"))
        try:
            matches = shown_digest(view) == view["digest"]
        except (KeyError, TypeError):
            matches = False
        if not matches:
            raise WalletError("the platform's digest is not the one of what is shown; not "
                              "answering", code="wallet.digest")
        return ScanRequest(view)

    def answer(self, request: ScanRequest, step: str, *, license_password: str,
               document_signatures: list[bytes] | None = None) -> str:
        """``scan``, ``confirm`` or ``deny``, signed by the device key; the new state."""
        return str(self._answer(request, step, license_password=license_password,
                                document_signatures=document_signatures)["state"])

    def scan(self, request: ScanRequest, *, license_password: str) -> list[bytes]:
        """Scan; for a signature step, what the person-signing key must sign (per document)."""
        answer = self._answer(request, "scan", license_password=license_password)
        return [base64.b64decode(t) for t in answer.get("to_sign", [])]

    def confirm(self, request: ScanRequest, *, license_password: str,
                to_sign: list[bytes] | None = None) -> str:
        """Confirm; a signature step's documents are signed here, with the person-signing key
        (the platform only ever sees the signatures)."""
        signatures = None
        if to_sign:
            key = self.store.unlock_signing(license_password)
            signatures = [key.sign(data, ec.ECDSA(hashes.SHA256())) for data in to_sign]
        return self.answer(request, "confirm", license_password=license_password,
                           document_signatures=signatures)

    def _answer(self, request: ScanRequest, step: str, *, license_password: str,
                document_signatures: list[bytes] | None = None) -> dict[str, Any]:
        device_id = self.store.device_id()
        if device_id is None:
            raise WalletError("this wallet is not enrolled; run `yunzhang wallet enroll`",
                              code="wallet.not_enrolled")
        key = self.store.unlock(license_password)
        signature = key.sign(signed_step(request.view, step), ec.ECDSA(hashes.SHA256()))
        body: dict[str, Any] = {"device_id": device_id,
                                "signature": base64.b64encode(signature).decode()}
        if document_signatures:
            body["document_signatures"] = [base64.b64encode(s).decode()
                                           for s in document_signatures]
        return self._ok(self.http.post(f"/api/v1/scan-sessions/{request.view['id']}/{step}",
                                       json=body))

    def set_handwriting(self, picture: bytes, *, phone: str, password: str,
                        license_password: str) -> dict[str, Any]:
        """Upload the handwritten signature (手写签名), bound to this wallet's person certificate by
        the person-signing key's signature of the picture's digest."""
        der = self.store.certificate()
        if der is None:
            raise WalletError("this wallet has no person certificate yet; run "
                              "`yunzhang wallet certify`", code="wallet.not_certified")
        serial = format(x509.load_der_x509_certificate(der).serial_number, "x")
        key = self.store.unlock_signing(license_password)
        proof = key.sign(binding_message(serial, hashlib.sha256(picture).hexdigest()),
                         ec.ECDSA(hashes.SHA256()))
        login = self._ok(self.http.post("/api/v1/sessions",
                                        json={"phone": phone, "password": password}))
        return self._ok(self.http.put(
            "/api/v1/me/handwriting", headers={"X-CSRF-Token": login["csrf_token"]},
            json={"picture": base64.b64encode(picture).decode(), "certificate_serial": serial,
                  "proof": base64.b64encode(proof).decode()}))

    def holdings(self, *, phone: str, password: str,
                 now: datetime | None = None) -> list[Holding]:
        """What the person holds, as the wallet lists it (seeds 001/002): roles in enterprises
        (执照), their own grants (授权) and the enterprises' seals (印章), each red (usable now)
        or grey (not now, and why)."""
        at = now or datetime.now(UTC)
        self._ok(self.http.post("/api/v1/sessions", json={"phone": phone, "password": password}))
        me = self._ok(self.http.get("/api/v1/me"))
        found: list[Holding] = []
        for m in self._list(self.http.get("/api/v1/me/memberships")):
            place = f"{m['enterprise_name']} ({m['uscc']})"
            found.append(Holding("license", place, str(m["role"] or "linked"),
                                 "red" if m["role"] else "grey", "" if m["role"] else "no role"))
            listing = self._ok(self.http.get(f"/api/v1/enterprises/{m['uscc']}/grants"))
            for g in [*listing["grants"], *listing["seal_grants"]]:
                if g["grantee_id"] != me["id"]:
                    continue
                what = ", ".join(g.get("scopes") or []) or ("all business" if g.get("kind") ==
                                                           "all_business" else
                                                           f"seal in {g.get('business_system')}")
                start, end = (datetime.fromisoformat(g[k]) for k in ("starts_at", "ends_at"))
                why = ("revoked" if g["status"] != "active" else "not yet valid" if at < start
                       else "expired" if at >= end else "")
                found.append(Holding("grant", place, f"{what}  {g['starts_at']} .. "
                                     f"{g['ends_at']}", "grey" if why else "red", why))
            for seal in self._list(self.http.get(f"/api/v1/enterprises/{m['uscc']}/seals")):
                colour = str(seal["colour"])
                found.append(Holding("seal", place, f"{seal['name']} ({seal['type']})",
                                     "red" if colour == "red" else "grey",
                                     "" if colour == "red" else str(seal["status"])))
        return found

    def _list(self, response: httpx.Response) -> list[dict[str, Any]]:
        if response.is_success:
            body: list[dict[str, Any]] = response.json()
            return body
        self._ok(response)  # raises the platform's refusal
        return []

    @staticmethod
    def _ok(response: httpx.Response) -> dict[str, Any]:
        if response.is_success:
            body: dict[str, Any] = response.json()
            return body
        try:
            problem = response.json()
            detail, code = str(problem["detail"]), str(problem["code"])
        except (ValueError, KeyError, TypeError):
            detail, code = f"HTTP {response.status_code}", "wallet.http"
        raise WalletError(f"the platform refused: {detail}", code=code)
