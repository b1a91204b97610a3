"""Password hashing (argon2id with the production parameters) and the HMAC keyring: keyed hashes
that separate keys and purposes, one-time codes, and session tokens with enough entropy."""

from __future__ import annotations

import base64
import re
import secrets

import pytest

from yunzhang.adapters.crypto import Argon2PasswordHasher, HmacKeyring

PASSWORD = "s3cret-pass 云章"
PRODUCTION_PARAMETERS = "$argon2id$v=19$m=65536,t=3,p=4$"


def fast_hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="module")
def production_hash() -> str:
    # One hash with the default (production) cost: about a third of a second.
    return Argon2PasswordHasher().hash(PASSWORD)


def keyring(secret: bytes = b"secret-key-" * 3, pii: bytes = b"pii-key-" * 4) -> HmacKeyring:
    return HmacKeyring(secret, pii)


def test_default_hash_is_argon2id_with_production_parameters(production_hash: str) -> None:
    assert production_hash.startswith(PRODUCTION_PARAMETERS)
    assert not Argon2PasswordHasher().needs_rehash(production_hash)


def test_production_hash_verifies_the_right_password_only(production_hash: str) -> None:
    hasher = Argon2PasswordHasher()
    assert hasher.verify(production_hash, PASSWORD)
    assert not hasher.verify(production_hash, PASSWORD + " ")
    assert not hasher.verify(production_hash, "")


def test_hashes_are_salted() -> None:
    hasher = fast_hasher()
    first, second = hasher.hash(PASSWORD), hasher.hash(PASSWORD)
    assert first != second
    assert hasher.verify(first, PASSWORD) and hasher.verify(second, PASSWORD)


def test_weaker_hash_needs_rehash_under_production_parameters() -> None:
    # log_in upgrades such hashes; this is what tells it to.
    weak = fast_hasher().hash(PASSWORD)
    assert weak.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert Argon2PasswordHasher().needs_rehash(weak)
    assert Argon2PasswordHasher().verify(weak, PASSWORD)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not-a-hash",
        "$argon2id$v=19$m=65536,t=3,p=4$garbage",
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$",
        "$2b$12$abcdefghijklmnopqrstuuMq2jIfaDUOb9gLA0cIQJhF5p5k6A3K",  # bcrypt
        "plain-text-password",
    ],
)
def test_malformed_stored_hash_is_a_false_not_an_exception(stored: str) -> None:
    assert fast_hasher().verify(stored, PASSWORD) is False


def test_truncated_real_hash_is_false() -> None:
    good = fast_hasher().hash(PASSWORD)
    assert fast_hasher().verify(good[:-4], PASSWORD) is False


def test_pii_hash_is_deterministic_and_keyed() -> None:
    number = "11010519491231002X"
    assert keyring().pii_hash(number) == keyring().pii_hash(number)
    assert re.fullmatch(r"[0-9a-f]{64}", keyring().pii_hash(number))
    assert keyring().pii_hash(number) != keyring().pii_hash("110105194912310029")
    assert keyring(pii=b"another-pii-key" * 3).pii_hash(number) != keyring().pii_hash(number)


def test_pii_hash_survives_a_secret_key_rotation() -> None:
    # ID-number hashes are lookup keys; rotating the secret key must not orphan them.
    number = "11010519491231002X"
    assert keyring(secret=b"rotated-secret" * 3).pii_hash(number) == keyring().pii_hash(number)


def test_secret_hash_separates_purposes_and_keys() -> None:
    ring = keyring()
    assert ring.secret_hash("session", "value") == ring.secret_hash("session", "value")
    assert ring.secret_hash("session", "value") != ring.secret_hash("csrf", "value")
    assert ring.secret_hash("session", "value") != ring.pii_hash("value")
    assert keyring(secret=b"rotated-secret" * 3).secret_hash("session", "value") != \
        ring.secret_hash("session", "value")


def test_same_compares_exactly() -> None:
    ring = keyring()
    assert ring.same("abc", "abc")
    assert not ring.same("abc", "abd")
    assert not ring.same("abc", "abc ")


@pytest.mark.parametrize("digits", [4, 6, 8])
def test_numeric_code_has_the_requested_number_of_digits(digits: int) -> None:
    codes = {keyring().numeric_code(digits) for _ in range(200)}
    assert all(re.fullmatch(rf"\d{{{digits}}}", code) for code in codes)
    assert len(codes) > 150  # random, not a constant or a short cycle


def test_numeric_code_keeps_leading_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "randbelow", lambda bound: 42)
    assert keyring().numeric_code(6) == "000042"


def test_tokens_carry_at_least_32_random_bytes() -> None:
    tokens = [keyring().token() for _ in range(50)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert len(token) >= 43
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32
