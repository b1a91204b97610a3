"""The wallet's local state on the phone (here: a directory): the device key, encrypted under a key
derived from the license password with argon2id, and the count of wrong passwords.

The platform never learns the license password and never holds the device's private key
(DESIGN.md trust model). Five wrong passwords lock the wallet, for a delay that doubles with
every further wrong one (1 minute, 2, 4, ... at most a day).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yunzhang.errors import YunzhangError

STATE = "wallet.json"
SIGNING = "signing"  # the person-signing key's part of the state
MAX_TRIES = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(days=1)
MIN_PASSWORD = 6
# RFC 9106 second recommended option (64 MiB); a phone can afford it once per unlock.
KDF = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}


class WalletError(YunzhangError):
    """A refusal of the wallet itself (not of the platform), with a stable code."""

    exit_code = 13
    title = "Wallet error"
    default_code = "wallet.error"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class WalletStore:
    """One wallet in ``directory``; ``now`` is a parameter for the lockout (tests freeze it)."""

    directory: Path
    kdf: dict[str, int] | None = None

    @property
    def path(self) -> Path:
        return self.directory / STATE

    def exists(self) -> bool:
        return self.path.exists()

    def create(self, server: str, license_password: str) -> None:
        """A new wallet with two new keys (EC P-256), both locked by the license password: the
        device key (answers scan sessions) and the person-signing key (signs documents; its
        certificate comes from the platform's person CA)."""
        if self.exists():
            raise WalletError(f"a wallet exists in {self.directory} already", code="wallet.exists")
        _check_password(license_password)
        key = ec.generate_private_key(ec.SECP256R1())
        signing = ec.generate_private_key(ec.SECP256R1())
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {"server": server.rstrip("/"), "device_id": None, "tries": 0, "locked_until": None,
                 **self._seal(key, license_password),
                 SIGNING: self._seal(signing, license_password), "certificate": None}
        self._write(state)

    def server(self) -> str:
        return str(self._read()["server"])

    def device_id(self) -> str | None:
        value = self._read()["device_id"]
        return str(value) if value else None

    def set_device_id(self, device_id: str) -> None:
        state = self._read()
        state["device_id"] = device_id
        self._write(state)

    def public_key(self) -> bytes:
        return base64.b64decode(self._read()["public_key"])

    def unlock(self, license_password: str, *, now: datetime | None = None) -> ec.EllipticCurvePrivateKey:
        """The device key, or WalletError: a wrong password counts toward the lock."""
        return self._unlock(license_password, None, now)

    def unlock_signing(self, license_password: str, *,
                       now: datetime | None = None) -> ec.EllipticCurvePrivateKey:
        """The person-signing key, under the same password and lockout as the device key. A
        wallet made before it had one gets it now."""
        if SIGNING not in self._read():
            self.unlock(license_password, now=now)  # the password first
            state = self._read()
            state[SIGNING] = self._seal(ec.generate_private_key(ec.SECP256R1()), license_password)
            state.setdefault("certificate", None)
            self._write(state)
        return self._unlock(license_password, SIGNING, now)

    def signing_public_key(self) -> bytes:
        state = self._read()
        if SIGNING not in state:
            raise WalletError("this wallet has no person-signing key yet; unlock it once",
                              code="wallet.not_certified")
        return base64.b64decode(state[SIGNING]["public_key"])

    def certificate(self) -> bytes | None:
        """The person certificate (DER) of the signing key, once the platform issued it."""
        value = self._read().get("certificate")
        return base64.b64decode(value) if value else None

    def set_certificate(self, der: bytes) -> None:
        state = self._read()
        state["certificate"] = _b64(der)
        self._write(state)

    def licenses(self) -> list[dict[str, Any]]:
        """The e-licenses held, each ``{"credential": JWS, "claims": {...}}`` (checked against
        the platform's keys when downloaded)."""
        return list(self._read().get("licenses", []))

    def keep_license(self, credential: str, claims: dict[str, Any]) -> None:
        """Keep a downloaded license; it replaces the one held for the same enterprise."""
        state = self._read()
        uscc = claims["enterprise"]["uscc"]
        state["licenses"] = [*(held for held in state.get("licenses", [])
                               if held["claims"]["enterprise"]["uscc"] != uscc),
                             {"credential": credential, "claims": claims}]
        self._write(state)

    def _unlock(self, license_password: str, section: str | None,
                now: datetime | None) -> ec.EllipticCurvePrivateKey:
        at = now or datetime.now(UTC)
        state = self._read()
        if state["locked_until"] and at < datetime.fromisoformat(state["locked_until"]):
            raise WalletError(f"the wallet is locked after {state['tries']} wrong license "
                              f"passwords until {state['locked_until']}", code="wallet.locked")
        try:
            key = self._open(state[section] if section else state, license_password)
        except InvalidTag:
            state["tries"] += 1
            if state["tries"] >= MAX_TRIES:
                delay = min(FIRST_LOCK * 2 ** (state["tries"] - MAX_TRIES), LONGEST_LOCK)
                state["locked_until"] = (at + delay).isoformat()
            self._write(state)
            left = max(MAX_TRIES - state["tries"], 0)
            raise WalletError(f"wrong license password ({left} tries left before the wallet "
                              f"locks)" if left else "wrong license password; the wallet is "
                              f"locked until {state['locked_until']}",
                              code="wallet.password") from None
        if state["tries"] or state["locked_until"]:
            state["tries"], state["locked_until"] = 0, None
            self._write(state)
        return key

    def change_password(self, old: str, new: str, *, now: datetime | None = None) -> None:
        key = self.unlock(old, now=now)
        signing = self.unlock_signing(old, now=now)
        _check_password(new)
        state = self._read()
        state.update(self._seal(key, new))
        state[SIGNING] = self._seal(signing, new)
        self._write(state)

    # -- storage -----------------------------------------------------------------------

    def _seal(self, key: ec.EllipticCurvePrivateKey, password: str) -> dict[str, Any]:
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        params = self.kdf or KDF
        secret = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        sealed = AESGCM(_derive(password, salt, params)).encrypt(nonce, secret, public)
        return {"public_key": _b64(public), "kdf": {"salt": _b64(salt), **params},
                "nonce": _b64(nonce), "sealed_key": _b64(sealed)}

    def _open(self, state: dict[str, Any], password: str) -> ec.EllipticCurvePrivateKey:
        kdf = dict(state["kdf"])
        salt = base64.b64decode(kdf.pop("salt"))
        public = base64.b64decode(state["public_key"])
        secret = AESGCM(_derive(password, salt, kdf)).decrypt(
            base64.b64decode(state["nonce"]), base64.b64decode(state["sealed_key"]), public)
        key = serialization.load_der_private_key(secret, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def _read(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise WalletError(f"no wallet in {self.directory}; create one first",
                              code="wallet.missing") from None
        except (OSError, ValueError):
            raise WalletError(f"the wallet in {self.directory} cannot be read",
                              code="wallet.damaged") from None
        return state

    def _write(self, state: dict[str, Any]) -> None:
        temp = self.path.with_name(f".{STATE}.{secrets.token_hex(4)}")
        temp.write_text(json.dumps(state, indent=1))
        os.chmod(temp, 0o600)
        os.replace(temp, self.path)


def _derive(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hash_secret_raw(password.encode(), salt, time_cost=params["time_cost"],
                           memory_cost=params["memory_cost"], parallelism=params["parallelism"],
                           hash_len=32, type=Type.ID)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WalletError(f"a license password has at least {MIN_PASSWORD} characters",
                          code="wallet.password_short")
