"""Fakes for unit tests, each behind the same Protocol as the real adapter (checked in
tests/unit/test_protocols.py)."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from yunzhang.domain.keys import KeyAlgorithm, KeyRef
from yunzhang.errors import NotFound

_RSA_BITS = {KeyAlgorithm.RSA_2048: 2048, KeyAlgorithm.RSA_3072: 3072}


class MemoryKeyStore:
    """Keys in a dict, made and used with ``cryptography`` alone (independent of the real stores):
    for unit tests of what signs through a KeyStore (certificates, CRLs, OCSP answers)."""

    name = "memory"

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey] = {}

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> KeyRef:
        key_id = f"mem-{label}-{secrets.token_hex(8)}"
        if algorithm is KeyAlgorithm.EC_P256:
            self.keys[key_id] = ec.generate_private_key(ec.SECP256R1())
        else:
            self.keys[key_id] = rsa.generate_private_key(65537, _RSA_BITS[algorithm])
        return KeyRef(key_id, algorithm, self.public_key(key_id))

    def sign(self, key_id: str, data: bytes) -> bytes:
        """SHA-256; ECDSA as a DER Ecdsa-Sig-Value, RSA PKCS #1 v1.5: what the Protocol says."""
        key = self._key(key_id)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hashes.SHA256()))
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def public_key(self, key_id: str) -> bytes:
        return self._key(key_id).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def destroy(self, key_id: str) -> None:
        self.keys.pop(key_id, None)

    def _key(self, key_id: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
        if key_id not in self.keys:
            raise NotFound(f"no key {key_id}", code="key.not_found")
        return self.keys[key_id]
