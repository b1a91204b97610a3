"""One suite for both key stores (software and PKCS #11 on SoftHSM2): keys are made inside,
sign what OpenSSL and cryptography verify, and are gone once destroyed. Then what only the
software store has: nothing in clear at rest, tamper evidence, and rotation of the KEK."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive

from tests.keystores import (
    KEK_A,
    KEK_B,
    TOKEN_LABEL,
    USER_PIN,
    hsm_session,
    pkcs11_store,
    softhsm_token,
    software_store,
)
from yunzhang.adapters.keystore import KekRing, SoftwareKeyStore, software
from yunzhang.adapters.keystore.keyfiles import KeyFiles
from yunzhang.adapters.keystore.pkcs11 import Pkcs11KeyStore
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


def test_a_destroyed_key_is_refused_by_every_store_of_it(store: KeyStore, tmp_path: Path) -> None:
    """Two processes (here two stores) over the same keys: one destroys, the other, which has
    the key in hand, must refuse it at its next signature."""
    other = software_store(tmp_path / "keys") if store.name == "software" else pkcs11_store()
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    other.sign(ref.key_id, b"warm")
    store.destroy(ref.key_id)
    with pytest.raises(NotFound):
        other.sign(ref.key_id, b"x")


# --- the PKCS #11 store only -------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", [KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048])
def test_hsm_keys_are_sensitive_sign_only_and_not_extractable(algorithm: KeyAlgorithm) -> None:
    store = pkcs11_store()
    ref = store.generate(algorithm, label="seal:hsm")
    assert store.private_key_attributes(ref.key_id) == {
        "sensitive": True, "extractable": False, "always_sensitive": True,
        "never_extractable": True, "token": True, "private": True}
    session = hsm_session()  # a look of our own, past the store
    try:
        raw_id = bytes.fromhex(ref.key_id.removeprefix("p11-"))
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=raw_id)
        assert key.label == "seal:hsm"
        secret = Attribute.VALUE if algorithm is KeyAlgorithm.EC_P256 else \
            Attribute.PRIVATE_EXPONENT
        with pytest.raises(AttributeSensitive):
            key[secret]
        assert not key[Attribute.DERIVE] if algorithm is KeyAlgorithm.EC_P256 else \
            not key[Attribute.DECRYPT] and not key[Attribute.UNWRAP]
    finally:
        session.close()


# python-pkcs11 finalizes the failed search on the dead session in __del__, which complains.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_lost_hsm_session_is_reopened() -> None:
    store = pkcs11_store()
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    store._session.close()  # as when the HSM restarts or the connection drops
    verify(ref.public_key, store.sign(ref.key_id, b"again"), b"again")


@pytest.mark.parametrize(("module", "fragment"), [
    ("/nonexistent/libpkcs11.so", "there is no file"),
    ("/usr/lib/x86_64-linux-gnu/libz.so.1", "does not load as a PKCS #11 library"),
])
def test_an_unusable_pkcs11_module_is_a_configuration_error(module: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as bad:
        Pkcs11KeyStore(module, TOKEN_LABEL, USER_PIN)
    assert bad.value.code == "config.pkcs11" and fragment in bad.value.detail


def test_an_unknown_token_or_a_wrong_pin_is_a_configuration_error() -> None:
    module = softhsm_token()
    with pytest.raises(ConfigurationError) as bad:
        Pkcs11KeyStore(module, "no-such-token", USER_PIN)
    assert "no token 'no-such-token'" in bad.value.detail


# --- the software store only -------------------------------------------------------------------

def test_no_private_key_is_in_clear_at_rest(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    store = software_store(directory)
    refs = [store.generate(a, label="t") for a in KeyAlgorithm]
    secrets_in_clear: list[bytes] = []
    for ref in refs:
        key = store._private(ref.key_id)  # the test looks inside, to know what to search for
        secrets_in_clear.append(key.private_bytes(serialization.Encoding.DER,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
        numbers = key.private_numbers()
        scalar = numbers.private_value if isinstance(numbers, ec.EllipticCurvePrivateNumbers) \
            else numbers.d
        secrets_in_clear.append(scalar.to_bytes((scalar.bit_length() + 7) // 8, "big"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = path.read_bytes()
        for secret in secrets_in_clear:
            assert secret not in raw and secret.hex().encode() not in raw
            assert base64.b64encode(secret) not in raw


def rewrite(path: Path, record: dict[str, Any]) -> None:
    """Change a key file as an editor does: a new file renamed over the old."""
    path.with_suffix(".new").write_text(json.dumps(record))
    path.with_suffix(".new").replace(path)


def flip(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(("field", "change"), [
    ("ciphertext", lambda r: flip(r["ciphertext"], 40)),
    ("ciphertext", lambda r: flip(r["ciphertext"], -1)),  # the GCM tag
    ("nonce", lambda r: flip(r["nonce"], 0)),
    ("wrapped_key", lambda r: flip(r["wrapped_key"], 20)),
    ("wrapped_key", lambda r: flip(r["wrapped_key"], 0)),  # its nonce
    ("algorithm", lambda r: "rsa-2048"),  # bound into the ciphertext's additional data
])
def test_a_changed_file_does_not_unwrap(tmp_path: Path, field: str,
                                        change: Callable[[dict[str, Any]], str]) -> None:
    store = software_store(tmp_path / "keys")
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    path = tmp_path / "keys" / f"{ref.key_id}.json"
    record = json.loads(path.read_text())
    record[field] = change(record)
    rewrite(path, record)
    for reader in (store, software_store(tmp_path / "keys")):  # cached key or none, same answer
        with pytest.raises(ExternalServiceError) as refused:
            reader.sign(ref.key_id, b"x")
        assert refused.value.code == "key.unwrap" and ref.key_id in refused.value.detail
        assert "'a'" in refused.value.detail  # the KEK id


def test_a_wrong_kek_under_the_right_id_is_named(tmp_path: Path) -> None:
    store = software_store(tmp_path / "keys", KEK_A)
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    impostor = software_store(tmp_path / "keys", "a:" + base64.b64encode(b"Z" * 32).decode())
    with pytest.raises(ExternalServiceError) as refused:
        impostor.sign(ref.key_id, b"x")
    assert refused.value.code == "key.unwrap"
    assert f"key {ref.key_id} does not unwrap with KEK 'a'" in refused.value.detail


def test_a_key_file_is_bound_to_its_id(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    store = software_store(directory)
    first, second = (store.generate(KeyAlgorithm.EC_P256, label=n) for n in ("1", "2"))
    copied = json.loads((directory / f"{first.key_id}.json").read_text())
    rewrite(directory / f"{second.key_id}.json", copied)
    fresh = software_store(directory)
    with pytest.raises(ExternalServiceError) as renamed:
        fresh.sign(second.key_id, b"x")
    assert renamed.value.code == "key.store" and "names another key id" in renamed.value.detail
    copied["id"] = second.key_id  # the id in the file changed too: the additional data differs
    rewrite(directory / f"{second.key_id}.json", copied)
    with pytest.raises(ExternalServiceError) as relabelled:
        fresh.sign(second.key_id, b"x")
    assert relabelled.value.code == "key.unwrap"


def test_damaged_files_are_reported_and_strangers_ignored(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    store = software_store(directory)
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    (directory / "notes.txt").write_text("backup of 2026-11-01")
    (directory / "sw-not-a-key.json").write_text("{}")
    assert [i.key_id for i in store.list_keys()] == [ref.key_id]
    (directory / f"{ref.key_id}.json").write_text('{"id": "half a fi')
    with pytest.raises(ExternalServiceError) as damaged:
        software_store(directory).public_key(ref.key_id)
    assert damaged.value.code == "key.store" and ref.key_id in damaged.value.detail


def test_the_cache_of_unwrapped_keys_is_bounded(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(software, "CACHE_SIZE", 3)
    store = software_store(tmp_path / "keys")
    refs = [store.generate(KeyAlgorithm.EC_P256, label=str(i)) for i in range(6)]
    for ref in refs:
        verify(ref.public_key, store.sign(ref.key_id, b"x"), b"x")
    assert len(store._cache) == 3 and list(store._cache) == [r.key_id for r in refs[3:]]


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
    with pytest.raises(NotFound):
        only_b.sign(dead.key_id, b"x")  # rotation does not bring a destroyed key back
    only_a = software_store(directory, KEK_A)
    with pytest.raises(ConfigurationError) as missing:
        only_a.sign(refs[0].key_id, b"x")
    assert missing.value.code == "key.unwrap" and "'b'" in missing.value.detail


def test_changes_of_a_key_file_wait_for_each_other(tmp_path: Path) -> None:
    """Destroy and rotation read, change and write back a file; across processes they take the
    directory lock, so a rotation can never write back a key that was destroyed meanwhile."""
    directory = tmp_path / "keys"
    store = software_store(directory)
    ref = store.generate(KeyAlgorithm.EC_P256, label="t")
    with ThreadPoolExecutor(max_workers=1) as pool:
        with KeyFiles(directory).locked():  # another process, in the middle of a change
            destroying = pool.submit(store.destroy, ref.key_id)
            time.sleep(0.3)
            assert not destroying.done()
            assert store.sign(ref.key_id, b"x")  # readers do not wait
        destroying.result(timeout=10)
    with pytest.raises(NotFound):
        store.sign(ref.key_id, b"x")


def test_signing_goes_on_while_the_kek_is_rotated(tmp_path: Path) -> None:
    """The zero-downtime procedure: servers with the ring "B,A" keep signing while another
    process rewraps the keys from A to B, file by file."""
    directory = tmp_path / "keys"
    under_a = software_store(directory, KEK_A)
    refs = [under_a.generate(KeyAlgorithm.EC_P256, label=str(i)) for i in range(40)]
    server = software_store(directory, f"{KEK_B},{KEK_A}")
    for ref in refs[:20]:
        server.sign(ref.key_id, b"warm")  # half cached before the rotation, half not
    rotating = software_store(directory, f"{KEK_B},{KEK_A}")
    with ThreadPoolExecutor(max_workers=5) as pool:
        rotation = pool.submit(rotating.rotate_kek)
        signed = list(pool.map(lambda r: (r, server.sign(r.key_id, b"during")), refs * 3))
        assert rotation.result() == 40
    for ref, signature in signed:
        verify(ref.public_key, signature, b"during")
    assert {i.kek_id for i in server.list_keys()} == {"b"}


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "names no key-encryption key"),
    ("nocolon", "id:base64key"),
    ("a:not base64!", "not base64"),
    ("a:" + base64.b64encode(b"short").decode(), "must be 32 bytes"),
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
