"""The wallet's local state: the device key encrypted under the license password (argon2id,
AES-GCM), five wrong passwords lock it with growing delays, a change of password re-encrypts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from yunzhang.wallet import WalletError, WalletStore

FAST = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
T0 = datetime(2026, 11, 22, 8, tzinfo=UTC)


def store(tmp_path: Path) -> WalletStore:
    made = WalletStore(tmp_path / "wallet", kdf=FAST)
    made.create("http://127.0.0.1:8000/", "license-123")
    return made


def test_the_key_is_only_kept_encrypted(tmp_path: Path) -> None:
    wallet = store(tmp_path)
    key = wallet.unlock("license-123", now=T0)
    raw = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    text = wallet.path.read_text()
    state = json.loads(text)
    assert state["server"] == "http://127.0.0.1:8000" and state["device_id"] is None
    assert raw.hex() not in text and "license-123" not in text
    assert wallet.path.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert wallet.public_key() == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(WalletError) as again:
        wallet.create("http://x", "license-123")
    assert again.value.code == "wallet.exists"


def test_five_wrong_passwords_lock_with_growing_delays(tmp_path: Path) -> None:
    wallet = store(tmp_path)
    for left in (4, 3, 2, 1):
        with pytest.raises(WalletError) as wrong:
            wallet.unlock("guess", now=T0)
        assert wrong.value.code == "wallet.password" and f"{left} tries left" in wrong.value.detail
    with pytest.raises(WalletError) as fifth:
        wallet.unlock("guess", now=T0)
    assert "locked until 2026-11-22T08:01:00+00:00" in fifth.value.detail
    with pytest.raises(WalletError) as locked:  # even the right password waits
        wallet.unlock("license-123", now=T0 + timedelta(seconds=59))
    assert locked.value.code == "wallet.locked"
    with pytest.raises(WalletError):  # the sixth wrong one doubles the delay
        wallet.unlock("guess", now=T0 + timedelta(minutes=1))
    with pytest.raises(WalletError) as longer:
        wallet.unlock("license-123", now=T0 + timedelta(minutes=2, seconds=59))
    assert "until 2026-11-22T08:03:00+00:00" in longer.value.detail
    assert wallet.unlock("license-123", now=T0 + timedelta(minutes=3))  # and the count resets
    with pytest.raises(WalletError) as fresh:
        wallet.unlock("guess", now=T0 + timedelta(minutes=3))
    assert "4 tries left" in fresh.value.detail


def test_changing_the_license_password(tmp_path: Path) -> None:
    wallet = store(tmp_path)
    before = wallet.unlock("license-123", now=T0).private_numbers()
    with pytest.raises(WalletError) as short:
        wallet.change_password("license-123", "12345", now=T0)
    assert short.value.code == "wallet.password_short"
    wallet.change_password("license-123", "new-license-456", now=T0)
    assert wallet.unlock("new-license-456", now=T0).private_numbers() == before
    with pytest.raises(WalletError):
        wallet.unlock("license-123", now=T0)


def test_a_missing_or_damaged_wallet(tmp_path: Path) -> None:
    with pytest.raises(WalletError) as missing:
        WalletStore(tmp_path / "none").server()
    assert missing.value.code == "wallet.missing"
    wallet = store(tmp_path)
    wallet.path.write_text("{not json")
    with pytest.raises(WalletError) as damaged:
        wallet.server()
    assert damaged.value.code == "wallet.damaged"


def test_the_person_signing_key_is_a_second_key_under_the_same_password_and_lockout(
        tmp_path: Path) -> None:
    wallet = store(tmp_path)
    device = wallet.unlock("license-123", now=T0)
    signing = wallet.unlock_signing("license-123", now=T0)
    public = signing.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    assert public == wallet.signing_public_key() != wallet.public_key()
    raw = signing.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert raw.hex() not in wallet.path.read_text()
    # Wrong passwords on the signing key count toward the same lock.
    for _ in range(3):
        with pytest.raises(WalletError):
            wallet.unlock_signing("wrong-one", now=T0)
    for _ in range(2):
        with pytest.raises(WalletError):
            wallet.unlock("wrong-one", now=T0)
    with pytest.raises(WalletError) as locked:
        wallet.unlock_signing("license-123", now=T0)
    assert locked.value.code == "wallet.locked"
    later = T0 + timedelta(minutes=2)
    wallet.change_password("license-123", "license-456", now=later)
    assert wallet.unlock_signing("license-456", now=later).private_numbers() == \
        signing.private_numbers()
    assert wallet.unlock("license-456", now=later).private_numbers() == device.private_numbers()
    assert wallet.certificate() is None
    wallet.set_certificate(b"\x30\x03\x02\x01\x01")
    assert wallet.certificate() == b"\x30\x03\x02\x01\x01"


def test_a_wallet_made_before_the_signing_key_gets_one_once_its_password_is_right(
        tmp_path: Path) -> None:
    wallet = store(tmp_path)
    state = json.loads(wallet.path.read_text())
    del state["signing"], state["certificate"]
    wallet.path.write_text(json.dumps(state))
    with pytest.raises(WalletError) as wrong:
        wallet.unlock_signing("wrong-one", now=T0)
    assert wrong.value.code == "wallet.password"
    assert "signing" not in json.loads(wallet.path.read_text())
    key = wallet.unlock_signing("license-123", now=T0)
    assert wallet.unlock_signing("license-123", now=T0).private_numbers() == key.private_numbers()
