"""OCSP answers of the X.509 factory (RFC 6960) to requests made by ``openssl ocsp``, checked by
``openssl ocsp -respin``: the signature and the responder, each status, the nonce."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from tests.unit.x509_support import (  # noqa: F401  (pki is a fixture)
    OCSP_TIMES,
    SPECS,
    T0,
    Pki,
    flat,
    openssl,
    pki,
)
from yunzhang.domain.pki import RevocationReason, RevokedEntry, SerialStatus
from yunzhang.errors import InvalidInput

NONCE_OID = bytes.fromhex("06092b0601050507300102")  # 1.3.6.1.5.5.7.48.1.2, DER


def serial(label: str) -> int:
    return SPECS[label].serial


def revoked(label: str, reason: RevocationReason) -> SerialStatus:
    return SerialStatus(True, RevokedEntry(serial(label), T0 + timedelta(hours=1), reason))


def ask(pki: Pki, directory: Path, *labels: str, issuer: str = "organization",
        digest: str = "sha1", nonce: bool = False, name: str = "req.der") -> bytes:
    """A request made by OpenSSL about the certificates ``labels`` of ``issuer``."""
    issuer_pem, *leaves = pki.files(directory, issuer, *labels)
    certs = [arg for leaf in leaves for arg in ("-cert", str(leaf))]
    out = directory / name
    openssl("ocsp", f"-{digest}", "-issuer", issuer_pem, *certs,
            *([] if nonce else ["-no_nonce"]), "-reqout", out)
    return out.read_bytes()


def answer(pki: Pki, request: bytes, statuses: dict[int, SerialStatus],
           responder: str = "organization") -> bytes:
    return pki.factory.ocsp_response(
        request, issuer_certificate=pki.der[responder], issuer_key_id=pki.key_ids[responder],
        issuer_algorithm=pki.algorithm, statuses=statuses, at=T0,
        next_update=T0 + timedelta(hours=1))


def judge(pki: Pki, directory: Path, response: bytes, *labels: str, issuer: str = "organization",
          digest: str = "sha1", verify: bool = True) -> str:
    """What ``openssl ocsp`` says of the response about ``labels``."""
    path = directory / "resp.der"
    path.write_bytes(response)
    root, issuer_pem, *leaves = pki.files(directory, "root", issuer, *labels)
    certs = [arg for leaf in leaves for arg in ("-cert", str(leaf))]
    checks = [*OCSP_TIMES, *(["-CAfile", str(root)] if verify else ["-noverify"])]
    return openssl("ocsp", f"-{digest}", "-respin", path, "-issuer", issuer_pem, *certs,
                   "-no_nonce", *checks, "-resp_text").stdout


@pytest.mark.parametrize("digest", ["sha1", "sha256"])
def test_openssl_reads_good_revoked_and_unknown_with_either_certid_hash(
        pki: Pki, digest: str, tmp_path: Path) -> None:
    labels = ("seal", "revoked-seal", "tsa", "enterprise")
    request = ask(pki, tmp_path, *labels, digest=digest)
    assert pki.factory.ocsp_serials(request) == [serial(label) for label in labels]
    response = answer(pki, request, {
        serial("seal"): SerialStatus(True),
        serial("revoked-seal"): revoked("revoked-seal", RevocationReason.KEY_COMPROMISE),
        serial("tsa"): revoked("tsa", RevocationReason.UNSPECIFIED),
        # "enterprise" is not there: unknown
    })
    said = judge(pki, tmp_path, response, *labels, digest=digest)
    assert "Response verify OK" in said
    results = said[said.index(f"{tmp_path / 'seal.pem'}: "):]
    assert flat(results).startswith(
        f"{tmp_path / 'seal.pem'}: good This Update: Nov 22 08:00:00 2026 GMT "
        "Next Update: Nov 22 09:00:00 2026 GMT "
        f"{tmp_path / 'revoked-seal.pem'}: revoked This Update: Nov 22 08:00:00 2026 GMT "
        "Next Update: Nov 22 09:00:00 2026 GMT Reason: keyCompromise "
        "Revocation Time: Nov 22 09:00:00 2026 GMT "
        # RFC 5280 §5.3.1 as on the CRL: no reason rather than "unspecified"
        f"{tmp_path / 'tsa.pem'}: revoked This Update: Nov 22 08:00:00 2026 GMT "
        "Next Update: Nov 22 09:00:00 2026 GMT Revocation Time: Nov 22 09:00:00 2026 GMT "
        f"{tmp_path / 'enterprise.pem'}: unknown"), results
    # The CA answers for itself, named by the SHA-1 of its key (RFC 6960 §4.2.2.3).
    ca_key = pki.cert("organization").public_key()
    responder = x509.SubjectKeyIdentifier.from_public_key(ca_key).digest.hex().upper()
    assert f"Responder Id: {responder}" in said
    assert f"Hash Algorithm: {digest}" in said and "Produced At: Nov 22 08:00:00 2026 GMT" in said
    parsed = ocsp.load_der_ocsp_response(response)
    assert parsed.certificates[0].public_bytes(serialization.Encoding.DER) == pki.der["organization"]


def test_a_nonce_is_echoed_and_openssl_checks_it(pki: Pki, tmp_path: Path) -> None:
    root = pki.files(tmp_path, "root")[0]
    request = ask(pki, tmp_path, "seal", nonce=True)
    other = ask(pki, tmp_path, "seal", nonce=True, name="other.der")
    statuses = {serial("seal"): SerialStatus(True)}
    asked = ocsp.load_der_ocsp_request(request).extensions.get_extension_for_class(x509.OCSPNonce)
    response = answer(pki, request, statuses)
    told = ocsp.load_der_ocsp_response(response).extensions.get_extension_for_class(x509.OCSPNonce)
    assert told.value.nonce == asked.value.nonce and len(told.value.nonce) == 16
    common = ("ocsp", "-reqin", tmp_path / "req.der", "-respin", tmp_path / "resp.der", "-CAfile",
              root, *OCSP_TIMES)
    (tmp_path / "resp.der").write_bytes(response)
    said = openssl(*common).stdout
    assert "Response verify OK" in said and "Nonce" not in said and "WARNING" not in said
    (tmp_path / "resp.der").write_bytes(answer(pki, other, statuses))  # another request's nonce
    assert "Nonce Verify error" in openssl(*common, check=False).stdout


def _tlv(tag: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8 or 1, "big")
    return bytes([tag]) + (size if len(body) < 0x80 else bytes([0x80 | len(size)]) + size) + body


def _inner(der: bytes) -> bytes:
    """The contents of a DER TLV."""
    first = der[1]
    if first < 0x80:
        return der[2:2 + first]
    count = first & 0x7F
    return der[2 + count:2 + count + int.from_bytes(der[2:2 + count], "big")]


def test_a_bare_nonce_is_echoed_byte_for_byte(pki: Pki, tmp_path: Path) -> None:
    """Some clients put the nonce in extnValue without the inner OCTET STRING (RFC 8954 wants
    one); it must neither make the request malformed nor be re-encoded in the answer."""
    request_list = _inner(_inner(ask(pki, tmp_path, "seal")))  # OCSPRequest > TBSRequest > list
    bare = b"a bare nonce, 24 octets."
    request = _tlv(0x30, _tlv(0x30, request_list, _tlv(0xA2, _tlv(0x30, _tlv(
        0x30, NONCE_OID, _tlv(0x04, bare))))))
    assert pki.factory.ocsp_serials(request) == [serial("seal")]
    (tmp_path / "bare.der").write_bytes(request)
    (tmp_path / "resp.der").write_bytes(answer(pki, request, {serial("seal"): SerialStatus(True)}))
    said = openssl("ocsp", "-reqin", tmp_path / "bare.der", "-respin", tmp_path / "resp.der",
                   "-CAfile", pki.files(tmp_path, "root")[0], *OCSP_TIMES, "-resp_text").stdout
    assert "Response verify OK" in said and "Nonce Verify error" not in said
    assert f"OCSP Nonce: {bare.hex().upper()}" in flat(said)


def test_a_certificate_of_another_issuer_is_unknown(pki: Pki, tmp_path: Path) -> None:
    request = ask(pki, tmp_path, "person", issuer="person-ca")
    statuses = {serial("person"): SerialStatus(True)}
    asked_elsewhere = judge(pki, tmp_path, answer(pki, request, statuses, responder="organization"),
                            "person", issuer="person-ca", verify=False)
    assert f"{tmp_path / 'person.pem'}: unknown" in asked_elsewhere
    asked_right = judge(pki, tmp_path, answer(pki, request, statuses, responder="person-ca"),
                        "person", issuer="person-ca")
    assert "Response verify OK" in asked_right
    assert f"{tmp_path / 'person.pem'}: good" in asked_right


def test_a_tampered_answer_fails_verification(pki: Pki, tmp_path: Path) -> None:
    request = ask(pki, tmp_path, "seal")
    response = answer(pki, request, {serial("seal"): SerialStatus(True)})
    signature = ocsp.load_der_ocsp_response(response).signature
    tampered = bytearray(response)
    tampered[response.index(signature) + len(signature) - 1] ^= 0x01
    path = tmp_path / "resp.der"
    path.write_bytes(bytes(tampered))
    root, ca, seal = pki.files(tmp_path, "root", "organization", "seal")
    said = openssl("ocsp", "-respin", path, "-issuer", ca, "-cert", seal, "-no_nonce", "-CAfile",
                   root, *OCSP_TIMES, check=False).stdout
    assert "Response Verify Failure" in said


@pytest.mark.parametrize("request_der", [
    b"", b"junk", b"\x30\x00", b"\x30\x03\x02\x01\x00",
    _tlv(0x30, _tlv(0x30, _tlv(0x30))),  # asks about no certificate
], ids=["empty", "junk", "empty-sequence", "integer", "no-certificate"])
def test_malformed_requests_are_refused(pki: Pki, request_der: bytes) -> None:
    for call in (lambda: pki.factory.ocsp_serials(request_der),
                 lambda: answer(pki, request_der, {})):
        with pytest.raises(InvalidInput) as refused:
            call()
        assert refused.value.code == "ocsp.malformed"


def test_a_truncated_request_or_one_with_trailing_bytes_is_refused(pki: Pki, tmp_path: Path) -> None:
    request = ask(pki, tmp_path, "seal")
    for damaged in (request[:-3], request + b"\x00"):
        with pytest.raises(InvalidInput) as refused:
            pki.factory.ocsp_serials(damaged)
        assert refused.value.code == "ocsp.malformed"


def test_the_malformed_request_answer(pki: Pki, tmp_path: Path) -> None:
    der = pki.factory.malformed_ocsp_response()
    assert der == bytes.fromhex("30030a0101")  # status 1 and nothing else (RFC 6960 §2.3)
    path = tmp_path / "malformed.der"
    path.write_bytes(der)
    said = openssl("ocsp", "-respin", path, "-resp_text", "-noverify", check=False).stdout
    assert "malformedrequest (1)" in said
    assert ocsp.load_der_ocsp_response(der).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
