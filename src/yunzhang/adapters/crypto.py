"""Password hashing (argon2id), keyed hashes, tokens and codes (HMAC-SHA256, secrets), secrets the
server must read back sealed with AES-256-GCM (a key derived per purpose with HKDF), and the
signatures of wallet devices (ECDSA P-256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from yunzhang.errors import ConfigurationError, InvalidInput


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

    def seal(self, purpose: str, plaintext: bytes) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._aead_key(purpose)).encrypt(nonce, plaintext, purpose.encode())
        return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, purpose: str, sealed: str) -> bytes:
        version, _, payload = sealed.partition(".")
        try:
            raw = base64.urlsafe_b64decode(payload)
            if version != "v1" or len(raw) < 12 + 16:
                raise ValueError
            return AESGCM(self._aead_key(purpose)).decrypt(raw[:12], raw[12:], purpose.encode())
        except (ValueError, InvalidTag):
            raise ConfigurationError("a sealed value cannot be opened with this server key (was "
                                     "YUNZHANG_SECRET_KEY changed?)", code="keyring.unseal") from None

    def _aead_key(self, purpose: str) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"yunzhang-seal\x00" + purpose.encode()).derive(self._secret)


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
