"""One suite for both key stores (software and PKCS #11 on SoftHSM2): keys are made inside,
sign what OpenSSL and cryptography verify, and are gone once destroyed. Then what only the
software store has: nothing in clear at rest, tamper evidence, and rotation of the KEK."""

from __future__ import annotations

import json
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.keystores import KEK_A, KEK_B, pkcs11_store, software_store
from yunzhang.adapters.keystore import KekRing, SoftwareKeyStore
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.errors import ConfigurationError, ExternalServiceError, NotFound
from yunzhang.services.ports import KeyStore


@pytest.fixture(params=["software", "pkcs11"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> KeyStore:
    return software_store(tmp_path / "keys") if request.param == "software" else pkcs11_store()


def verify(public_der: bytes, signature: bytes, data: bytes) -> None:
    public = serialization.load_der_public_key(public_der)
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def openssl_verifies(public_der: bytes, signature: bytes, data: bytes, tmp: Path) -> bool:
    (tmp / "pub.der").write_bytes(public_der)
    (tmp / "sig").write_bytes(signature)
    (tmp / "data").write_bytes(data)
    done = subprocess.run(["openssl", "dgst", "-sha256", "-keyform", "DER", "-verify",
                           str(tmp / "pub.der"), "-signature", str(tmp / "sig"), str(tmp / "data")],
                          capture_output=True, text=True)
    return done.returncode == 0 and "Verified OK" in done.stdout


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_keys_are_made_inside_and_sign_what_others_verify(store: KeyStore, algorithm: KeyAlgorithm,
                                                          tmp_path: Path) -> None:
    ref = store.generate(algorithm, label="seal:test")
    other = store.generate(algorithm, label="seal:other")
    assert ref.key_id != other.key_id and ref.public_key != other.public_key
    assert store.public_key(ref.key_id) == ref.public_key
    data = "合同第一页".encode() * 100
    signature = store.sign(ref.key_id, data)
    verify(ref.public_key, signature, data)
    assert openssl_verifies(ref.public_key, signature, data, tmp_path)
    assert not openssl_verifies(ref.public_key, signature, data + b"!", tmp_path)
    public = serialization.load_der_public_key(ref.public_key)
    expected = {KeyAlgorithm.EC_P256: 256, KeyAlgorithm.RSA_2048: 2048, KeyAlgorithm.RSA_3072: 3072}
    assert public.key_size == expected[algorithm]  # type: ignore[union-attr]


def test_a_destroyed_key_signs_no_more(store: KeyStore) -> None:
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    store.sign(ref.key_id, b"x")
    store.destroy(ref.key_id)
    store.destroy(ref.key_id)  # idempotent
    with pytest.raises(NotFound) as gone:
        store.sign(ref.key_id, b"x")
    assert gone.value.code == "key.not_found"
    for unknown in ("sw-" + "0" * 32, "p11-" + "0" * 32, "../../etc/passwd", "", "x" * 500):
        with pytest.raises(NotFound):
            store.sign(unknown, b"x")


def test_signing_from_many_threads(store: KeyStore) -> None:
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    messages = [f"doc-{i}".encode() for i in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        signatures = list(pool.map(lambda m: store.sign(ref.key_id, m), messages))
    for message, signature in zip(messages, signatures, strict=True):
        verify(ref.public_key, signature, message)


def test_hsm_keys_are_sensitive_and_not_extractable() -> None:
    store = pkcs11_store()
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    assert store.is_sensitive(ref.key_id) == (True, False)


# --- the software store only -------------------------------------------------------------------

def test_no_private_key_is_in_clear_at_rest(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    store = software_store(directory)
    refs = [store.generate(a, label="t") for a in KeyAlgorithm]
    secrets_in_clear = []
    for ref in refs:
        key = store._private(ref.key_id)  # the test looks inside, to know what to search for
        secrets_in_clear.append(key.private_bytes(serialization.Encoding.DER,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
        numbers = key.private_numbers()
        secret = numbers.private_value if isinstance(numbers, ec.EllipticCurvePrivateNumbers) \
            else numbers.d
        secrets_in_clear.append(secret.to_bytes((secret.bit_length() + 7) // 8, "big"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = path.read_bytes()
        for secret in secrets_in_clear:
            assert secret not in raw and secret.hex().encode() not in raw
            assert __import__("base64").b64encode(secret) not in raw


def test_a_changed_file_does_not_unwrap(tmp_path: Path) -> None:
    store = software_store(tmp_path / "keys")
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    path = tmp_path / "keys" / f"{ref.key_id}.json"
    record = json.loads(path.read_text())
    record["algorithm"] = "rsa-2048"  # bound into the ciphertext's additional data
    path.write_text(json.dumps(record))
    fresh = software_store(tmp_path / "keys")  # no cached key
    with pytest.raises(ExternalServiceError) as refused:
        fresh.sign(ref.key_id, b"x")
    assert refused.value.code == "key.unwrap"


def test_rotating_the_kek_keeps_every_key_usable(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    under_a = software_store(directory, KEK_A)
    refs = [under_a.generate(a, label="t") for a in KeyAlgorithm]
    dead = under_a.generate(KeyAlgorithm.EC_P256, label="destroyed")
    under_a.destroy(dead.key_id)

    both = software_store(directory, f"{KEK_B},{KEK_A}")  # B new and current, A still readable
    assert all(both.sign(r.key_id, b"during") for r in refs)
    assert both.rotate_kek() == len(refs)
    assert both.rotate_kek() == 0
    assert {i.kek_id for i in both.list_keys() if i.destroyed_at is None} == {"b"}

    only_b = software_store(directory, KEK_B)
    for ref in refs:
        verify(ref.public_key, only_b.sign(ref.key_id, b"after"), b"after")
    only_a = software_store(directory, KEK_A)
    with pytest.raises(ConfigurationError) as missing:
        only_a.sign(refs[0].key_id, b"x")
    assert missing.value.code == "key.unwrap" and "'b'" in missing.value.detail


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "names no key-encryption key"),
    ("nocolon", "id:base64key"),
    ("a:not base64!", "not base64"),
    ("a:" + __import__("base64").b64encode(b"short").decode(), "must be 32 bytes"),
    (f"{KEK_A},{KEK_A}", "appears twice"),
    ("bad id:" + KEK_A.split(":")[1], "id:base64key"),
])
def test_kek_lists_are_checked(text: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as bad:
        KekRing.parse(text, source="YUNZHANG_KEK")
    assert bad.value.code == "config.kek" and fragment in bad.value.detail
    assert "QUFB" not in bad.value.detail  # never echoes key material


def test_the_kek_file_wins_and_allows_comments(tmp_path: Path) -> None:
    path = tmp_path / "keks"
    path.write_text(f"# rotated 2026-11\n{KEK_B}\n{KEK_A}  # old\n")
    ring = KekRing.from_settings(KEK_A, path)
    assert ring.current == "b" and set(ring.keys) == {"a", "b"}
    with pytest.raises(ConfigurationError):
        KekRing.from_settings(KEK_A, tmp_path / "missing")


def test_the_software_store_is_what_settings_pick(tmp_path: Path) -> None:
    from yunzhang.adapters.clock import SystemClock
    from yunzhang.adapters.keystore import build_keystore
    from yunzhang.config import load_settings

    store = build_keystore(load_settings(env="development", data_dir=tmp_path), SystemClock())
    assert isinstance(store, SoftwareKeyStore)
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    assert (tmp_path / "keys" / f"{ref.key_id}.json").is_file()
