"""The seal lifecycle over HTTP (seed 000 §4.4, 002 §4, 004 §2): apply, review, SMS, claim,
red/grey, suspend, resume, revoke; the certificate judged by OpenSSL; the mold history."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.e2e.persons_support import limiter_on_test_clock, problem  # noqa: F401
from tests.e2e.roles_support import API, Cast, Company, Person, cast, company, messages_to, post  # noqa: F401
from tests.e2e.seals_support import (  # noqa: F401
    AT_TIME,
    active_seal,
    applied,
    chain,
    claim,
    openssl,
    pki,
    review,
    reviewer,
    write_pem,
)
from yunzhang.bootstrap import Container
from yunzhang.errors import Conflict, NotFound
from yunzhang.services import seals
from yunzhang.services.context import Caller


def seal_of(client: TestClient, by: Person, seal_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/seals/{seal_id}", headers=by.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_apply_review_claim_turns_a_seal_from_grey_to_red(
        client: TestClient, container: Container, company: Company, reviewer: Person,
        pki: list[dict[str, Any]], tmp_path: Path) -> None:
    legal = company.legal_rep
    seal = applied(client, company, legal, "contract")
    assert (seal["status"], seal["colour"], seal["type_name"]) == ("pending_review", "none", "合同专用章")
    assert seal["name"] == f"{company.name}合同专用章"
    image = seal["image"]
    assert (image["source"], image["status"], image["shape"]) == ("generated", "pending", "round")
    png = client.get(image["url"], headers=legal.headers())
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as drawn:
        assert drawn.mode == "RGBA" and drawn.size == (992, 992)  # 42 mm at 600 dpi
        assert drawn.getpixel((0, 0))[3] == 0  # transparent corner

    queue = client.get(f"{API}/reviews/seals", headers=reviewer.headers())
    assert [item["id"] for item in queue.json()] == [seal["id"]]
    assert queue.json()[0]["uscc"] == company.uscc

    approved = review(client, reviewer, seal["id"])
    assert approved.status_code == 200 and approved.json()["status"] == "valid"
    assert any("合同专用章" in m and "已通过审核，可以申领" in m
               for m in messages_to(container, legal.phone))
    listed = client.get(company.path("seals"), headers=legal.headers()).json()
    assert [(s["status"], s["colour"]) for s in listed] == [("approved", "grey")]

    claimed = claim(client, legal, seal["id"])
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert (body["status"], body["colour"], body["claimed_by"]) == ("active", "red", legal.id)
    assert client.get(f"{API}/reviews/seals", headers=reviewer.headers()).json() == []

    cert = client.get(f"{API}/certificates/organization/{body['certificate_serial']}").json()
    assert (cert["profile"], cert["status"], cert["issuer"]) == ("seal", "good", "organization")
    assert f"CN={seal['name']}" in cert["subject"] and "OU=contract" in cert["subject"]
    assert f"2.5.4.97=NTRCN-{company.uscc}" in cert["subject"]
    pems = chain(client, tmp_path)
    leaf = write_pem(tmp_path, "seal", cert["pem"])
    verified = openssl("verify", "-x509_strict", "-attime", AT_TIME, "-CAfile", str(pems.root),
                       "-untrusted", str(pems.organization), str(leaf))
    assert verified.stdout.strip().endswith("OK")
    text = openssl("x509", "-in", str(leaf), "-noout", "-text", "-nameopt", "utf8").stdout
    assert seal["name"] in text and "Digital Signature, Non Repudiation" in text


def test_suspending_refuses_stamping_until_resumed_and_revoking_ends_the_key(
        client: TestClient, container: Container, company: Company, reviewer: Person,
        pki: list[dict[str, Any]], tmp_path: Path) -> None:
    legal = company.legal_rep
    seal = active_seal(client, company, reviewer)
    caller = Caller(actor=f"person:{legal.id}")

    def stamping() -> seals.StampingKey:
        return seals.stamping_key(seals.SealUser(uuid.UUID(legal.id), "bidding"),
                                  uuid.UUID(seal["id"]), caller=caller, uow=container.uow,
                                  clock=container.clock)

    key = stamping()
    assert container.keys.sign(key.key_id, b"before")  # the seal's key signs
    suspended = post(client, f"{API}/seals/{seal['id']}/suspend", legal, {"reason": "印章保管人离职"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    with pytest.raises(Conflict) as refused:
        stamping()
    assert refused.value.code == "seal.not_usable" and "印章保管人离职" in refused.value.detail
    assert post(client, f"{API}/seals/{seal['id']}/resume", legal).json()["status"] == "active"
    stamping()

    revoked = post(client, f"{API}/seals/{seal['id']}/revoke", legal, {"reason": "企业注销"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    with pytest.raises(Conflict):
        stamping()
    with pytest.raises(NotFound):
        container.keys.sign(key.key_id, b"after")  # destroyed
    cert = client.get(f"{API}/certificates/organization/{seal['certificate_serial']}").json()
    assert (cert["status"], cert["revocation_reason"]) == ("revoked", "cessation_of_operation")
    # The published CRL names it at once.
    crl = client.get("/pki/crl/organization.crl")
    assert crl.headers["content-type"] == "application/pkix-crl"
    (tmp_path / "org.crl").write_bytes(crl.content)
    listing = openssl("crl", "-inform", "DER", "-in", str(tmp_path / "org.crl"), "-noout",
                      "-text").stdout
    assert seal["certificate_serial"].upper().lstrip("0") in listing.replace(":", "").upper()
    for change in ("suspend", "resume", "revoke"):
        again = post(client, f"{API}/seals/{seal['id']}/{change}", legal, {"reason": "再次"}
                     if change != "resume" else None)
        problem(again, 409, "seal.state")


def test_every_mold_is_kept_valid_or_not(client: TestClient, container: Container,
                                         company: Company, reviewer: Person,
                                         pki: list[dict[str, Any]]) -> None:
    legal = company.legal_rep
    seal = applied(client, company, legal, "finance")
    rejected = review(client, reviewer, seal["id"], approve=False, reason="印模不清晰")
    assert rejected.json()["status"] == "rejected"
    assert seal_of(client, legal, seal["id"])["status"] == "rejected"
    assert any("未通过审核：印模不清晰" in m for m in messages_to(container, legal.phone))

    second = client.post(f"{API}/seals/{seal['id']}/molds", data={"width_mm": "45",
                                                                  "height_mm": "30"},
                         headers=legal.headers())
    assert second.status_code == 201, second.text
    assert seal_of(client, legal, seal["id"])["status"] == "pending_review"
    assert review(client, reviewer, seal["id"]).status_code == 200
    third = client.post(f"{API}/seals/{seal['id']}/molds", data={"colour": "blue"},
                        headers=legal.headers())
    assert third.status_code == 201
    detail = seal_of(client, legal, seal["id"])
    # The approved second mold stays the seal's image while the third waits for review.
    assert detail["image"]["id"] == second.json()["id"]
    assert detail["image"]["width_mm"] == 45.0
    assert review(client, reviewer, seal["id"]).status_code == 200
    detail = seal_of(client, legal, seal["id"])
    assert [(m["id"], m["status"]) for m in detail["history"]] == [
        (seal["image"]["id"], "rejected"), (second.json()["id"], "superseded"),
        (third.json()["id"], "valid")]
    assert detail["image"]["colour"] == "blue" and detail["status"] == "approved"


def test_an_agent_claims_a_seal_they_may_use(client: TestClient, container: Container,
                                             cast: Cast, reviewer: Person,
                                             pki: list[dict[str, Any]]) -> None:
    company = cast.company
    seal = applied(client, company, company.legal_rep, "contract")
    review(client, reviewer, seal["id"])
    refused = claim(client, cast.agent, seal["id"])
    problem(refused, 403, "permission.denied")
    granted = post(client, company.path("seal-grants"), company.legal_rep,
                   {"grantee_id": cast.agent.id, "seal_id": seal["id"],
                    "business_system": "bidding"})
    assert granted.status_code == 201, granted.text
    claimed = claim(client, cast.agent, seal["id"])
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == cast.agent.id


def test_the_preview_processes_a_photo_without_storing_it(
        client: TestClient, container: Container, company: Company) -> None:
    from tests.e2e.seals_support import seal_state
    from tests.unit.test_seal_images import photo

    before = seal_state(container)
    form = {"shape": "round", "width_mm": "40", "rotate": "90", "colour": "purple",
            "brightness": "1.1", "contrast": "1.3"}
    answer = client.post(f"{API}/seal-molds/preview", data=form,
                         files={"file": ("mold.jpg", photo(), "image/jpeg")},
                         headers=company.legal_rep.headers())
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(answer.content)) as image:
        assert image.size == (945, 945) and image.getpixel((472, 472))[:3] == (120, 30, 160)
    assert seal_state(container) == before
    problem(client.post(f"{API}/seal-molds/preview", data=form,
                        files={"file": ("mold.jpg", photo(), "image/jpeg")}), 401,
            "auth.session_invalid")
    problem(client.post(f"{API}/seal-molds/preview", data={**form, "rotate": "45"},
                        files={"file": ("mold.jpg", photo(), "image/jpeg")},
                        headers=company.legal_rep.headers()), 422, "image.rotate")
