"""`yunzhang keys` for real in a subprocess: list, rotate the KEK with the server's own settings,
one-line errors for a malformed KEK list and an HSM that cannot be used, and what `keys` says
when the keys are in the HSM."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import Cli, make_cli, migrated_sqlite_url  # noqa: F401
from tests.keystores import KEK_A, KEK_B, TOKEN_LABEL, USER_PIN, softhsm_token


def test_rotate_the_kek_and_keep_signing(tmp_path: Path, migrated_sqlite_url: str) -> None:  # noqa: F811
    under_a = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEK=KEK_A)
    made = under_a("pki", "init")
    assert made.returncode == 0, made.stderr
    listed = under_a("keys", "list")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 4  # 3 CAs + TSA
    assert all(" kek a " in line and line.endswith("live") for line in listed.stdout.splitlines())

    both = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEK=f"{KEK_B},{KEK_A}")
    rotated = both("keys", "rotate-kek")
    assert rotated.returncode == 0 and rotated.stdout.strip() == "4 key(s) rewrapped under KEK b"
    assert both("keys", "rotate-kek").stdout.strip() == "0 key(s) rewrapped under KEK b"

    only_b = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEK=KEK_B)
    crl = only_b("pki", "crl", "root", "--out", str(tmp_path / "root.crl"))  # signs with a CA key
    assert crl.returncode == 0, crl.stderr
    assert "key:rotate_kek" in only_b("audit", "list", "--limit", "3").stdout
    # Without KEK b the CA keys no longer unwrap: revoking the TSA certificate must sign a CRL.
    tsa_serial = next(line.split()[1].split("/")[1] for line in only_b("pki", "show").stdout.splitlines()
                      if line.startswith("tsa"))
    only_a = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEK=KEK_A)
    refused = only_a("pki", "revoke", "organization", tsa_serial, "--reason", "key_compromise")
    assert refused.returncode == 7 and refused.stderr.strip().endswith("[key.unwrap]"), refused.stderr
    assert "'b'" in refused.stderr
    revoked = only_b("pki", "revoke", "organization", tsa_serial, "--reason", "key_compromise")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout


def test_bad_key_settings_are_one_line_errors(tmp_path: Path, migrated_sqlite_url: str) -> None:  # noqa: F811
    for kek in ("nonsense", "a:c2hvcnQ=", f"{KEK_A},{KEK_A}"):
        done = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEK=kek)("keys", "list")
        assert done.returncode == 7 and done.stderr.startswith("error: YUNZHANG_KEK")
        assert done.stderr.strip().endswith("[config.kek]") and len(done.stderr.splitlines()) == 1
    module = softhsm_token()
    hsm = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEYSTORE="pkcs11",
                   YUNZHANG_PKCS11_MODULE=module, YUNZHANG_PKCS11_TOKEN_LABEL="no-such-token",
                   YUNZHANG_PKCS11_PIN="1")
    done = hsm("pki", "show")
    assert done.returncode == 7 and "no token 'no-such-token'" in done.stderr
    listed = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEYSTORE="pkcs11",
                      YUNZHANG_PKCS11_MODULE=module, YUNZHANG_PKCS11_TOKEN_LABEL="yunzhang-tests",
                      YUNZHANG_PKCS11_PIN="000000")("keys", "list")
    assert listed.returncode == 7 and listed.stderr.strip().endswith("[config.pkcs11]")


def test_with_the_hsm_keys_list_says_so_and_rotate_kek_refuses(
        tmp_path: Path, migrated_sqlite_url: str) -> None:  # noqa: F811
    hsm = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEYSTORE="pkcs11",
                   YUNZHANG_PKCS11_MODULE=softhsm_token(), YUNZHANG_PKCS11_TOKEN_LABEL=TOKEN_LABEL,
                   YUNZHANG_PKCS11_PIN=USER_PIN)
    listed = hsm("keys", "list")
    assert listed.returncode == 0 and "the keys are in the HSM" in listed.stdout, listed.stderr
    refused = hsm("keys", "rotate-kek")
    assert refused.returncode == 7 and len(refused.stderr.splitlines()) == 1
    assert "software key store only" in refused.stderr
    assert refused.stderr.strip().endswith("[config.keystore]")
    missing = make_cli(tmp_path, migrated_sqlite_url, YUNZHANG_KEYSTORE="pkcs11",
                       YUNZHANG_PKCS11_MODULE=str(tmp_path / "nope.so"))("keys", "list")
    assert missing.returncode == 7 and "there is no file" in missing.stderr
    assert missing.stderr.strip().endswith("[config.pkcs11]")


def test_an_unreadable_kek_file_is_a_one_line_error(tmp_path: Path,
                                                    migrated_sqlite_url: str) -> None:  # noqa: F811
    done = make_cli(tmp_path, migrated_sqlite_url,
                    YUNZHANG_KEK_FILE=str(tmp_path / "no-such-file"))("keys", "rotate-kek")
    assert done.returncode == 7 and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: YUNZHANG_KEK_FILE: cannot read")
    assert done.stderr.strip().endswith("[config.kek]")
