"""RFC 3161 time-stamp replies: a TSTInfo in a CMS SignedData (RFC 5652) signed through the
KeyStore with the platform TSA's key, with the ESS signing-certificate-v2 attribute (RFC 5816)
that verifiers such as ``openssl ts -verify`` require."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, cms, core, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as ax

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.timestamps import Failure, TimestampRefused, TimestampRequest
from yunzhang.services.ports import KeyStore

_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 §2.4.2, where the token is OPTIONAL (absent from rejections); asn1crypto's
    TimeStampResp makes it mandatory."""

    _fields = [("status", tsp.PKIStatusInfo),
               ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class Rfc3161Encoder:
    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def read_request(self, data: bytes) -> TimestampRequest:
        """The parsed TimeStampReq; TimestampRefused for what RFC 3161 says to reject."""
        try:
            request = tsp.TimeStampReq.load(data)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            _ = (request["version"].native, request["nonce"].native, request["cert_req"].native,
                 request["req_policy"].native)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise TimestampRefused("not a DER TimeStampReq", failure=Failure.BAD_DATA_FORMAT) from None
        if request["version"].native != "v1":
            raise TimestampRefused("only version 1 requests exist", failure=Failure.BAD_REQUEST)
        if algorithm not in _DIGESTS:
            raise TimestampRefused(f"the hash {algorithm} is not accepted; use SHA-256, SHA-384 "
                                   f"or SHA-512", failure=Failure.BAD_ALG)
        if not isinstance(digest, bytes) or len(digest) != _DIGESTS[algorithm]:
            raise TimestampRefused("the message imprint has the wrong length for its hash",
                                   failure=Failure.BAD_DATA_FORMAT)
        if request["extensions"].native:
            raise TimestampRefused("no request extensions are supported", failure=Failure.BAD_REQUEST)
        return TimestampRequest(hash_algorithm=algorithm, digest=digest,
                                nonce=request["nonce"].native, cert_req=bool(request["cert_req"].native),
                                policy=request["req_policy"].native)

    def reply(self, request: TimestampRequest, *, policy: str, serial: int, at: datetime,
              certificate: bytes, chain: list[bytes], key_id: str,
              algorithm: KeyAlgorithm) -> bytes:
        """A granted TimeStampResp (RFC 3161 §2.4.2) for an accepted request."""
        tsa_cert = ax.Certificate.load(certificate)
        imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": request.hash_algorithm},
                                      "hashed_message": request.digest})
        info: dict[str, Any] = {
            "version": "v1", "policy": policy, "message_imprint": imprint,
            "serial_number": serial, "gen_time": at.astimezone(UTC).replace(microsecond=0),
            "accuracy": {"seconds": 1}, "ordering": False,
            "tsa": ax.GeneralName(name="directory_name", value=tsa_cert.subject),
        }
        if request.nonce is not None:
            info["nonce"] = request.nonce
        content = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [{
                "hash_algorithm": {"algorithm": "sha256"},
                "cert_hash": hashlib.sha256(certificate).digest(),
                "issuer_serial": {
                    "issuer": [ax.GeneralName(name="directory_name", value=tsa_cert.issuer)],
                    "serial_number": tsa_cert.serial_number}}]}]},
        ])
        # RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF.
        signature = self._keys.sign(key_id, signed_attrs.dump())
        signature_algorithm = (algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
                               if algorithm is KeyAlgorithm.EC_P256 else
                               algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value={
                "issuer": tsa_cert.issuer, "serial_number": tsa_cert.serial_number}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": signature_algorithm,
            "signature": signature,
        })
        certificates = [tsa_cert, *(ax.Certificate.load(c) for c in chain)] \
            if request.cert_req else []
        signed_data: dict[str, Any] = {
            "version": "v3", "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info",
                                   "content": core.ParsableOctetString(content)},
            "signer_infos": [signer],
        }
        if certificates:
            signed_data["certificates"] = certificates
        token = cms.ContentInfo({"content_type": "signed_data",
                                 "content": cms.SignedData(signed_data)})
        der: bytes = _TimeStampResp({"status": {"status": "granted"},
                                     "time_stamp_token": token}).dump()
        return der

    def rejection(self, refused: TimestampRefused) -> bytes:
        der: bytes = _TimeStampResp({"status": {
            "status": "rejection", "status_string": [refused.detail],
            "fail_info": {refused.failure.value}}}).dump()
        return der
