"""The time-stamp authority (RFC 3161) at POST /tsa, with OpenSSL as the client and the judge:
`openssl ts -query` asks, `openssl ts -verify` checks the token against the data and the
platform's root; refusals are RFC 3161 rejections with their failure bit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp  # type: ignore[import-untyped]
from fastapi.testclient import TestClient

from tests.e2e.persons_support import limiter_on_test_clock, problem  # noqa: F401
from tests.e2e.seals_support import ADMIN, chain, openssl, pki  # noqa: F401

QUERY = {"content-type": "application/timestamp-query"}


def ask(client: TestClient, body: bytes) -> Any:
    answer = client.post("/tsa", content=body, headers=QUERY)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/timestamp-reply"
    return answer.content


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
def test_openssl_gets_and_verifies_a_time_stamp(client: TestClient, pki: list[dict[str, Any]],
                                                tmp_path: Path, digest: str) -> None:
    data = tmp_path / "contract.pdf"
    data.write_bytes("这是一份合同。".encode() * 1000)
    query = tmp_path / "q.tsq"
    openssl("ts", "-query", "-data", str(data), f"-{digest}", "-cert", "-out", str(query))
    (tmp_path / "r.tsr").write_bytes(ask(client, query.read_bytes()))
    text = openssl("ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-text").stdout
    assert "Status: Granted." in text and "Policy OID: 2.25." in text
    assert "Accuracy: 0x01 seconds" in text and "Nonce: 0x" in text
    assert "Time stamp: Nov 22 08:00:00 2026 GMT" in text  # the platform clock
    pems = chain(client, tmp_path)
    untrusted = tmp_path / "untrusted.pem"
    untrusted.write_text(pems.organization.read_text())
    verified = openssl("ts", "-verify", "-data", str(data), "-in", str(tmp_path / "r.tsr"),
                       "-CAfile", str(pems.root), "-untrusted", str(untrusted))
    assert "Verification: OK" in verified.stdout
    verified = openssl("ts", "-verify", "-queryfile", str(query), "-in", str(tmp_path / "r.tsr"),
                       "-CAfile", str(pems.root), "-untrusted", str(untrusted))
    assert "Verification: OK" in verified.stdout  # the nonce and imprint of that very query
    data.write_bytes(data.read_bytes() + b"!")
    changed = openssl("ts", "-verify", "-data", str(data), "-in", str(tmp_path / "r.tsr"),
                      "-CAfile", str(pems.root), "-untrusted", str(untrusted), check=False)
    assert changed.returncode != 0 and "message imprint mismatch" in changed.stderr


def status_of(reply: bytes) -> tuple[str, set[str] | None]:
    status = tsp.PKIStatusInfo.load(_first_element(reply))
    return status["status"].native, status["fail_info"].native


def _first_element(der: bytes) -> bytes:
    """The PKIStatusInfo inside a TimeStampResp SEQUENCE (read without asn1crypto's
    TimeStampResp, which wrongly requires the token that rejections leave out)."""
    from asn1crypto import core  # type: ignore[import-untyped]

    outer = core.Sequence.load(der)
    first: bytes = outer[0].dump()
    return first


def test_refusals_are_rejections_with_the_failure_bit(client: TestClient, pki: list[dict[str, Any]],
                                                      tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.write_bytes(b"x")
    md5 = tmp_path / "md5.tsq"
    openssl("ts", "-query", "-data", str(data), "-md5", "-out", str(md5))
    assert status_of(ask(client, md5.read_bytes())) == ("rejection", {"bad_alg"})
    for garbage in (b"", b"not der", b"\x30\x03\x02\x01\x05"):
        assert status_of(ask(client, garbage)) == ("rejection", {"bad_data_format"})
    policy = tmp_path / "policy.tsq"
    openssl("ts", "-query", "-data", str(data), "-sha256", "-tspolicy", "1.2.3.4", "-out", str(policy))
    assert status_of(ask(client, policy.read_bytes())) == ("rejection", {"unaccepted_policy"})
    (tmp_path / "rej.tsr").write_bytes(ask(client, md5.read_bytes()))
    text = openssl("ts", "-reply", "-in", str(tmp_path / "rej.tsr"), "-text").stdout
    assert "Status: Rejected." in text and "unrecognized or unsupported algorithm" in text
    problem(client.post("/tsa", content=md5.read_bytes(), headers={"content-type": "text/plain"}),
            415, "tsa.media_type")


def test_no_time_stamps_before_the_pki_exists_or_after_the_tsa_is_revoked(
        client: TestClient, tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.write_bytes(b"x")
    query = tmp_path / "q.tsq"
    openssl("ts", "-query", "-data", str(data), "-sha256", "-out", str(query))
    problem(client.post("/tsa", content=query.read_bytes(), headers=QUERY), 409,
            "pki.not_initialized")
    made = client.post("/api/v1/admin/pki", json={}, headers=ADMIN).json()
    tsa_serial = made[3]["serial"]
    revoked = client.post(f"/api/v1/admin/certificates/organization/{tsa_serial}/revoke",
                          json={"reason": "key_compromise"}, headers=ADMIN)
    assert revoked.status_code == 200, revoked.text
    problem(client.post("/tsa", content=query.read_bytes(), headers=QUERY), 409, "tsa.unavailable")
