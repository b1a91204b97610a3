"""The PKCS #11 key store: keys generated inside an HSM (SoftHSM2 in the tests), marked
sensitive and not extractable, so the platform only ever holds handles to them."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from asn1crypto.core import OctetString  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.exceptions import (
    DeviceRemoved,
    NoSuchKey,
    NoSuchToken,
    PinIncorrect,
    PinLenRange,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    UserAlreadyLoggedIn,
)
from pkcs11.util.ec import encode_named_curve_parameters

from yunzhang.domain.keys import KeyAlgorithm, KeyRef
from yunzhang.errors import ConfigurationError, ExternalServiceError, NotFound

KEY_ID = re.compile(r"^p11-([0-9a-f]{32})$")
# DigestInfo prefix of SHA-256 for CKM_RSA_PKCS (RFC 8017 §9.2 note 1), so the digest is taken
# here as for EC and the token only does the private-key operation.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
# A session the token no longer knows (HSM restarted, connection dropped): open a new one.
LOST_SESSION = (SessionClosed, SessionHandleInvalid, DeviceRemoved)
# Signing keys sign and nothing else: no decrypt, unwrap or derive on the private half.
SIGN_ONLY = MechanismFlag.SIGN | MechanismFlag.VERIFY
T = TypeVar("T")


class Pkcs11KeyStore:
    name = "pkcs11"

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        if not Path(module).is_file():
            raise ConfigurationError(f"YUNZHANG_PKCS11_MODULE: there is no file {module}",
                                     code="config.pkcs11")
        try:
            library = pkcs11.lib(module)
        except (PKCS11Error, RuntimeError, OSError):
            raise ConfigurationError(f"YUNZHANG_PKCS11_MODULE: {module} does not load as a "
                                     f"PKCS #11 library", code="config.pkcs11") from None
        try:
            self._token = library.get_token(token_label=token_label)
        except NoSuchToken:
            raise ConfigurationError(f"YUNZHANG_PKCS11_TOKEN_LABEL: no token {token_label!r} in "
                                     f"{module}", code="config.pkcs11") from None
        except PKCS11Error as exc:
            raise ConfigurationError(f"YUNZHANG_PKCS11_TOKEN_LABEL: cannot find token "
                                     f"{token_label!r} in {module}: {type(exc).__name__}",
                                     code="config.pkcs11") from None
        self._pin = pin
        self._lock = threading.Lock()  # one session, used by one thread at a time
        self._session = self._open()

    def _open(self) -> Any:
        try:
            try:
                return self._token.open(rw=True, user_pin=self._pin)
            except UserAlreadyLoggedIn:
                # PKCS #11 logs in per application: another session of this process already did.
                return self._token.open(rw=True)
        except (PinIncorrect, PinLenRange):
            raise ConfigurationError("YUNZHANG_PKCS11_PIN is not the token's user PIN",
                                     code="config.pkcs11") from None
        except PKCS11Error as exc:
            raise ConfigurationError(f"cannot open a session on the PKCS #11 token: "
                                     f"{type(exc).__name__}", code="config.pkcs11") from None

    def _run(self, key_id: str, action: Callable[[Any], T], *, retry: bool = True) -> T:
        """Run ``action`` on the session, under the lock. PKCS #11 errors become ours here, where
        they enter (HOUSE_STYLE: errors). A lost session is reopened; the action is tried again
        when it can safely run twice."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return action(self._session)
                except NoSuchKey:
                    raise NotFound(f"no key {key_id} in the HSM (destroyed?)",
                                   code="key.not_found") from None
                except LOST_SESSION as exc:
                    try:
                        self._session = self._open()
                    except ConfigurationError as reopen:
                        raise ExternalServiceError(f"the HSM session was lost on key {key_id} and "
                                                   f"does not reopen: {reopen.detail}",
                                                   code="key.hsm") from exc
                    if not retry or attempt == 2:
                        raise ExternalServiceError(f"the HSM session was lost on key {key_id}: "
                                                   f"{type(exc).__name__}", code="key.hsm") from exc
                except PKCS11Error as exc:
                    raise ExternalServiceError(f"the HSM failed on key {key_id}: "
                                               f"{type(exc).__name__}", code="key.hsm") from exc
        raise AssertionError("unreachable")

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> KeyRef:
        raw_id = secrets.token_bytes(16)
        key_id = f"p11-{raw_id.hex()}"
        # CKA_TOKEN (store=True) keeps the pair; the private half never leaves the token.
        private_template = {Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                            Attribute.EXTRACTABLE: False}

        def make(session: Any) -> bytes:
            if algorithm is KeyAlgorithm.EC_P256:
                params = session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                    local=True)
                public, _ = params.generate_keypair(store=True, id=raw_id, label=label[:64],
                                                    capabilities=SIGN_ONLY,
                                                    private_template=private_template)
            else:
                bits = 2048 if algorithm is KeyAlgorithm.RSA_2048 else 3072
                public, _ = session.generate_keypair(
                    KeyType.RSA, bits, store=True, id=raw_id, label=label[:64],
                    capabilities=SIGN_ONLY, private_template=private_template)  # e = 65537
            return _spki(public)

        return KeyRef(key_id, algorithm, self._run(key_id, make, retry=False))

    def sign(self, key_id: str, data: bytes) -> bytes:
        raw_id = _raw_id(key_id)
        digest = hashlib.sha256(data).digest()

        def sign(session: Any) -> bytes:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=raw_id)
            if key.key_type == KeyType.EC:
                # CKM_ECDSA gives r || s, each as long as the order (PKCS #11 v2.40 §2.3.1);
                # X.509 and CMS want the DER Ecdsa-Sig-Value (RFC 3279 §2.2.3).
                raw = key.sign(digest, mechanism=Mechanism.ECDSA)
                half = len(raw) // 2
                return encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                            int.from_bytes(raw[half:], "big"))
            signature: bytes = key.sign(SHA256_DIGEST_INFO + digest, mechanism=Mechanism.RSA_PKCS)
            return signature

        return self._run(key_id, sign)

    def public_key(self, key_id: str) -> bytes:
        raw_id = _raw_id(key_id)
        return self._run(key_id, lambda session: _spki(
            session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=raw_id)))

    def destroy(self, key_id: str) -> None:
        raw_id = _raw_id(key_id)

        def destroy(session: Any) -> None:
            for obj in list(session.get_objects({Attribute.ID: raw_id})):
                obj.destroy()

        self._run(key_id, destroy)

    def private_key_attributes(self, key_id: str) -> dict[str, bool]:
        """The custody flags of the private key object (PKCS #11 v2.40 §4.9), for checks."""
        raw_id = _raw_id(key_id)
        names = {"sensitive": Attribute.SENSITIVE, "extractable": Attribute.EXTRACTABLE,
                 "always_sensitive": Attribute.ALWAYS_SENSITIVE,
                 "never_extractable": Attribute.NEVER_EXTRACTABLE, "token": Attribute.TOKEN,
                 "private": Attribute.PRIVATE}

        def read(session: Any) -> dict[str, bool]:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=raw_id)
            return {name: bool(key[attribute]) for name, attribute in names.items()}

        return self._run(key_id, read)


def _raw_id(key_id: str) -> bytes:
    match = KEY_ID.fullmatch(key_id)
    if match is None:
        raise NotFound(f"no key {key_id[:80]!r} in the HSM", code="key.not_found")
    return bytes.fromhex(match[1])


def _spki(public: Any) -> bytes:
    """DER SubjectPublicKeyInfo of a public key object on the token."""
    try:
        if public.key_type == KeyType.EC:
            encoded = bytes(public[Attribute.EC_POINT])
            # CKA_EC_POINT is the DER OCTET STRING of the point (PKCS #11 v2.40 §2.3.3); some
            # tokens give the bare point (uncompressed, 0x04 || x || y, 65 bytes for P-256).
            point = encoded if len(encoded) == 65 else bytes(OctetString.load(encoded))
            key: Any = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        else:
            key = rsa.RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                       int.from_bytes(public[Attribute.MODULUS], "big")
                                       ).public_key()
    except ValueError:
        raise ExternalServiceError("the HSM gave a public key that does not parse",
                                   code="key.hsm") from None
    spki: bytes = key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki
