"""Certificate revocation lists, v2 (RFC 5280 §5), signed through the KeyStore."""

from __future__ import annotations

from typing import Any

from asn1crypto import crl as acrl  # type: ignore[import-untyped]
from asn1crypto import x509 as ax

from yunzhang.adapters.x509.encoding import (
    REASON_CODES,
    key_identifier,
    sign,
    signature_algorithm,
    x509_time,
)
from yunzhang.domain.pki import CrlRequest, RevokedEntry
from yunzhang.services.ports import KeyStore


def _entry(entry: RevokedEntry) -> dict[str, Any]:
    revoked: dict[str, Any] = {"user_certificate": entry.serial,
                               "revocation_date": x509_time(entry.revoked_at)}
    code = REASON_CODES[entry.reason]
    if code is not None:  # §5.3.1: no reasonCode rather than "unspecified"
        revoked["crl_entry_extensions"] = [
            {"extn_id": "crl_reason", "critical": False, "extn_value": code}]
    return revoked


def crl(request: CrlRequest, keys: KeyStore) -> bytes:
    issuer = ax.Certificate.load(request.issuer_certificate)
    algorithm = signature_algorithm(request.issuer_algorithm)
    fields: dict[str, Any] = {
        "version": "v2",
        "signature": algorithm,
        "issuer": issuer.subject,  # the CA certificate's subject, byte for byte (§5.1.2.3)
        "this_update": x509_time(request.this_update),
        "next_update": x509_time(request.next_update),
        # §5.2.1 and §5.2.3: both MUST be present, neither critical.
        "crl_extensions": [
            {"extn_id": "crl_number", "critical": False, "extn_value": request.number},
            {"extn_id": "authority_key_identifier", "critical": False,
             "extn_value": {"key_identifier": key_identifier(issuer)}},
        ],
    }
    if request.revoked:  # §5.1.2.6: the list is absent, not empty, when nothing is revoked
        fields["revoked_certificates"] = [_entry(entry) for entry in request.revoked]
    tbs = acrl.TbsCertList(fields)
    der: bytes = acrl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": algorithm,
                                       "signature": sign(keys, request.issuer_key_id, tbs)}).dump()
    return der
