"""The platform PKI over HTTP: `pki init` once, with either algorithm; the hierarchy, CRLs and
CA certificates as OpenSSL reads them; what happens before the PKI exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock, problem  # noqa: F401
from tests.e2e.roles_support import API, Company, company, post  # noqa: F401
from tests.e2e.seals_support import (  # noqa: F401
    ADMIN,
    AT_TIME,
    applied,
    chain,
    init_pki,
    openssl,
    reviewer,
    seal_state,
    write_pem,
)
from yunzhang.bootstrap import Container


@pytest.mark.parametrize("algorithm", ["ec-p256", "rsa-2048"])
def test_init_makes_root_issuing_cas_and_tsa_that_openssl_accepts(
        client: TestClient, algorithm: str, tmp_path: Path) -> None:
    made = init_pki(client, algorithm)
    assert [(c["profile"], c["issuer"]) for c in made] == [
        ("root", "root"), ("issuing_ca", "root"), ("issuing_ca", "root"), ("tsa", "organization")]
    assert {c["algorithm"] for c in made} == {algorithm}
    pems = chain(client, tmp_path)
    for ca in (pems.organization, pems.person):
        openssl("verify", "-x509_strict", "-attime", AT_TIME, "-CAfile", str(pems.root), str(ca))
    tsa = write_pem(tmp_path, "tsa", made[3]["pem"])
    openssl("verify", "-x509_strict", "-attime", AT_TIME, "-purpose", "timestampsign",
            "-CAfile", str(pems.root), "-untrusted", str(pems.organization), str(tsa))
    text = openssl("x509", "-in", str(tsa), "-noout", "-text").stdout
    assert "critical" in text.split("X509v3 Extended Key Usage")[1].splitlines()[0]
    assert "Time Stamping" in text and "http://127.0.0.1:8000/pki/ocsp/organization" in text
    for name, issuer in (("root", pems.root), ("organization", pems.root), ("person", pems.root)):
        crl = client.get(f"/pki/crl/{name}.crl")
        path = tmp_path / f"{name}.crl"
        path.write_bytes(crl.content)
        verified = openssl("crl", "-inform", "DER", "-in", str(path), "-CAfile",
                           str(pems.organization if name == "organization" else
                               pems.person if name == "person" else issuer), "-noout")
        assert "verify OK" in verified.stderr + verified.stdout
    listed = client.get(f"{API}/pki").json()
    assert [c["serial"] for c in listed] == [c["serial"] for c in made]


def test_init_happens_once_and_only_for_the_operator(client: TestClient,
                                                     container: Container) -> None:
    problem(client.post(f"{API}/admin/pki", json={}), 401, "auth.operator_required")
    problem(client.post(f"{API}/admin/pki", json={"algorithm": "dsa"}, headers=ADMIN), 422,
            "request.invalid")
    init_pki(client)
    before = seal_state(container)
    again = client.post(f"{API}/admin/pki", json={}, headers=ADMIN)
    problem(again, 409, "pki.exists")
    after = seal_state(container)
    # Nothing written, and the keys made for the refused attempt are gone again.
    assert {k: v for k, v in after.items() if k not in ("audit_events", "key_files")} == \
        {k: v for k, v in before.items() if k not in ("audit_events", "key_files")}


def test_before_the_pki_exists_claims_and_crls_say_what_to_do(
        client: TestClient, container: Container, company: Company,
        reviewer: Any) -> None:
    problem(client.get("/pki/crl/root.crl"), 409, "pki.not_initialized")
    seal = applied(client, company, company.legal_rep, "contract")
    assert post(client, f"{API}/seals/{seal['id']}/review", reviewer,
                {"approve": True}).status_code == 200
    before = seal_state(container)
    refused = post(client, f"{API}/seals/{seal['id']}/claim", company.legal_rep)
    body = problem(refused, 409, "pki.not_initialized")
    assert "yunzhang pki init" in body["detail"]
    after = seal_state(container)
    assert {k: v for k, v in after.items() if k != "audit_events"} == \
        {k: v for k, v in before.items() if k != "audit_events"}  # no key was made
