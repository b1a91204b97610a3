"""Key stores for tests: a real SoftHSM2 token made once per test session (PKCS #11), and the
software store in a directory of the test's own.

SoftHSM2 reads SOFTHSM2_CONF when the module is first loaded, so the token directory is made and
the variable set once, before the first load; every later store opens the same token. A missing
SoftHSM2 fails the test loudly: the test command installs it (scripts/ensure-packages.sh).
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from pkcs11.exceptions import UserAlreadyLoggedIn

from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.keystore import KekRing, SoftwareKeyStore
from yunzhang.adapters.keystore.pkcs11 import Pkcs11KeyStore

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL, USER_PIN, SO_PIN = "yunzhang-tests", "314159", "27182818"
KEK_A = "a:" + base64.b64encode(b"A" * 32).decode()
KEK_B = "b:" + base64.b64encode(b"B" * 32).decode()


@lru_cache(maxsize=1)
def softhsm_token() -> str:
    """Make the session's token; returns the module path."""
    if not Path(SOFTHSM_MODULE).is_file() or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is missing: run `bash scripts/ensure-packages.sh test`")
    home = Path(tempfile.mkdtemp(prefix="yunzhang-softhsm-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    made = subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
                           "--pin", USER_PIN, "--so-pin", SO_PIN], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.fail(f"softhsm2-util --init-token failed: {made.stderr.strip() or made.stdout}")
    return SOFTHSM_MODULE


def hsm_session() -> Any:
    """A session of the test's own on the token, to look at objects without the store."""
    token = pkcs11.lib(softhsm_token()).get_token(token_label=TOKEN_LABEL)
    try:
        return token.open(user_pin=USER_PIN)
    except UserAlreadyLoggedIn:  # a store of this process logged in already (per application)
        return token.open()


def pkcs11_store() -> Pkcs11KeyStore:
    return Pkcs11KeyStore(softhsm_token(), TOKEN_LABEL, USER_PIN)


def software_store(directory: Path, kek: str = KEK_A) -> SoftwareKeyStore:
    return SoftwareKeyStore(directory, KekRing.parse(kek, source="test"),
                            FixedClock(datetime(2026, 11, 22, 8, tzinfo=UTC)))
