"""Token keys: the platform's keys for the JSON Web Signatures it issues (e-licenses, OpenID
Connect tokens), one set per purpose, rotated without breaking what they signed.

A key signs for a while, then a new one takes over; the old one stays published in the JWKS
until the last token it could have signed has expired (OpenID Connect Core §10.1.1: "the
signer can begin using a new key at its discretion ... the verifier ... re-retrieve the JWK
Set"), then leaves it. The key itself lives in the KeyStore; only its reference is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TokenPurpose(StrEnum):
    LICENSE = "license"  # e-licenses (电子营业执照) held in wallets
    OIDC = "oidc"  # ID tokens and access tokens of the OpenID Connect provider


@dataclass(eq=False)
class TokenKey:
    kid: str  # the JWS "kid": the key's RFC 7638 thumbprint
    purpose: TokenPurpose
    key_id: str  # in the KeyStore
    public_key: bytes  # DER SubjectPublicKeyInfo
    created_at: datetime
    retired_at: datetime | None = None  # no longer signs from then on
    published_until: datetime | None = None  # leaves the JWKS then (retired keys only)

    def signs_at(self, at: datetime) -> bool:
        return self.retired_at is None or at < self.retired_at

    def published_at(self, at: datetime) -> bool:
        return self.published_until is None or at < self.published_until

    def due_for_rotation(self, at: datetime, every: timedelta) -> bool:
        return self.retired_at is None and at >= self.created_at + every

    def retire(self, at: datetime, longest_token: timedelta) -> None:
        """Stop signing now; stay verifiable as long as a token signed a moment ago lives."""
        self.retired_at, self.published_until = at, at + longest_token
