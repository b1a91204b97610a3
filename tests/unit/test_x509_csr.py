"""PKCS #10 requests read by the X.509 factory: made by OpenSSL and by cryptography, accepted
for EC P-256 and RSA 2048/3072 with a good proof of possession, refused otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from tests.fakes import MemoryKeyStore
from tests.unit.x509_support import openssl
from yunzhang.adapters.x509 import X509Factory
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.errors import InvalidInput

FACTORY = X509Factory(MemoryKeyStore())


def spki(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def made_by_cryptography(key: CertificateIssuerPrivateKeyTypes, cn: str | None = "phone") -> bytes:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)] if cn else [])
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, digest)
            .public_bytes(serialization.Encoding.DER))


def made_by_openssl(directory: Path, *newkey: str) -> tuple[bytes, bytes]:
    """A request made by ``openssl req``, in PEM, and its key's DER SubjectPublicKeyInfo as
    ``openssl pkey`` gives it."""
    request, key = directory / "req.pem", directory / "key.pem"
    openssl("req", "-new", "-newkey", *newkey, "-nodes", "-keyout", key, "-subj", "/CN=phone",
            "-out", request)
    public = serialization.load_pem_public_key(openssl("pkey", "-in", key, "-pubout").stdout.encode())
    return request.read_bytes(), public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(("newkey", "algorithm"), [
    (("ec", "-pkeyopt", "ec_paramgen_curve:P-256"), KeyAlgorithm.EC_P256),
    (("rsa:2048",), KeyAlgorithm.RSA_2048),
    (("rsa:3072",), KeyAlgorithm.RSA_3072),
], ids=["ec-p256", "rsa-2048", "rsa-3072"])
def test_requests_made_by_openssl_are_read_in_pem_and_der(newkey: tuple[str, ...],
                                                          algorithm: KeyAlgorithm,
                                                          tmp_path: Path) -> None:
    pem, public_key = made_by_openssl(tmp_path, *newkey)
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    for data in (pem, der, b"Subject: CN=phone\n" + pem):  # RFC 7468 §5.2 explanatory text
        info = FACTORY.read_csr(data)
        assert (info.algorithm, info.common_name, info.public_key) == (algorithm, "phone", public_key)


@pytest.mark.parametrize("key", [ec.generate_private_key(ec.SECP256R1()),
                                 rsa.generate_private_key(65537, 2048)], ids=["ec-p256", "rsa-2048"])
def test_requests_made_by_cryptography_keep_a_chinese_name_or_none(
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    info = FACTORY.read_csr(made_by_cryptography(key, "张三"))
    assert info.common_name == "张三" and info.public_key == spki(key)
    assert FACTORY.read_csr(made_by_cryptography(key, None)).common_name is None


def _tampered(_: Path) -> bytes:
    der = bytearray(made_by_cryptography(ec.generate_private_key(ec.SECP256R1())))
    der[-3] ^= 0x01  # inside the signature's s value
    return bytes(der)


def _truncated(_: Path) -> bytes:
    return made_by_cryptography(ec.generate_private_key(ec.SECP256R1()))[:-10]


def _openssl_ed25519(directory: Path) -> bytes:
    openssl("req", "-new", "-newkey", "ed25519", "-nodes", "-keyout", directory / "k.pem",
            "-subj", "/CN=phone", "-out", directory / "r.pem")
    return (directory / "r.pem").read_bytes()


REFUSED: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "empty": (lambda _: b"", "empty"),
    "blank": (lambda _: b" \n\t", "empty"),
    "garbage": (lambda _: b"garbage", "not a well-formed PKCS #10 request in DER"),
    "bad-pem": (lambda _: b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                        b"REQUEST-----\n", "not a well-formed PKCS #10 request in PEM"),
    "truncated": (_truncated, "not a well-formed PKCS #10 request in DER"),
    "over-64-kib": (lambda _: b"0" * (64 * 1024 + 1), "at most 64 KiB"),
    "bad-signature": (_tampered, "no proof of possession"),
    "ed25519": (_openssl_ed25519, "an Ed25519 key"),
    "p384": (lambda _: made_by_cryptography(ec.generate_private_key(ec.SECP384R1())),
             "an EC key on curve secp384r1"),
    "rsa-1024": (lambda _: made_by_cryptography(rsa.generate_private_key(65537, 1024)),
                 "an RSA 1024-bit key"),
    "rsa-4096": (lambda _: made_by_cryptography(rsa.generate_private_key(65537, 4096)),
                 "an RSA 4096-bit key"),
    "dsa": (lambda _: made_by_cryptography(dsa.generate_private_key(1024)), "a DSA 1024-bit key"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_or_refused_requests_say_why(case: str, tmp_path: Path) -> None:
    make, detail = REFUSED[case]
    with pytest.raises(InvalidInput) as refused:
        FACTORY.read_csr(make(tmp_path))
    assert refused.value.code == "certificate.csr"
    assert detail in refused.value.detail, refused.value.detail
