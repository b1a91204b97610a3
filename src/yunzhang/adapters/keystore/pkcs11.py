"""The PKCS #11 key store: keys generated inside an HSM (SoftHSM2 in the tests), marked
sensitive and not extractable, so the platform only ever holds handles to them."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from typing import Any

import pkcs11
from asn1crypto.core import OctetString  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    NoSuchKey,
    NoSuchToken,
    PinIncorrect,
    PKCS11Error,
    UserAlreadyLoggedIn,
)
from pkcs11.util.ec import encode_named_curve_parameters

from yunzhang.domain.keys import KeyAlgorithm, KeyRef
from yunzhang.errors import ConfigurationError, ExternalServiceError, NotFound

KEY_ID = re.compile(r"^p11-([0-9a-f]{32})$")
# DigestInfo prefix of SHA-256 for CKM_RSA_PKCS (RFC 8017 §9.2 note 1), so the digest is taken
# here as for EC and the token only does the private-key operation.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class Pkcs11KeyStore:
    name = "pkcs11"

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        try:
            library = pkcs11.lib(module)
            token = library.get_token(token_label=token_label)
            try:
                self._session = token.open(rw=True, user_pin=pin)
            except UserAlreadyLoggedIn:
                # PKCS #11 logs in per application: another store of this process already did.
                self._session = token.open(rw=True)
        except NoSuchToken:
            raise ConfigurationError(f"YUNZHANG_PKCS11_TOKEN_LABEL: no token {token_label!r} in "
                                     f"{module}", code="config.pkcs11") from None
        except PinIncorrect:
            raise ConfigurationError("YUNZHANG_PKCS11_PIN is not the token's user PIN",
                                     code="config.pkcs11") from None
        except (PKCS11Error, RuntimeError, OSError) as exc:
            raise ConfigurationError(f"YUNZHANG_PKCS11_MODULE: cannot use {module}: "
                                     f"{type(exc).__name__}", code="config.pkcs11") from None
        self._lock = threading.Lock()

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> KeyRef:
        raw_id = secrets.token_bytes(16)
        key_id = f"p11-{raw_id.hex()}"
        private_template = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}
        with self._lock, _translated(key_id):
            if algorithm is KeyAlgorithm.EC_P256:
                params = self._session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                    local=True)
                public, _ = params.generate_keypair(store=True, id=raw_id, label=label[:64],
                                                    private_template=private_template)
            else:
                bits = 2048 if algorithm is KeyAlgorithm.RSA_2048 else 3072
                public, _ = self._session.generate_keypair(
                    KeyType.RSA, bits, store=True, id=raw_id, label=label[:64],
                    private_template=private_template)
            spki = _spki(public)
        return KeyRef(key_id, algorithm, spki)

    def sign(self, key_id: str, data: bytes) -> bytes:
        digest = hashlib.sha256(data).digest()
        with self._lock, _translated(key_id):
            key = self._key(key_id, ObjectClass.PRIVATE_KEY)
            if key.key_type == KeyType.EC:
                raw = key.sign(digest, mechanism=Mechanism.ECDSA)
                half = len(raw) // 2
                return encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                            int.from_bytes(raw[half:], "big"))
            signature: bytes = key.sign(SHA256_DIGEST_INFO + digest, mechanism=Mechanism.RSA_PKCS)
            return signature

    def public_key(self, key_id: str) -> bytes:
        with self._lock, _translated(key_id):
            return _spki(self._key(key_id, ObjectClass.PUBLIC_KEY))

    def destroy(self, key_id: str) -> None:
        match = KEY_ID.fullmatch(key_id)
        if match is None:
            raise NotFound(f"no key {key_id[:80]!r} in the HSM", code="key.not_found")
        with self._lock, _translated(key_id):
            for obj in list(self._session.get_objects({Attribute.ID: bytes.fromhex(match[1])})):
                obj.destroy()

    def is_sensitive(self, key_id: str) -> tuple[bool, bool]:
        """(CKA_SENSITIVE, CKA_EXTRACTABLE) of the private key, for checks."""
        with self._lock, _translated(key_id):
            key = self._key(key_id, ObjectClass.PRIVATE_KEY)
            return bool(key[Attribute.SENSITIVE]), bool(key[Attribute.EXTRACTABLE])

    def _key(self, key_id: str, object_class: ObjectClass) -> Any:
        match = KEY_ID.fullmatch(key_id)
        if match is None:
            raise NotFound(f"no key {key_id[:80]!r} in the HSM", code="key.not_found")
        try:
            return self._session.get_key(object_class=object_class, id=bytes.fromhex(match[1]))
        except NoSuchKey:
            raise NotFound(f"no key {key_id} in the HSM (destroyed?)", code="key.not_found") from None


class _translated:
    """PKCS #11 errors become ExternalServiceError where they enter (HOUSE_STYLE: errors)."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if isinstance(exc, PKCS11Error) and not isinstance(exc, NoSuchKey):
            raise ExternalServiceError(f"the HSM failed on key {self.key_id}: {type(exc).__name__}",
                                       code="key.hsm") from exc


def _spki(public: Any) -> bytes:
    """DER SubjectPublicKeyInfo of a public key object on the token."""
    if public.key_type == KeyType.EC:
        point = bytes(OctetString.load(public[Attribute.EC_POINT]))
        key: Any = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    else:
        key = rsa.RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                   int.from_bytes(public[Attribute.MODULUS], "big")).public_key()
    spki: bytes = key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki
