"""Enterprise certificates (法人一证通) and personal certificates over HTTP: issue, renew,
revoke, OCSP and CRL as OpenSSL reads them, and the refusals."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock, problem, tiny_png  # noqa: F401
from tests.e2e.roles_support import (  # noqa: F401
    API,
    Cast,
    Company,
    Person,
    cast,
    company,
    liveness,
    new_person,
    post,
)
from tests.e2e.seals_support import (  # noqa: F401
    ADMIN,
    AT_TIME,
    OCSP_AT,
    chain,
    openssl,
    pki,
    seal_state,
    write_pem,
)
from yunzhang.bootstrap import Container

ME_CERTS = f"{API}/me/certificates"


def csr_pem(key: Any = None, name: str = "device") -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.PEM).decode()


def ocsp_status(client: TestClient, tmp_path: Path, issuer: Path, root: Path, leaf: Path,
                ca: str) -> str:
    """Ask the responder by POST the way `openssl ocsp -url` does, and let OpenSSL judge the
    signed answer; returns OpenSSL's line about the certificate."""
    request = tmp_path / "req.der"
    openssl("ocsp", "-issuer", str(issuer), "-cert", str(leaf), "-reqout", str(request))
    answer = client.post(f"/pki/ocsp/{ca}", content=request.read_bytes(),
                         headers={"content-type": "application/ocsp-request"})
    assert answer.headers["content-type"] == "application/ocsp-response"
    response = tmp_path / "resp.der"
    response.write_bytes(answer.content)
    # -reqin with -no_nonce: the request read back keeps its nonce, and OpenSSL checks that the
    # answer echoes it (without -no_nonce it would add a second, fresh nonce of its own).
    done = openssl("ocsp", "-respin", str(response), "-reqin", str(request), "-no_nonce",
                   "-issuer", str(issuer), "-cert", str(leaf), "-CAfile", str(root), *OCSP_AT)
    assert "Response verify OK" in done.stderr + done.stdout, done.stderr
    return next(line for line in done.stdout.splitlines() if line.startswith(str(leaf)))


def test_the_enterprise_certificate_is_issued_renewed_and_revoked(
        client: TestClient, container: Container, cast: Cast, pki: list[dict[str, Any]],
        tmp_path: Path) -> None:
    company = cast.company
    issued = post(client, company.path("certificate"), cast.admin, {})
    assert issued.status_code == 201, issued.text
    first = issued.json()
    assert (first["profile"], first["issuer"], first["status"]) == ("enterprise", "organization", "good")
    assert f"O={company.name}" in first["subject"] and f"NTRCN-{company.uscc}" in first["subject"]
    pems = chain(client, tmp_path)
    leaf = write_pem(tmp_path, "first", first["pem"])
    openssl("verify", "-x509_strict", "-attime", AT_TIME, "-CAfile", str(pems.root),
            "-untrusted", str(pems.organization), str(leaf))
    assert ocsp_status(client, tmp_path, pems.organization, pems.root, leaf,
                       "organization").endswith(": good")

    again = post(client, company.path("certificate"), cast.admin, {})
    problem(again, 409, "certificate.exists")
    renewed = post(client, company.path("certificate"), company.legal_rep, {"renew": True})
    assert renewed.status_code == 201 and renewed.json()["serial"] != first["serial"]
    status = ocsp_status(client, tmp_path, pems.organization, pems.root, leaf, "organization")
    assert status.endswith(": revoked")
    listed = client.get(company.path("certificates"), headers=cast.agent.headers()).json()
    assert {(c["serial"], c["status"], c["revocation_reason"]) for c in listed} == {
        (first["serial"], "revoked", "superseded"), (renewed.json()["serial"], "good", None)}

    before = seal_state(container)
    refused = post(client, company.path("certificate"), cast.agent, {"renew": True})
    problem(refused, 403, "permission.denied")
    assert seal_state(container) | {"audit_events": 0} == before | {"audit_events": 0}
    revoked = post(client, company.path("certificate/revoke"), company.legal_rep,
                   {"reason": "key_compromise"})
    assert revoked.json()["revocation_reason"] == "key_compromise"
    problem(post(client, company.path("certificate/revoke"), company.legal_rep, {}), 404,
            "certificate.not_found")


def test_a_person_gets_a_three_month_certificate_only_after_liveness(
        client: TestClient, container: Container, company: Company, pki: list[dict[str, Any]],
        tmp_path: Path) -> None:
    person = company.legal_rep  # identity-verified, no liveness check yet
    before = seal_state(container)
    early = post(client, ME_CERTS, person, {"csr": csr_pem()})
    problem(early, 409, "certificate.person_not_verified")
    assert seal_state(container)["certificates"] == before["certificates"]
    liveness(client, person, tiny_png())
    made = post(client, ME_CERTS, person, {"csr": csr_pem()})
    assert made.status_code == 201, made.text
    cert = made.json()
    assert (cert["issuer"], cert["profile"]) == ("person", "person")
    assert f"CN={person.name}" in cert["subject"] and f"serialNumber=PID-{person.id}" in cert["subject"]
    parsed = x509.load_pem_x509_certificate(cert["pem"].encode())
    lifetime = parsed.not_valid_after_utc - parsed.not_valid_before_utc
    assert 89 <= lifetime.days <= 91  # seed 001 §3.6: three months
    pems = chain(client, tmp_path)
    leaf = write_pem(tmp_path, "mine", cert["pem"])
    openssl("verify", "-x509_strict", "-attime", AT_TIME, "-CAfile", str(pems.root),
            "-untrusted", str(pems.person), str(leaf))

    renewal = post(client, ME_CERTS, person, {"csr": csr_pem(), "renews": cert["serial"]})
    assert renewal.status_code == 201
    mine = client.get(ME_CERTS, headers=person.headers()).json()
    assert [(c["serial"], c["status"]) for c in mine if c["serial"] == cert["serial"]] == [
        (cert["serial"], "revoked")]
    assert ocsp_status(client, tmp_path, pems.person, pems.root, leaf, "person").endswith(": revoked")
    lost = post(client, f"{ME_CERTS}/{renewal.json()['serial']}/revoke", person,
                {"reason": "key_compromise"})
    assert lost.json()["revocation_reason"] == "key_compromise"


def test_bad_certificate_requests_are_refused_and_change_nothing(
        client: TestClient, container: Container, cast: Cast, pki: list[dict[str, Any]]) -> None:
    person = cast.admin
    liveness(client, person, tiny_png())
    before = seal_state(container)
    pem = csr_pem()
    tampered = pem.replace(pem.splitlines()[3][:8], "AAAAAAAA")
    for bad in ("not a request", tampered, csr_pem(ed25519.Ed25519PrivateKey.generate()),
                csr_pem(ec.generate_private_key(ec.SECP384R1()))):
        problem(post(client, ME_CERTS, person, {"csr": bad}), 422, "certificate.csr")
    problem(post(client, ME_CERTS, person, {"csr": "A" * 70_000}), 422, "request.invalid")
    others = post(client, f"{ME_CERTS}/abc123/revoke", cast.agent, {})
    problem(others, 404, "certificate.not_found")
    problem(post(client, f"{ME_CERTS}/xyz/revoke", person, {}), 422, "certificate.serial")
    after = seal_state(container)
    assert {k: v for k, v in after.items() if k != "audit_events"} == \
        {k: v for k, v in before.items() if k != "audit_events"}


def test_revoking_a_person_revokes_their_certificates_and_ends_their_logins(
        client: TestClient, container: Container, company: Company,
        pki: list[dict[str, Any]]) -> None:
    person = company.legal_rep
    liveness(client, person, tiny_png())
    cert = post(client, ME_CERTS, person, {"csr": csr_pem()}).json()
    problem(client.post(f"{API}/admin/persons/{person.phone}/revoke", json={"reason": "冒用身份"}),
            401, "auth.operator_required")
    done = client.post(f"{API}/admin/persons/{person.phone}/revoke", json={"reason": "冒用身份"},
                       headers=ADMIN)
    assert done.status_code == 200 and done.json()["revoked_certificates"] == [cert["serial"]]
    status = client.get(f"{API}/certificates/person/{cert['serial']}").json()
    assert (status["status"], status["revocation_reason"]) == ("revoked", "cessation_of_operation")
    problem(client.get(ME_CERTS, headers=person.headers()), 401, "auth.session_invalid")
    again = client.post(f"{API}/admin/persons/{person.phone}/revoke", json={"reason": "x"},
                        headers=ADMIN)
    problem(again, 409, "person.revoked")


def test_ocsp_by_get_and_malformed_requests(client: TestClient, company: Company,
                                            pki: list[dict[str, Any]], tmp_path: Path) -> None:
    cert = post(client, company.path("certificate"), company.legal_rep, {}).json()
    pems = chain(client, tmp_path)
    leaf = write_pem(tmp_path, "leaf", cert["pem"])
    request = tmp_path / "req.der"
    openssl("ocsp", "-issuer", str(pems.organization), "-cert", str(leaf), "-reqout", str(request))
    encoded = base64.b64encode(request.read_bytes()).decode()
    answer = client.get(f"/pki/ocsp/organization/{encoded}")
    (tmp_path / "get.der").write_bytes(answer.content)
    done = openssl("ocsp", "-respin", str(tmp_path / "get.der"), "-issuer", str(pems.organization),
                   "-cert", str(leaf), "-CAfile", str(pems.root), *OCSP_AT, "-no_nonce")
    assert f"{leaf}: good" in done.stdout
    for garbage in (b"", b"\x30\x03\x02\x01\x00", b"not der at all"):
        bad = client.post("/pki/ocsp/organization", content=garbage,
                          headers={"content-type": "application/ocsp-request"})
        assert bad.status_code == 200
        (tmp_path / "bad.der").write_bytes(bad.content)
        text = openssl("ocsp", "-respin", str(tmp_path / "bad.der"), "-resp_text", "-noverify",
                       check=False)
        assert "malformedrequest" in (text.stdout + text.stderr).lower().replace(" ", "")
    problem(client.get("/pki/crl/nope.crl"), 404, "pki.ca_not_found")
    problem(client.post("/pki/ocsp/nope", content=b"x"), 404, "pki.ca_not_found")
