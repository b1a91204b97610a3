"""X.509 certificates and CRLs (RFC 5280), OCSP answers (RFC 6960) and PKCS #10 requests
(RFC 2986), built with asn1crypto and signed through the KeyStore.

``cryptography``'s builders need the private key in hand; CA keys may be in an HSM, so the
structures are assembled here, their DER to-be-signed part handed to ``KeyStore.sign``, and the
signature put in place. ``cryptography`` is used only to read and check requests.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, core, crl, ocsp  # type: ignore[import-untyped]
from asn1crypto import keys as akeys
from asn1crypto import x509 as ax
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import (
    CertificateRequest,
    CrlRequest,
    CsrInfo,
    DistinguishedName,
    Profile,
    SerialStatus,
)
from yunzhang.errors import InvalidInput
from yunzhang.services.ports import KeyStore

MAX_CSR = 64 * 1024
DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"  # RFC 9336
_PRINTABLE = {"country_name", "serial_number", "dn_qualifier"}

# Key usage and extended key usage per profile (docs/pki.md).
_USAGE: dict[Profile, tuple[set[str], list[str]]] = {
    Profile.ROOT: ({"key_cert_sign", "crl_sign"}, []),
    Profile.ISSUING_CA: ({"key_cert_sign", "crl_sign"}, []),
    Profile.TSA: ({"digital_signature", "non_repudiation"}, ["time_stamping"]),
    Profile.ENTERPRISE: ({"digital_signature", "non_repudiation"}, ["client_auth", DOCUMENT_SIGNING]),
    Profile.SEAL: ({"digital_signature", "non_repudiation"}, [DOCUMENT_SIGNING]),
    Profile.PERSON: ({"digital_signature", "non_repudiation"}, ["client_auth", DOCUMENT_SIGNING]),
}


def _signature_algorithm(algorithm: KeyAlgorithm) -> algos.SignedDigestAlgorithm:
    if algorithm is KeyAlgorithm.EC_P256:
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})  # RFC 5758 §3.2: no params
    return algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa", "parameters": core.Null()})


def _time(at: datetime) -> ax.Time:
    """RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds."""
    at = at.astimezone(UTC).replace(microsecond=0)
    return ax.Time(name="utc_time" if at.year < 2050 else "general_time", value=at)


def _gtime(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(microsecond=0)


def name(dn: DistinguishedName) -> ax.Name:
    """A Name with one attribute per RDN, in the order given; UTF8String except the attributes
    X.520 wants printable (country, serial number)."""
    rdns = []
    for attribute, value in dn:
        encoded = ax.DirectoryString(
            name="printable_string" if attribute in _PRINTABLE else "utf8_string", value=value)
        rdns.append(ax.RelativeDistinguishedName([
            ax.NameTypeAndValue({"type": attribute, "value": encoded})]))
    return ax.Name(name="", value=ax.RDNSequence(rdns))


def _uri(url: str) -> ax.GeneralName:
    return ax.GeneralName(name="uniform_resource_identifier", value=url)


class X509Factory:
    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def _sign(self, key_id: str, tbs: Any) -> bytes:
        signature: bytes = self._keys.sign(key_id, tbs.dump())
        return signature

    # --- certificates ------------------------------------------------------------------------

    def issue(self, request: CertificateRequest) -> bytes:
        spki = akeys.PublicKeyInfo.load(request.public_key)
        subject = name(request.subject)
        if request.issuer_certificate is None:
            issuer, issuer_ski = subject, spki.sha1
        else:
            parent = ax.Certificate.load(request.issuer_certificate)
            issuer, issuer_ski = parent.subject, parent.key_identifier or parent.public_key.sha1
        usage, purposes = _USAGE[request.profile]
        is_ca = request.profile in (Profile.ROOT, Profile.ISSUING_CA)
        constraints: dict[str, Any] = {"ca": is_ca}
        if request.profile is Profile.ISSUING_CA:
            constraints["path_len_constraint"] = 0
        extensions: list[dict[str, Any]] = [
            {"extn_id": "basic_constraints", "critical": True, "extn_value": constraints},
            {"extn_id": "key_usage", "critical": True, "extn_value": usage},
            {"extn_id": "key_identifier", "critical": False, "extn_value": spki.sha1},
            {"extn_id": "authority_key_identifier", "critical": False,
             "extn_value": {"key_identifier": issuer_ski}},
        ]
        if purposes:
            # RFC 3161 §2.3: a TSA certificate's EKU is timeStamping alone, and critical.
            extensions.append({"extn_id": "extended_key_usage",
                               "critical": request.profile is Profile.TSA,
                               "extn_value": purposes})
        if request.crl_url:
            extensions.append({"extn_id": "crl_distribution_points", "critical": False,
                               "extn_value": [{"distribution_point": {
                                   "full_name": [_uri(request.crl_url)]}}]})
        access = []
        if request.ocsp_url:
            access.append({"access_method": "ocsp", "access_location": _uri(request.ocsp_url)})
        if request.ca_issuers_url:
            access.append({"access_method": "ca_issuers",
                           "access_location": _uri(request.ca_issuers_url)})
        if access:
            extensions.append({"extn_id": "authority_information_access", "critical": False,
                               "extn_value": access})
        algorithm = _signature_algorithm(request.issuer_algorithm)
        tbs = ax.TbsCertificate({
            "version": "v3", "serial_number": request.serial, "signature": algorithm,
            "issuer": issuer,
            "validity": {"not_before": _time(request.not_before),
                         "not_after": _time(request.not_after)},
            "subject": subject, "subject_public_key_info": spki, "extensions": extensions,
        })
        signature = self._sign(request.issuer_key_id, tbs)
        cert = ax.Certificate({"tbs_certificate": tbs, "signature_algorithm": algorithm,
                               "signature_value": signature})
        der: bytes = cert.dump()
        return der

    # --- CRLs --------------------------------------------------------------------------------

    def crl(self, request: CrlRequest) -> bytes:
        issuer = ax.Certificate.load(request.issuer_certificate)
        algorithm = _signature_algorithm(request.issuer_algorithm)
        fields: dict[str, Any] = {
            "version": "v2", "signature": algorithm, "issuer": issuer.subject,
            "this_update": _time(request.this_update), "next_update": _time(request.next_update),
            "crl_extensions": [
                {"extn_id": "crl_number", "critical": False, "extn_value": request.number},
                {"extn_id": "authority_key_identifier", "critical": False,
                 "extn_value": {"key_identifier": issuer.key_identifier
                                or issuer.public_key.sha1}},
            ],
        }
        if request.revoked:  # RFC 5280 §5.1.2.6: absent when there are none
            fields["revoked_certificates"] = [
                {"user_certificate": entry.serial, "revocation_date": _time(entry.revoked_at),
                 "crl_entry_extensions": [{"extn_id": "crl_reason", "critical": False,
                                           "extn_value": entry.reason.value}]}
                for entry in request.revoked]
        tbs = crl.TbsCertList(fields)
        signature = self._sign(request.issuer_key_id, tbs)
        der: bytes = crl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": algorithm,
                                          "signature": signature}).dump()
        return der

    # --- PKCS #10 ----------------------------------------------------------------------------

    def read_csr(self, data: bytes) -> CsrInfo:
        if not data.strip():
            raise InvalidInput("the certificate request is empty", code="certificate.csr")
        if len(data) > MAX_CSR:
            raise InvalidInput("a certificate request is at most 64 KiB", code="certificate.csr")
        try:
            request = (x509.load_pem_x509_csr(data) if data.lstrip().startswith(b"-----")
                       else x509.load_der_x509_csr(data))
            valid = request.is_signature_valid
            public = request.public_key()
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise InvalidInput("the certificate request is not a PKCS #10 request in PEM or DER",
                               code="certificate.csr") from None
        if not valid:
            raise InvalidInput("the certificate request's signature does not check out with its "
                               "own key (no proof of possession)", code="certificate.csr")
        if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
            algorithm = KeyAlgorithm.EC_P256
        elif isinstance(public, rsa.RSAPublicKey) and public.key_size in (2048, 3072):
            algorithm = KeyAlgorithm.RSA_2048 if public.key_size == 2048 else KeyAlgorithm.RSA_3072
        else:
            kind = type(public).__name__.lstrip("_").replace("PublicKey", "")
            size = getattr(public, "key_size", "")
            raise InvalidInput(f"the request's key ({kind} {size}) is refused: use an EC P-256 or "
                               f"an RSA 2048/3072 key", code="certificate.csr")
        names = request.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        common = names[0].value if names else None
        return CsrInfo(
            public_key=public.public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo),
            algorithm=algorithm, common_name=common if isinstance(common, str) else None)

    # --- OCSP --------------------------------------------------------------------------------

    def _requests(self, request: bytes) -> tuple[list[Any], Any]:
        try:
            parsed = ocsp.OCSPRequest.load(request)
            tbs = parsed["tbs_request"]
            entries = [entry["req_cert"] for entry in tbs["request_list"]]
            for cert_id in entries:
                _ = (cert_id["hash_algorithm"]["algorithm"].native, cert_id["serial_number"].native,
                     cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native)
            nonce = None
            for extension in tbs["request_extensions"] or []:
                if extension["extn_id"].native == "nonce":
                    nonce = extension["extn_value"].parsed
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise InvalidInput("not a DER OCSP request", code="ocsp.malformed") from None
        if not entries:
            raise InvalidInput("the OCSP request asks about no certificate", code="ocsp.malformed")
        return entries, nonce

    def ocsp_serials(self, request: bytes) -> list[int]:
        entries, _ = self._requests(request)
        return [int(cert_id["serial_number"].native) for cert_id in entries]

    def ocsp_response(self, request: bytes, *, issuer_certificate: bytes, issuer_key_id: str,
                      issuer_algorithm: KeyAlgorithm, statuses: dict[int, SerialStatus],
                      at: datetime, next_update: datetime) -> bytes:
        entries, nonce = self._requests(request)
        issuer = ax.Certificate.load(issuer_certificate)
        responses = []
        for cert_id in entries:
            digest = cert_id["hash_algorithm"]["algorithm"].native
            ours = digest in ("sha1", "sha256") and (
                cert_id["issuer_name_hash"].native == hashlib.new(digest, issuer.subject.dump()).digest()
                and cert_id["issuer_key_hash"].native == getattr(issuer.public_key, digest))
            status = statuses.get(int(cert_id["serial_number"].native)) if ours else None
            if status is None or not status.known:
                cert_status = ocsp.CertStatus(name="unknown", value=core.Null())
            elif status.revoked is None:
                cert_status = ocsp.CertStatus(name="good", value=core.Null())
            else:
                cert_status = ocsp.CertStatus(name="revoked", value={
                    "revocation_time": _gtime(status.revoked.revoked_at),
                    "revocation_reason": status.revoked.reason.value})
            responses.append({"cert_id": cert_id, "cert_status": cert_status,
                              "this_update": _gtime(at), "next_update": _gtime(next_update)})
        data: dict[str, Any] = {
            "version": "v1",
            "responder_id": ocsp.ResponderId(name="by_key", value=issuer.public_key.sha1),
            "produced_at": _gtime(at), "responses": responses,
        }
        if nonce is not None:
            data["response_extensions"] = [{"extn_id": "nonce", "critical": False,
                                            "extn_value": nonce}]
        tbs = ocsp.ResponseData(data)
        algorithm = _signature_algorithm(issuer_algorithm)
        signature = self._sign(issuer_key_id, tbs)
        basic = ocsp.BasicOCSPResponse({"tbs_response_data": tbs, "signature_algorithm": algorithm,
                                        "signature": signature, "certs": [issuer]})
        der: bytes = ocsp.OCSPResponse({
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }).dump()
        return der

    def malformed_ocsp_response(self) -> bytes:
        der: bytes = ocsp.OCSPResponse({"response_status": "malformed_request"}).dump()
        return der
