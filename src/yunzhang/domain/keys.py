"""Keys as the services see them: an opaque reference into a key store, never the key itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from yunzhang.errors import InvalidInput


class KeyAlgorithm(StrEnum):
    """Key types the platform issues. ECDSA P-256 is the default (GM/T SM2 comes with issue 9)."""

    EC_P256 = "ec-p256"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"

    @classmethod
    def parse(cls, raw: str) -> KeyAlgorithm:
        try:
            return cls(raw.strip().lower())
        except ValueError:
            allowed = ", ".join(a.value for a in cls)
            raise InvalidInput(f"unknown key algorithm {raw!r}; expected one of {allowed}",
                               code="key.algorithm") from None

    @property
    def is_rsa(self) -> bool:
        return self is not KeyAlgorithm.EC_P256


@dataclass(frozen=True)
class KeyRef:
    """A key held by a KeyStore: its store-assigned id and its public half.

    ``public_key`` is the DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7)."""

    key_id: str
    algorithm: KeyAlgorithm
    public_key: bytes
