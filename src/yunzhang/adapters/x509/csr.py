"""PKCS #10 certificate requests (RFC 2986): read, their key checked against what the platform
issues, and their self-signature checked as proof of possession of the private key."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import CsrInfo
from yunzhang.errors import InvalidInput

MAX_CSR = 64 * 1024
_ACCEPTED = "EC P-256, RSA 2048 or RSA 3072"
_RSA_SIZES = {2048: KeyAlgorithm.RSA_2048, 3072: KeyAlgorithm.RSA_3072}


def _refused(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="certificate.csr")


def _describe(key: CertificatePublicKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC key on curve {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"an RSA {key.key_size}-bit key"
    if isinstance(key, dsa.DSAPublicKey):
        return f"a DSA {key.key_size}-bit key"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "an Ed25519 key"
    if isinstance(key, ed448.Ed448PublicKey):
        return "an Ed448 key"
    return f"a {type(key).__name__.removesuffix('PublicKey')} key"


def _algorithm(key: CertificatePublicKeyTypes) -> KeyAlgorithm:
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return KeyAlgorithm.EC_P256
    if isinstance(key, rsa.RSAPublicKey) and key.key_size in _RSA_SIZES:
        return _RSA_SIZES[key.key_size]
    raise _refused(f"the certificate request carries {_describe(key)}; the platform certifies "
                   f"{_ACCEPTED} keys only")


def _load(data: bytes) -> x509.CertificateSigningRequest:
    if not data.strip():
        raise _refused("the certificate request is empty")
    if len(data) > MAX_CSR:
        raise _refused(f"the certificate request has {len(data)} bytes; at most 64 KiB are read")
    # PEM may carry explanatory text before the block (RFC 7468 §5.2).
    pem = b"-----BEGIN" in data
    try:
        return x509.load_pem_x509_csr(data) if pem else x509.load_der_x509_csr(data)
    except ValueError:
        form = "PEM" if pem else "DER"
        raise _refused(f"the certificate request is not a well-formed PKCS #10 request in {form} "
                       f"(truncated, damaged or something else)") from None


def read_csr(data: bytes) -> CsrInfo:
    request = _load(data)
    try:
        key = request.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise _refused(f"the certificate request's key is of an unsupported type; the platform "
                       f"certifies {_ACCEPTED} keys only") from None
    algorithm = _algorithm(key)  # before the signature: a refused key type is the better answer
    try:
        valid = request.is_signature_valid
    except (ValueError, UnsupportedAlgorithm):
        raise _refused("the certificate request is signed with an unsupported algorithm") from None
    if not valid:
        raise _refused("the certificate request's signature does not verify with the key it "
                       "carries (no proof of possession of the private key)")
    names = request.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = names[0].value if names else None
    return CsrInfo(
        public_key=key.public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo),
        algorithm=algorithm,
        common_name=common_name if isinstance(common_name, str) else None)
