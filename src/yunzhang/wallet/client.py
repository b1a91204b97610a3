"""The wallet's side of the protocol (docs/scan-sessions.md), over HTTP with httpx: enrol this
device for an account, read a scan session, check that the platform's digest is the one of
what is shown, and answer with steps signed by the device key. The messages it signs are the
domain's (domain.devices, domain.scan_sessions), computed here from what was displayed."""

from __future__ import annotations

import base64
import hashlib
import re
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

from yunzhang.adapters.jose import EcJose, b64url_decode
from yunzhang.domain.devices import enrollment_message
from yunzhang.domain.licenses import CREDENTIAL_TYPE as LICENSE_TYPE
from yunzhang.errors import YunzhangError
from yunzhang.domain.handwriting import binding_message
from yunzhang.domain.scan_sessions import WalletStep, shown_digest, step_message
from yunzhang.wallet.store import WalletError, WalletStore

_SESSION_ID = re.compile(r"(?P<id>[A-Za-z0-9_-]{22,64})")
_QR_PATH = re.compile(r"/s/(?P<id>[A-Za-z0-9_-]{22,64})")


def signed_step(view: dict[str, Any], step: str, license_id: str | None = None) -> bytes:
    """What the device key signs to take ``step`` on the session as shown (a login confirmed
    with an e-license names it)."""
    return step_message(WalletStep(step), view["id"], view["nonce"], shown_digest(view),
                        license_id)


def _jwk_der(jwk: dict[str, Any]) -> bytes:
    """The DER SubjectPublicKeyInfo of a public EC P-256 JWK (RFC 7518 §6.2.1)."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise WalletError("the platform published a key that is not EC P-256",
                          code="wallet.license")
    x, y = (int.from_bytes(b64url_decode(str(jwk[k])), "big") for k in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class HeldLicense:
    """An e-license (电子营业执照) in the wallet, as the platform signed it."""

    credential: str
    claims: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.claims["jti"])

    @property
    def uscc(self) -> str:
        return str(self.claims["enterprise"]["uscc"])

    def window(self) -> tuple[datetime, datetime]:
        return (datetime.fromtimestamp(int(self.claims["nbf"]), UTC),
                datetime.fromtimestamp(int(self.claims["exp"]), UTC))

    def problem(self, at: datetime) -> str:
        """Why it cannot be used at ``at`` ("" when it can)."""
        start, end = self.window()
        if at < start:
            return f"not yet valid: from {start:%Y-%m-%d %H:%M} UTC"
        if at >= end:
            return f"expired {end:%Y-%m-%d %H:%M} UTC"
        return ""

    def holding(self, at: datetime) -> Holding:
        why = self.problem(at)
        start, end = self.window()
        return Holding("license", f"{self.claims['enterprise']['name']} ({self.uscc})",
                       f"{self.claims['role']}  {start:%Y-%m-%d} .. {end:%Y-%m-%d}",
                       "grey" if why else "red", why)


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
    kind: str  # license, role, grant, seal
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
        """The session a QR code's URL (<platform>/s/<id>) names, after checking its digest.
        A URL of another origin or shape is not opened: a copied or altered QR code must not
        make the wallet talk about someone else's session (QRLJacking)."""
        view = self._ok(self.http.get(f"/api/v1/scan-sessions/{self._session_id(url_or_id)}"))
        try:
            matches = shown_digest(view) == view["digest"]
        except (KeyError, TypeError):
            matches = False
        if not matches:
            raise WalletError("the platform's digest is not the one of what is shown; not "
                              "answering", code="wallet.digest")
        return ScanRequest(view)

    def _session_id(self, url_or_id: str) -> str:
        text = url_or_id.strip()
        if "://" not in text:
            found = _SESSION_ID.fullmatch(text)
        else:
            url, own = urlsplit(text), urlsplit(self.store.server())
            same_origin = (url.scheme, url.netloc.lower()) == (own.scheme, own.netloc.lower())
            prefix = own.path.rstrip("/")  # a platform served under a path of its own
            found = _QR_PATH.fullmatch(url.path[len(prefix):]) if same_origin \
                and url.path.startswith(prefix + "/s/") and not (url.query or url.fragment) \
                else None
        if found is None:
            raise WalletError(f"{text[:80]!r} is not a QR code of {self.store.server()}; not "
                              f"opening it", code="wallet.foreign_url")
        return found.group("id")

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
                to_sign: list[bytes] | None = None, license: str | None = None,
                now: datetime | None = None) -> str:
        """Confirm; a signature step's documents are signed here, with the person-signing key
        (the platform only ever sees the signatures). A login is confirmed with the e-license
        held for the enterprise ``license`` (a USCC), or as a natural person without one."""
        signatures = None
        if to_sign:
            key = self.store.unlock_signing(license_password)
            signatures = [key.sign(data, ec.ECDSA(hashes.SHA256())) for data in to_sign]
        held = self.license_for(license, now=now) if license is not None else None
        return str(self._answer(request, "confirm", license_password=license_password,
                                document_signatures=signatures,
                                license_id=held.id if held else None)["state"])

    def license_for(self, uscc: str, *, now: datetime | None = None) -> HeldLicense:
        """The license held for ``uscc``, if it may be used now (seed 002 §2.3: one whose
        window has not begun is held, not used)."""
        found = [h for h in self.held_licenses() if h.uscc == uscc.strip().upper()]
        if not found:
            raise WalletError(f"this wallet holds no license of {uscc[:18]}; run `yunzhang "
                              f"wallet license {uscc[:18]}`", code="wallet.no_license")
        problem = found[0].problem(now or datetime.now(UTC))
        if problem:
            raise WalletError(f"the license of {uscc[:18]} cannot be used: {problem}",
                              code="wallet.license_unusable")
        return found[0]

    def held_licenses(self) -> list[HeldLicense]:
        return [HeldLicense(str(h["credential"]), dict(h["claims"]))
                for h in self.store.licenses()]

    def download_license(self, uscc: str, *, phone: str, password: str) -> HeldLicense:
        """Download the enterprise's e-license bound to this wallet's device key, check the
        platform's signature and the binding, and keep it."""
        device_id = self.store.device_id()
        if device_id is None:
            raise WalletError("this wallet is not enrolled; run `yunzhang wallet enroll`",
                              code="wallet.not_enrolled")
        login = self._ok(self.http.post("/api/v1/sessions",
                                        json={"phone": phone, "password": password}))
        issued = self._ok(self.http.post(
            "/api/v1/me/licenses", headers={"X-CSRF-Token": login["csrf_token"]},
            json={"uscc": uscc, "device_id": device_id}))
        keys = self._ok(self.http.get("/api/v1/licenses/jwks"))
        jose = EcJose()
        try:
            header, claims = jose.decode(str(issued["credential"]),
                                         {str(k["kid"]): _jwk_der(k) for k in keys["keys"]})
        except YunzhangError as exc:
            raise WalletError(f"the license does not verify: {exc.detail}",
                              code="wallet.license") from None
        if header.get("typ") != LICENSE_TYPE or claims.get("jti") != str(issued["id"]) \
                or claims.get("cnf", {}).get("jkt") != jose.jwk(self.store.public_key())["kid"]:
            raise WalletError("the license is not one bound to this wallet's key",
                              code="wallet.license")
        self.store.keep_license(str(issued["credential"]), claims)
        return HeldLicense(str(issued["credential"]), claims)

    def register(self, *, phone: str, password: str, sms_code: str) -> str:
        """Register the account (the code came by SMS: ask with ``request_code``)."""
        person = self._ok(self.http.post("/api/v1/persons", json={
            "phone": phone, "password": password, "sms_code": sms_code}))
        return str(person["id"])

    def request_code(self, phone: str) -> None:
        self._ok(self.http.post("/api/v1/sms-codes", json={"phone": phone}))

    def verify_person(self, *, phone: str, password: str, name: str, id_number: str,
                      face_image: bytes) -> str:
        """实名认证 then 实人认证 (name and resident ID number, then a live face); the level."""
        login = self._ok(self.http.post("/api/v1/sessions",
                                        json={"phone": phone, "password": password}))
        headers = {"X-CSRF-Token": login["csrf_token"]}
        self._ok(self.http.post("/api/v1/me/identity", headers=headers,
                                json={"name": name, "id_number": id_number}))
        done = self._ok(self.http.post("/api/v1/me/liveness", headers=headers, json={
            "id_number": id_number, "face_image": base64.b64encode(face_image).decode()}))
        return str(done["verification_level"])

    def _answer(self, request: ScanRequest, step: str, *, license_password: str,
                document_signatures: list[bytes] | None = None,
                license_id: str | None = None) -> dict[str, Any]:
        device_id = self.store.device_id()
        if device_id is None:
            raise WalletError("this wallet is not enrolled; run `yunzhang wallet enroll`",
                              code="wallet.not_enrolled")
        key = self.store.unlock(license_password)
        signature = key.sign(signed_step(request.view, step, license_id),
                             ec.ECDSA(hashes.SHA256()))
        body: dict[str, Any] = {"device_id": device_id,
                                "signature": base64.b64encode(signature).decode()}
        if license_id is not None:
            body["license_id"] = license_id
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
        """What the person holds, as the wallet lists it (seeds 001/002): the e-licenses in this
        wallet (执照), roles in enterprises, their own grants (授权) and the enterprises' seals
        (印章), each red (usable now) or grey (not now, and why)."""
        at = now or datetime.now(UTC)
        self._ok(self.http.post("/api/v1/sessions", json={"phone": phone, "password": password}))
        me = self._ok(self.http.get("/api/v1/me"))
        found = [held.holding(at) for held in self.held_licenses()]
        for m in self._list(self.http.get("/api/v1/me/memberships")):
            place = f"{m['enterprise_name']} ({m['uscc']})"
            found.append(Holding("role", place, str(m["role"] or "linked"),
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
