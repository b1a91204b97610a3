"""X.509 v3 certificates (RFC 5280 §4) of the platform's profiles, signed through the KeyStore."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import keys as akeys  # type: ignore[import-untyped]
from asn1crypto import x509 as ax

from yunzhang.adapters.x509.encoding import (
    key_identifier,
    name,
    sign,
    signature_algorithm,
    uri,
    x509_time,
)
from yunzhang.domain.pki import CertificateRequest, Profile
from yunzhang.services.ports import KeyStore

DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"  # id-kp-documentSigning, RFC 9336


@dataclass(frozen=True)
class _Shape:
    """What a profile puts in its certificates (docs/pki.md)."""

    key_usage: frozenset[str]
    purposes: tuple[str, ...] = ()  # extended key usage; absent when empty
    purposes_critical: bool = False
    ca: bool = False
    path_length: int | None = None


_SIGNING = frozenset({"digital_signature", "non_repudiation"})
_CA = frozenset({"key_cert_sign", "crl_sign"})

SHAPES: dict[Profile, _Shape] = {
    Profile.ROOT: _Shape(_CA, ca=True),
    Profile.ISSUING_CA: _Shape(_CA, ca=True, path_length=0),
    # RFC 3161 §2.3: timeStamping is the only purpose of a TSA certificate, and critical.
    Profile.TSA: _Shape(_SIGNING, ("time_stamping",), purposes_critical=True),
    Profile.ENTERPRISE: _Shape(_SIGNING, ("client_auth", DOCUMENT_SIGNING)),
    Profile.SEAL: _Shape(_SIGNING, (DOCUMENT_SIGNING,)),
    Profile.PERSON: _Shape(_SIGNING, ("client_auth", DOCUMENT_SIGNING)),
}


def _extension(extn_id: str, value: Any, *, critical: bool = False) -> dict[str, Any]:
    return {"extn_id": extn_id, "critical": critical, "extn_value": value}


def _extensions(request: CertificateRequest, subject_key_id: bytes,
                issuer_key_id: bytes) -> list[dict[str, Any]]:
    shape = SHAPES[request.profile]
    constraints: dict[str, Any] = {"ca": shape.ca}
    if shape.path_length is not None:
        constraints["path_len_constraint"] = shape.path_length
    # §4.2.1.9: basicConstraints MUST be critical in CA certificates; end-entity ones mark it too.
    # §4.2.1.3: keyUsage SHOULD be critical.
    extensions = [
        _extension("basic_constraints", constraints, critical=True),
        _extension("key_usage", set(shape.key_usage), critical=True),
        _extension("key_identifier", subject_key_id),
        _extension("authority_key_identifier", {"key_identifier": issuer_key_id}),
    ]
    if shape.purposes:
        extensions.append(_extension("extended_key_usage", list(shape.purposes),
                                     critical=shape.purposes_critical))
    if request.crl_url:
        extensions.append(_extension("crl_distribution_points", [
            {"distribution_point": {"full_name": [uri(request.crl_url)]}}]))
    access = []
    if request.ocsp_url:
        access.append({"access_method": "ocsp", "access_location": uri(request.ocsp_url)})
    if request.ca_issuers_url:
        access.append({"access_method": "ca_issuers",
                       "access_location": uri(request.ca_issuers_url)})
    if access:
        extensions.append(_extension("authority_information_access", access))
    return extensions


def issue(request: CertificateRequest, keys: KeyStore) -> bytes:
    spki = akeys.PublicKeyInfo.load(request.public_key)
    subject = name(request.subject)
    subject_key_id: bytes = spki.sha1  # §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits
    if request.issuer_certificate is None:  # the self-signed root
        issuer, issuer_key_id = subject, subject_key_id
    else:
        parent = ax.Certificate.load(request.issuer_certificate)
        # The issuer's subject as it is encoded there, byte for byte (§4.1.2.4, §7.1 name
        # chaining): asn1crypto dumps a parsed value unchanged.
        issuer, issuer_key_id = parent.subject, key_identifier(parent)
    algorithm = signature_algorithm(request.issuer_algorithm)
    tbs = ax.TbsCertificate({
        "version": "v3",
        "serial_number": request.serial,
        "signature": algorithm,
        "issuer": issuer,
        "validity": {"not_before": x509_time(request.not_before),
                     "not_after": x509_time(request.not_after)},
        "subject": subject,
        "subject_public_key_info": spki,
        "extensions": _extensions(request, subject_key_id, issuer_key_id),
    })
    certificate = ax.Certificate({"tbs_certificate": tbs, "signature_algorithm": algorithm,
                                  "signature_value": sign(keys, request.issuer_key_id, tbs)})
    der: bytes = certificate.dump()
    return der
