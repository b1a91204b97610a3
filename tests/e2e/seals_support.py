"""Helpers for the seal and PKI end-to-end tests: the platform PKI, a seal reviewer, applying
for seals over multipart forms, and OpenSSL as the independent judge of what the platform
issues and publishes.

Imported by tests/e2e/test_seals_api.py, test_seal_refusals_api.py, test_certificates_api.py
and test_pki_api.py, each of which also imports the ``company``/``cast`` fixtures of
roles_support and the autouse rate-limiter fixture of persons_support.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.roles_support import API, Company, Person, new_person, post
from yunzhang.adapters.db import tables
from yunzhang.bootstrap import Container

ADMIN = {"Authorization": "Bearer dev-admin-token"}
# The test clock's instant as OpenSSL's -attime wants it (2026-11-22 08:00 UTC), so that
# validity is judged at the same moment the platform issued at.
AT_TIME = "1795334400"
# OpenSSL judges an OCSP answer's thisUpdate/nextUpdate by the real clock, not -attime: allow
# the test clock to be far from it (the signature and the chain are still checked at AT_TIME).
OCSP_AT = ("-attime", AT_TIME, "-validity_period", "315360000")


def openssl(*args: str, stdin: bytes | None = None, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
    """Run OpenSSL, failing loudly when it is not installed (never skipping)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing: run `bash scripts/ensure-packages.sh test`")
    done = subprocess.run(["openssl", *args], input=stdin.decode("latin-1") if stdin else None,
                          capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, f"openssl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def init_pki(client: TestClient, algorithm: str = "ec-p256") -> list[dict[str, Any]]:
    response = client.post(f"{API}/admin/pki", json={"algorithm": algorithm}, headers=ADMIN)
    assert response.status_code == 201, response.text
    body: list[dict[str, Any]] = response.json()
    return body


@pytest.fixture
def pki(client: TestClient) -> list[dict[str, Any]]:
    """The platform PKI: root, organization CA, person CA, TSA."""
    return init_pki(client)


@pytest.fixture
def reviewer(client: TestClient, container: Container) -> Person:
    """A verified person the operator made seal reviewer (印章审核员)."""
    person = new_person(client, container, 40, "周审核")
    response = client.post(f"{API}/admin/staff", json={"phone": person.phone,
                                                       "role": "seal_reviewer"}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return person


def write_pem(directory: Path, name: str, pem: str) -> Path:
    path = directory / f"{name}.pem"
    path.write_text(pem)
    return path


@dataclass(frozen=True)
class Chain:
    """The CA certificates as PEM files, for OpenSSL."""

    root: Path
    organization: Path
    person: Path


def chain(client: TestClient, directory: Path) -> Chain:
    """Fetched the way a relying party would: DER from the AIA caIssuers addresses."""
    paths = {}
    for name in ("root", "organization", "person"):
        response = client.get(f"/pki/ca/{name}.cer")
        assert response.status_code == 200 and \
            response.headers["content-type"] == "application/pkix-cert"
        der = directory / f"{name}.cer"
        der.write_bytes(response.content)
        paths[name] = directory / f"{name}.pem"
        openssl("x509", "-inform", "DER", "-in", str(der), "-out", str(paths[name]))
    return Chain(**paths)


def apply_seal(client: TestClient, company: Company, by: Person, seal_type: str = "contract",
               *, files: dict[str, Any] | None = None, **fields: Any) -> httpx.Response:
    """POST the multipart application form; no file means a generated image."""
    data = {"type": seal_type, **{k: str(v) for k, v in fields.items()}}
    response: httpx.Response = client.post(company.path("seals"), data=data, files=files,
                                           headers=by.headers())
    return response


def applied(client: TestClient, company: Company, by: Person, seal_type: str = "contract",
            **fields: Any) -> dict[str, Any]:
    response = apply_seal(client, company, by, seal_type, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def review(client: TestClient, reviewer: Person, seal_id: str, approve: bool = True,
           reason: str | None = None) -> httpx.Response:
    return post(client, f"{API}/seals/{seal_id}/review", reviewer,
                {"approve": approve, "reason": reason})


def claim(client: TestClient, by: Person, seal_id: str) -> httpx.Response:
    return post(client, f"{API}/seals/{seal_id}/claim", by)


def active_seal(client: TestClient, company: Company, reviewer: Person,
                seal_type: str = "contract", **fields: Any) -> dict[str, Any]:
    """Applied for by the legal representative, approved, claimed: red."""
    seal = applied(client, company, company.legal_rep, seal_type, **fields)
    assert review(client, reviewer, seal["id"]).status_code == 200
    response = claim(client, company.legal_rep, seal["id"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert (body["status"], body["colour"]) == ("active", "red")
    return body


_TABLES = (tables.seals, tables.seal_images, tables.certificates, tables.authorities,
           tables.staff_roles, tables.seal_types, tables.outbox_messages)


def seal_state(container: Container) -> dict[str, Any]:
    """Every row a seal or certificate request writes to, the number of audit events, and the
    key files of the software key store."""
    with container.session_factory() as session:
        found: dict[str, Any] = {
            table.name: sorted(tuple(str(v) for v in row) for row in session.execute(select(table)))
            for table in _TABLES}
        found["audit_events"] = session.scalar(
            select(func.count()).select_from(tables.audit_events))
    keys_dir = container.settings.effective_keys_dir
    found["key_files"] = sorted(p.name for p in keys_dir.glob("*")) if keys_dir.exists() else []
    return found
