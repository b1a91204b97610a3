"""The software key store: one file per key, the private key encrypted at rest (envelope).

Each private key (PKCS #8 DER) is encrypted with AES-256-GCM under a data key of its own; the
data key is wrapped with AES-256-GCM under the current key-encryption key (KEK), whose id the file
records. The additional data binds the ciphertexts to the key id, the algorithm and the KEK id,
so a file cannot be passed off as another key. Rotating the KEK rewraps only the data keys.
Files are written whole to a temporary name and renamed, so a reader never sees half a file
(``keyfiles``). Unwrapped keys are cached; each use checks that the file is still the version the
key came from, so a key destroyed by another process is refused at its next signature.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yunzhang.adapters.keystore.kek import KekRing
from yunzhang.adapters.keystore.keyfiles import KeyFiles, Version
from yunzhang.domain.keys import KeyAlgorithm, KeyRef
from yunzhang.errors import ConfigurationError, ExternalServiceError, NotFound
from yunzhang.services.ports import Clock

CACHE_SIZE = 256
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    algorithm: KeyAlgorithm
    label: str
    kek_id: str
    created_at: str
    destroyed_at: str | None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def make_private_key(algorithm: KeyAlgorithm) -> PrivateKey:
    if algorithm is KeyAlgorithm.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    bits = 2048 if algorithm is KeyAlgorithm.RSA_2048 else 3072
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def sign_with(key: PrivateKey, data: bytes) -> bytes:
    """SHA-256; ECDSA gives the DER Ecdsa-Sig-Value, RSA PKCS #1 v1.5."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class SoftwareKeyStore:
    name = "software"

    def __init__(self, directory: Path, ring: KekRing, clock: Clock) -> None:
        self._files = KeyFiles(directory)
        self._ring = ring
        self._clock = clock
        self._lock = threading.Lock()  # guards the cache only; files have their own lock
        self._cache: OrderedDict[str, tuple[PrivateKey, Version]] = OrderedDict()

    # --- the KeyStore Protocol ---------------------------------------------------------------

    def generate(self, algorithm: KeyAlgorithm, *, label: str) -> KeyRef:
        key = make_private_key(algorithm)
        key_id = f"sw-{secrets.token_hex(16)}"
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        record = {"id": key_id, "algorithm": algorithm.value, "label": label[:200],
                  "public_key": _b64(public), "created_at": self._clock.now().isoformat(),
                  "destroyed_at": None, **self._seal(key_id, algorithm, key)}
        self._files.write(key_id, record)
        version = self._files.version(key_id)
        if version is not None:
            self._remember(key_id, key, version)
        return KeyRef(key_id, algorithm, public)

    def sign(self, key_id: str, data: bytes) -> bytes:
        return sign_with(self._private(key_id), data)

    def public_key(self, key_id: str) -> bytes:
        record, _ = self._files.read(key_id)
        try:
            return _unb64(record["public_key"])
        except ValueError:
            raise ExternalServiceError(f"the key file of {key_id} is damaged: public_key is not "
                                       "base64", code="key.store") from None

    def destroy(self, key_id: str) -> None:
        with self._files.locked():
            record, _ = self._files.read(key_id)
            if record["destroyed_at"] is None:
                # The new file replaces the old one; what the disk may still hold of the old is
                # the ciphertext under a wrapped data key, unreadable once its KEK is retired.
                record.update(wrapped_key="", nonce="", ciphertext="",
                              destroyed_at=self._clock.now().isoformat())
                self._files.write(key_id, record)
        with self._lock:
            self._cache.pop(key_id, None)

    # --- operations --------------------------------------------------------------------------

    def rotate_kek(self) -> int:
        """Rewrap every live data key that is not under the current KEK; returns how many.
        Keys stay usable throughout: the ring still holds the old KEK, and each file is
        replaced whole under the directory lock (a concurrent destroy is never undone)."""
        done = 0
        for key_id in self._files.ids():
            with self._files.locked():
                record, _ = self._files.read(key_id)
                if record["destroyed_at"] is not None or record["kek_id"] == self._ring.current:
                    continue
                data_key = self._unwrap(key_id, record)
                record.update(self._wrap(key_id, data_key))
                self._files.write(key_id, record)
                done += 1
        return done

    def list_keys(self) -> list[KeyInfo]:
        found = []
        for key_id in self._files.ids():
            r, _ = self._files.read(key_id)
            found.append(KeyInfo(r["id"], KeyAlgorithm(r["algorithm"]), r["label"], r["kek_id"],
                                 r["created_at"], r["destroyed_at"]))
        return found

    @property
    def current_kek(self) -> str:
        return self._ring.current

    # --- envelope encryption -----------------------------------------------------------------

    def _seal(self, key_id: str, algorithm: KeyAlgorithm, key: PrivateKey) -> dict[str, str]:
        pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)  # 96-bit random nonce, one message per data key (SP 800-38D §8.2.2)
        ciphertext = AESGCM(data_key).encrypt(nonce, pkcs8, f"{key_id}|{algorithm.value}".encode())
        return {"nonce": _b64(nonce), "ciphertext": _b64(ciphertext),
                **self._wrap(key_id, data_key)}

    def _wrap(self, key_id: str, data_key: bytes) -> dict[str, str]:
        """``wrapped_key`` is the 12-byte nonce followed by the AES-GCM ciphertext and tag."""
        kek_id = self._ring.current
        nonce = os.urandom(12)
        wrapped = AESGCM(self._ring.keys[kek_id]).encrypt(nonce, data_key,
                                                          f"{key_id}|{kek_id}".encode())
        return {"kek_id": kek_id, "wrapped_key": _b64(nonce + wrapped)}

    def _unwrap(self, key_id: str, record: dict[str, Any]) -> bytes:
        kek_id = record["kek_id"]
        kek = self._ring.keys.get(kek_id)
        if kek is None:
            raise ConfigurationError(f"key {key_id} is wrapped by KEK {kek_id!r}, which is not in "
                                     f"YUNZHANG_KEK / YUNZHANG_KEK_FILE", code="key.unwrap")
        try:
            blob = _unb64(record["wrapped_key"])
            return AESGCM(kek).decrypt(blob[:12], blob[12:], f"{key_id}|{kek_id}".encode())
        except (InvalidTag, ValueError):  # binascii.Error is a ValueError
            raise ExternalServiceError(f"key {key_id} does not unwrap with KEK {kek_id!r}: the "
                                       f"file was changed or the KEK is wrong",
                                       code="key.unwrap") from None

    def _private(self, key_id: str) -> PrivateKey:
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and self._files.version(key_id) == cached[1]:
            with self._lock:
                if key_id in self._cache:
                    self._cache.move_to_end(key_id)
            return cached[0]
        record, version = self._files.read(key_id)
        if record["destroyed_at"] is not None:
            with self._lock:
                self._cache.pop(key_id, None)
            raise NotFound(f"key {key_id} was destroyed", code="key.not_found")
        data_key = self._unwrap(key_id, record)
        try:
            pkcs8 = AESGCM(data_key).decrypt(_unb64(record["nonce"]), _unb64(record["ciphertext"]),
                                             f"{key_id}|{record['algorithm']}".encode())
        except (InvalidTag, ValueError):  # binascii.Error is a ValueError
            raise ExternalServiceError(f"key {key_id} does not decrypt under its data key (KEK "
                                       f"{record['kek_id']!r}): the file was changed",
                                       code="key.unwrap") from None
        loaded = serialization.load_der_private_key(pkcs8, password=None)
        assert isinstance(loaded, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey))
        # Cached with the version read: should the file have changed since (destroyed,
        # rewrapped), the next use sees another version and reads the file again.
        self._remember(key_id, loaded, version)
        return loaded

    def _remember(self, key_id: str, key: PrivateKey, version: Version) -> None:
        with self._lock:
            self._cache[key_id] = (key, version)
            self._cache.move_to_end(key_id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
