"""OCSP (RFC 6960): requests read, BasicOCSPResponses built and signed by the issuing CA's own
key through the KeyStore."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import core, ocsp  # type: ignore[import-untyped]
from asn1crypto import x509 as ax

from yunzhang.adapters.x509.encoding import (
    REASON_CODES,
    sign,
    signature_algorithm,
    whole_seconds,
)
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import SerialStatus
from yunzhang.errors import InvalidInput
from yunzhang.services.ports import KeyStore

NONCE = "1.3.6.1.5.5.7.48.1.2"  # id-pkix-ocsp-nonce, RFC 6960 §4.4.1 / RFC 8954
_ISSUER_HASHES = ("sha1", "sha256")  # what the certID of a request may be computed with


class _RawExtension(core.Sequence):  # type: ignore[misc]
    """An Extension whose value is kept as the octets sent: some clients put a bare nonce in
    extnValue rather than a DER OCTET STRING, and an echo must be exact either way."""

    _fields = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class _RawExtensions(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _RawExtension


@dataclass(frozen=True)
class _Request:
    cert_ids: list[Any]  # asn1crypto CertId, echoed as received
    nonce: bytes | None  # the nonce extension's extnValue octets


def _read(request: bytes) -> _Request:
    try:
        tbs = ocsp.OCSPRequest.load(request, strict=True)["tbs_request"]
        cert_ids = [entry["req_cert"] for entry in tbs["request_list"]]
        for cert_id in cert_ids:  # asn1crypto parses lazily: touch every field now
            _ = (cert_id["hash_algorithm"]["algorithm"].native, cert_id["serial_number"].native,
                 cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native)
        nonce = None
        for extension in tbs["request_extensions"] or []:
            raw = _RawExtension.load(extension.dump())
            if raw["extn_id"].dotted == NONCE:
                nonce = bytes(raw["extn_value"].native)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise InvalidInput("the body is not a DER OCSP request", code="ocsp.malformed") from None
    if not cert_ids:
        raise InvalidInput("the OCSP request asks about no certificate", code="ocsp.malformed")
    return _Request(cert_ids, nonce)


def serials(request: bytes) -> list[int]:
    return [int(cert_id["serial_number"].native) for cert_id in _read(request).cert_ids]


def _is_for(cert_id: Any, issuer: ax.Certificate) -> bool:
    """§4.1.1: issuerNameHash over the DER issuer name, issuerKeyHash over the subjectPublicKey
    bits, both with the hash the requester chose."""
    digest = cert_id["hash_algorithm"]["algorithm"].native
    if digest not in _ISSUER_HASHES:
        return False
    name_hash = hashlib.new(digest, issuer.subject.dump()).digest()
    key_hash = hashlib.new(digest, bytes(issuer.public_key["public_key"])).digest()
    return bool(cert_id["issuer_name_hash"].native == name_hash
                and cert_id["issuer_key_hash"].native == key_hash)


def _status(status: SerialStatus | None) -> ocsp.CertStatus:
    if status is None or not status.known:
        return ocsp.CertStatus(name="unknown", value=core.Null())
    if status.revoked is None:
        return ocsp.CertStatus(name="good", value=core.Null())
    revoked: dict[str, Any] = {"revocation_time": whole_seconds(status.revoked.revoked_at)}
    code = REASON_CODES[status.revoked.reason]
    if code is not None:  # as on the CRL: no reason rather than "unspecified"
        revoked["revocation_reason"] = code
    return ocsp.CertStatus(name="revoked", value=revoked)


def response(request: bytes, *, keys: KeyStore, issuer_certificate: bytes, issuer_key_id: str,
             issuer_algorithm: KeyAlgorithm, statuses: dict[int, SerialStatus], at: datetime,
             next_update: datetime) -> bytes:
    asked = _read(request)
    issuer = ax.Certificate.load(issuer_certificate)
    this_update, until = whole_seconds(at), whole_seconds(next_update)
    responses = []
    for cert_id in asked.cert_ids:
        # A certificate of another issuer is "unknown" here (§2.2), whatever its serial.
        serial = int(cert_id["serial_number"].native)
        status = statuses.get(serial) if _is_for(cert_id, issuer) else None
        responses.append({"cert_id": cert_id, "cert_status": _status(status),
                          "this_update": this_update, "next_update": until})
    data: dict[str, Any] = {
        "responder_id": ocsp.ResponderId(name="by_key", value=issuer.public_key.sha1),  # §4.2.2.3
        "produced_at": this_update,
        "responses": responses,
    }
    if asked.nonce is not None:
        # From the raw octets: asn1crypto's own nonce type would insist on a DER OCTET STRING.
        data["response_extensions"] = ocsp.ResponseDataExtensions.load(
            _RawExtensions([{"extn_id": NONCE, "extn_value": asked.nonce}]).dump())
    tbs = ocsp.ResponseData(data)
    basic = ocsp.BasicOCSPResponse({
        "tbs_response_data": tbs,
        "signature_algorithm": signature_algorithm(issuer_algorithm),
        "signature": sign(keys, issuer_key_id, tbs),
        # The CA answers for itself (§2.6), so clients need no other certificate; its own is
        # included for those that look for the signer in the response.
        "certs": [issuer],
    })
    der: bytes = ocsp.OCSPResponse({
        "response_status": "successful",
        "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
    }).dump()
    return der


def malformed() -> bytes:
    """§2.3: status malformedRequest, no responseBytes, nothing signed."""
    der: bytes = ocsp.OCSPResponse({"response_status": "malformed_request"}).dump()
    return der
