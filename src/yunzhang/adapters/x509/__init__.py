"""The CertificateFactory: X.509 certificates and CRLs (RFC 5280), OCSP answers (RFC 6960) and
PKCS #10 requests (RFC 2986), built with asn1crypto and signed through the KeyStore.

``cryptography``'s builders need the private key in hand, and CA keys may be in an HSM; so each
structure is assembled here, its DER to-be-signed part handed to ``KeyStore.sign`` and the
signature put in place. ``cryptography`` only reads and checks requests.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from yunzhang.adapters.x509 import certificates, crl, csr, ocsp
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import CertificateRequest, CrlRequest, CsrInfo, SerialStatus
from yunzhang.services.ports import KeyStore

__all__ = ["X509Factory"]


class X509Factory:
    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def issue(self, request: CertificateRequest) -> bytes:
        return certificates.issue(request, self._keys)

    def crl(self, request: CrlRequest) -> bytes:
        return crl.crl(request, self._keys)

    def read_csr(self, data: bytes) -> CsrInfo:
        return csr.read_csr(data)

    def public_key(self, certificate: bytes) -> bytes:
        return x509.load_der_x509_certificate(certificate).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def ocsp_serials(self, request: bytes) -> list[int]:
        return ocsp.serials(request)

    def ocsp_response(self, request: bytes, *, issuer_certificate: bytes, issuer_key_id: str,
                      issuer_algorithm: KeyAlgorithm, statuses: dict[int, SerialStatus],
                      at: datetime, next_update: datetime) -> bytes:
        return ocsp.response(request, keys=self._keys, issuer_certificate=issuer_certificate,
                             issuer_key_id=issuer_key_id, issuer_algorithm=issuer_algorithm,
                             statuses=statuses, at=at, next_update=next_update)

    def malformed_ocsp_response(self) -> bytes:
        return ocsp.malformed()
