"""Fakes for unit tests, each behind the same Protocol as the real adapter (checked in
tests/unit/test_protocols.py)."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization

from yunzhang.adapters.keystore.software import PrivateKey, make_private_key, sign_with
from yunzhang.domain.keys import KeyAlgorithm, KeyRef
from yunzhang.errors import NotFound


class MemoryKeyStore:
    """Keys in a dict: for unit tests of what signs through a KeyStore (certificates, CRLs)."""

    name = "memory"

    def __init__(self) -> None:
        self.keys: dict[str, PrivateKey] = {}

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> KeyRef:
        key_id = f"mem-{secrets.token_hex(8)}"
        self.keys[key_id] = make_private_key(algorithm)
        return KeyRef(key_id, algorithm, self.public_key(key_id))

    def sign(self, key_id: str, data: bytes) -> bytes:
        return sign_with(self._key(key_id), data)

    def public_key(self, key_id: str) -> bytes:
        return self._key(key_id).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def destroy(self, key_id: str) -> None:
        self.keys.pop(key_id, None)

    def _key(self, key_id: str) -> PrivateKey:
        if key_id not in self.keys:
            raise NotFound(f"no key {key_id}", code="key.not_found")
        return self.keys[key_id]
