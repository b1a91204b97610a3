"""Compact JWS with ES256 (RFC 7515, RFC 7518 §3.4) checked against a JSON Web Key Set (RFC 7517):
just what a business system needs to trust the platform's ID tokens. Keys are EC P-256 JWKs;
the set is cached and fetched again once when a token names a key it does not hold, which is
how a provider's key rotation reaches its clients."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from yunzhang.sdk.errors import SdkError

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_COORDINATE_BYTES = 32  # P-256


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, code: str = "jwt.malformed") -> bytes:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise SdkError("not base64url", code=code)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SdkError("not base64url", code=code) from None


@dataclass(frozen=True)
class CompactJws:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes  # "<header>.<payload>" as sent
    signature: bytes


def parse(token: str) -> CompactJws:
    """Split and decode a compact JWS whose header and payload are JSON objects; nothing is
    trusted yet."""
    parts = token.split(".")
    if len(parts) != 3:
        raise SdkError("a token is three base64url parts joined by dots", code="jwt.malformed")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise SdkError("the token's header or payload is not JSON", code="jwt.malformed") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise SdkError("the token's header and payload must be JSON objects",
                       code="jwt.malformed")
    return CompactJws(header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"),
                      b64url_decode(parts[2]))


def public_key(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """An EC P-256 public JWK (RFC 7518 §6.2.1) as a key; ``jwt.jwks`` for anything else."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
        raise SdkError("the key set holds a key that is not a public EC P-256 key",
                       code="jwt.jwks")
    try:
        x = b64url_decode(str(jwk.get("x", "")), code="jwt.jwks")
        y = b64url_decode(str(jwk.get("y", "")), code="jwt.jwks")
        if len(x) != _COORDINATE_BYTES or len(y) != _COORDINATE_BYTES:
            raise ValueError("coordinates are 32 bytes for P-256")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    except ValueError:  # also: the point is not on the curve
        raise SdkError("the key set holds a malformed EC key", code="jwt.jwks") from None


def verify_es256(key: ec.EllipticCurvePublicKey, signing_input: bytes, signature: bytes) -> bool:
    """ES256 signatures are R || S, 32 bytes each (RFC 7518 §3.4), not DER."""
    if len(signature) != 2 * _COORDINATE_BYTES:
        return False
    r = int.from_bytes(signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
    try:
        key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


class KeySet:
    """The provider's signing keys by ``kid``, from ``fetch`` (which returns the JWKS document).
    Fetched on first use; fetched again, once per lookup, when asked for a ``kid`` it does not
    hold (the provider rotated its key). Keys for other uses (``use`` other than ``sig``) and of
    other types are ignored; a key of the right ``kid`` that is not EC P-256 is an error."""

    def __init__(self, fetch: Callable[[], Mapping[str, Any]]) -> None:
        self._fetch = fetch
        self._keys: dict[str, Mapping[str, Any]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Mapping[str, Any]]:
        document = self._fetch()
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise SdkError("the JWKS document has no \"keys\" list", code="jwt.jwks")
        found: dict[str, Mapping[str, Any]] = {}
        for jwk in keys:
            if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str) and \
                    jwk.get("use", "sig") == "sig":
                found[jwk["kid"]] = jwk
        return found

    def key(self, kid: str) -> ec.EllipticCurvePublicKey:
        with self._lock:
            if self._keys is None:
                self._keys = self._load()
            elif kid not in self._keys:
                self._keys = self._load()
            jwk = self._keys.get(kid)
        if jwk is None:
            raise SdkError("the token is signed with a key the provider does not publish",
                           code="jwt.unknown_key")
        return public_key(jwk)

    def refresh(self) -> None:
        with self._lock:
            self._keys = self._load()
