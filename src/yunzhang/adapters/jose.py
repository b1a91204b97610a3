"""JSON Web Signatures with EC P-256 keys held in the KeyStore: compact JWS (RFC 7515 §7.1),
ES256 (RFC 7518 §3.4: the signature is R || S, 32 bytes each, not DER), public JWKs (RFC 7517)
and their thumbprints (RFC 7638) as key ids."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from yunzhang.errors import InvalidInput, PermissionDenied

MAX_TOKEN = 16_384
_MALFORMED = "the token is not a compact JWS"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    if "=" in text:
        raise ValueError("JWS base64url has no padding (RFC 7515 §2)")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(value: dict[str, object]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _ec_key(der: bytes) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InvalidInput("token keys are EC P-256 keys", code="token.key")
    return key


class EcJose:
    """The JoseCodec of the platform's token keys (ES256 only: one algorithm, no downgrade)."""

    def jwk(self, public_key: bytes) -> dict[str, str]:
        numbers = _ec_key(public_key).public_numbers()
        members = {"crv": "P-256", "kty": "EC",
                   "x": b64url(numbers.x.to_bytes(32, "big")),
                   "y": b64url(numbers.y.to_bytes(32, "big"))}
        # RFC 7638 §3.2: the required members only, sorted, no whitespace.
        kid = b64url(hashlib.sha256(_canonical(dict(members))).digest())
        return {**members, "kid": kid, "use": "sig", "alg": "ES256"}

    def encode(self, header: dict[str, object], claims: dict[str, object],
               sign: Callable[[bytes], bytes]) -> str:
        signing_input = f"{b64url(_canonical(header))}.{b64url(_canonical(claims))}".encode()
        r, s = decode_dss_signature(sign(signing_input))
        return f"{signing_input.decode()}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def decode(self, token: str, public_keys: dict[str, bytes]) -> tuple[dict[str, Any],
                                                                        dict[str, Any]]:
        if len(token) > MAX_TOKEN or token.count(".") != 2:
            raise InvalidInput(_MALFORMED, code="token.malformed")
        head, body, signature = token.split(".")
        try:
            header = json.loads(b64url_decode(head))
            claims = json.loads(b64url_decode(body))
            raw = b64url_decode(signature)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidInput(_MALFORMED, code="token.malformed") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise InvalidInput(_MALFORMED, code="token.malformed")
        # RFC 8725 §3.1: the algorithm is the verifier's choice, never the token's.
        if header.get("alg") != "ES256" or header.get("crit") is not None:
            raise PermissionDenied("the token is not signed with ES256", code="token.signature")
        der = public_keys.get(str(header.get("kid")))
        if der is None or len(raw) != 64:
            raise PermissionDenied("the token is not signed by a published key",
                                   code="token.signature")
        try:
            _ec_key(der).verify(
                encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                     int.from_bytes(raw[32:], "big")),
                f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, UnsupportedAlgorithm, ValueError):
            raise PermissionDenied("the token's signature does not check out",
                                   code="token.signature") from None
        return header, claims
