"""The published PKI through a real HTTP server, with OpenSSL as the client: `openssl ocsp -url`
asks the responder, `openssl verify -crl_download` fetches the CRL from the distribution point
written into the certificate. Real time, real commits, a database of its own."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FAST_HASHER
from tests.live import free_port, serving
from tests.e2e.seals_support import openssl
from yunzhang.adapters.db import migrate
from yunzhang.adapters.db.engine import make_engine
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import load_settings
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import RevocationReason
from yunzhang.services import certificates, pki
from yunzhang.services.context import Caller
from yunzhang.web.app import create_app

OPERATOR = Caller(actor="operator", request_id="live")


@pytest.fixture
def server(blank_database_url: str, tmp_path: Path) -> Iterator[Container]:
    engine = make_engine(blank_database_url)
    migrate.upgrade(engine)
    engine.dispose()
    port = free_port()
    settings = load_settings(env="development", data_dir=tmp_path / "var",
                             database_url=blank_database_url, public_url=f"http://127.0.0.1:{port}")
    container = build_container(settings, passwords=FAST_HASHER, limiter=MemoryRateLimiter())
    app = create_app(settings, container=container, deliver_outbox=False)
    with serving(app, port):
        yield container
    container.engine.dispose()


def test_openssl_asks_the_responder_and_downloads_the_crl(server: Container, tmp_path: Path) -> None:
    made = pki.init_pki(pki.InitPki(KeyAlgorithm.EC_P256), caller=OPERATOR, uow=server.uow,
                        keys=server.keys, factory=server.x509, clock=server.clock,
                        settings=server.settings)
    root, org, _, tsa = made
    files = {}
    for name, cert in (("root", root), ("org", org), ("tsa", tsa)):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_text(ssl.DER_cert_to_PEM_cert(cert.der))
    url = f"{server.settings.public_url}/pki/ocsp/organization"
    ask = ("ocsp", "-issuer", str(files["org"]), "-cert", str(files["tsa"]), "-url", url,
           "-CAfile", str(files["root"]))
    answer = openssl(*ask)
    assert f"{files['tsa']}: good" in answer.stdout and "Response verify OK" in answer.stderr
    verify = ("verify", "-crl_check", "-crl_download", "-CAfile", str(files["root"]),
              "-untrusted", str(files["org"]), str(files["tsa"]))
    assert openssl(*verify).stdout.strip().endswith("OK")

    certificates.revoke_by_operator("organization", tsa.serial, RevocationReason.KEY_COMPROMISE,
                                    caller=OPERATOR, uow=server.uow, keys=server.keys,
                                    factory=server.x509, clock=server.clock)
    answer = openssl(*ask)
    assert f"{files['tsa']}: revoked" in answer.stdout and "Reason: keyCompromise" in answer.stdout
    refused = openssl(*verify, check=False)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
