"""Password hashing (argon2id), keyed hashes, tokens and codes (HMAC-SHA256, secrets), and the
signatures of wallet devices (ECDSA P-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from yunzhang.errors import InvalidInput


class Argon2PasswordHasher:
    """argon2id with the RFC 9106 "second recommended option" memory profile (64 MiB, t=3, p=4)."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4) -> None:
        self._hasher = _Argon2(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


class HmacKeyring:
    """Keyed hashes so that ID numbers, codes and tokens are never stored in clear.

    ``pii_key`` is separate from ``secret_key`` because hashes of ID numbers are lookup keys
    (matching a verified person to the registry's legal representative): it must not rotate
    casually, while the secret key may.
    """

    def __init__(self, secret_key: bytes, pii_key: bytes) -> None:
        self._secret = secret_key
        self._pii = pii_key

    def pii_hash(self, value: str) -> str:
        return hmac.new(self._pii, b"pii\x00" + value.encode(), hashlib.sha256).hexdigest()

    def secret_hash(self, purpose: str, value: str) -> str:
        msg = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def same(self, a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode(), b.encode())

    def token(self) -> str:
        return secrets.token_urlsafe(32)

    def numeric_code(self, digits: int) -> str:
        return f"{secrets.randbelow(10**digits):0{digits}d}"


class EcdsaDeviceKeys:
    """Wallet device keys: EC P-256 public keys, ECDSA with SHA-256 signatures (cryptography)."""

    def public_key(self, der: bytes) -> bytes:
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, UnsupportedAlgorithm):
            raise InvalidInput("the device key is not a DER SubjectPublicKeyInfo",
                               code="device.public_key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise InvalidInput("device keys are EC P-256 keys", code="device.public_key")
        return key.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        key = serialization.load_der_public_key(public_key)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False  # wallets' keys are EC P-256; nothing else signs a wallet's message
        try:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True
