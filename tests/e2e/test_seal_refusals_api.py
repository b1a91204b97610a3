"""Refused seal requests over HTTP: each gets its precise problem, leaves nothing behind (no
seal, no image, no key file, no certificate) and is written to the audit log."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.e2e.persons_support import limiter_on_test_clock, problem  # noqa: F401
from tests.e2e.roles_support import (  # noqa: F401
    API,
    OPERATOR,
    Cast,
    Company,
    cast,
    company,
    newest_event,
    post,
)
from tests.e2e.seals_support import (  # noqa: F401
    ADMIN,
    applied,
    apply_seal,
    claim,
    pki,
    review,
    reviewer,
    seal_state,
)
from tests.registry_samples import company_uscc, person_id, registry_row, to_csv
from tests.unit.test_seal_images import fifty_megapixel_jpeg, png_declaring
from yunzhang.bootstrap import Container


def unchanged(container: Container, before: dict[str, Any]) -> None:
    after = seal_state(container)
    assert {k: v for k, v in after.items() if k != "audit_events"} == \
        {k: v for k, v in before.items() if k != "audit_events"}


def audited_refusal(container: Container, response: Any, code: str) -> None:
    event = newest_event(container)
    assert (event.request_id, event.outcome) == (response.headers["x-request-id"], "denied")
    assert event.details.get("code", "permission.denied") == code


def jpeg(width: int = 600, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (250, 250, 250)).save(out, format="JPEG")
    return out.getvalue()


PHOTO_FIELDS = {"shape": "round", "width_mm": 42}


@pytest.mark.parametrize(("name", "data", "status", "code"), [
    ("not an image", "一份合同".encode(), 422, "image.unsupported"),
    ("svg with a script", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
     422, "image.unsupported"),
    ("truncated", jpeg()[:300], 422, "image.corrupt"),
    ("decompression bomb", png_declaring(40000, 40000), 422, "image.too_many_pixels"),
    ("50 megapixels", fifty_megapixel_jpeg(), 422, "image.too_many_pixels"),
    ("blank", jpeg(), 422, "image.blank"),
])
def test_bad_molds_are_refused_before_anything_is_stored(
        client: TestClient, container: Container, company: Company, name: str, data: bytes,
        status: int, code: str) -> None:
    before = seal_state(container)
    response = apply_seal(client, company, company.legal_rep, "contract",
                          files={"file": ("mold.jpg", data, "image/jpeg")}, **PHOTO_FIELDS)
    problem(response, status, code)
    unchanged(container, before)
    audited_refusal(container, response, code)


def test_an_upload_over_the_size_limit_is_cut_off(client: TestClient, container: Container,
                                                  company: Company) -> None:
    before = seal_state(container)
    huge = b"\xff\xd8\xff" + b"\x00" * (container.settings.max_image_bytes + 100_000)
    response = apply_seal(client, company, company.legal_rep, "contract",
                          files={"file": ("mold.jpg", huge, "image/jpeg")}, **PHOTO_FIELDS)
    problem(response, 413, "request.too_large")
    just_over = b"\xff\xd8\xff" + b"\x00" * (container.settings.max_image_bytes + 10)
    response = apply_seal(client, company, company.legal_rep, "contract",
                          files={"file": ("mold.jpg", just_over, "image/jpeg")}, **PHOTO_FIELDS)
    problem(response, 413, "image.too_large")
    unchanged(container, before)


def test_application_rules(client: TestClient, container: Container, cast: Cast) -> None:
    company = cast.company
    cases: list[tuple[Any, Any, dict[str, Any], int, str]] = [
        (company.legal_rep, "official", {}, 422, "seal.filing_required"),
        (company.legal_rep, "official", {"filing_number": "12"}, 422, "seal.filing_number"),
        (company.legal_rep, "contract", {"seal_code": "12345"}, 422, "seal.code"),
        (company.legal_rep, "no_such_type", {}, 404, "seal_type.not_found"),
        (company.legal_rep, "contract", {"width_mm": 200}, 422, "seal.size"),
        (company.legal_rep, "contract", {"name": "   "}, 422, "seal.name"),
        (cast.agent, "contract", {}, 403, "permission.denied"),
        (cast.linked, "contract", {}, 403, "permission.denied"),
        (cast.stranger, "contract", {}, 403, "permission.denied"),
    ]
    for person, seal_type, fields, status, code in cases:
        before = seal_state(container)
        response = apply_seal(client, company, person, seal_type, **fields)
        problem(response, status, code)
        unchanged(container, before)
        if code == "seal.size":  # refused while the form is parsed, before any use case runs
            assert seal_state(container)["audit_events"] == before["audit_events"]
        else:
            audited_refusal(container, response, code)
    wrong_shape = apply_seal(client, company, company.legal_rep, "finance",
                             files={"file": ("m.jpg", jpeg(), "image/jpeg")}, **PHOTO_FIELDS)
    problem(wrong_shape, 422, "seal.shape")


def test_a_name_seal_is_not_for_an_individual_business(client: TestClient,
                                                       container: Container, company: Company) -> None:
    # The same legal representative also runs an individual business (个体工商户, USCC category 92).
    row = registry_row(7, uscc=company_uscc(7, category="92"), kind="individual_business",
                       legal_rep_name=company.legal_rep.name, legal_rep_id_number=person_id(1))
    assert client.post(f"{API}/admin/enterprises/import", content=to_csv([row]).encode(),
                       headers=OPERATOR).status_code == 200
    assert client.post(f"{API}/enterprises/{row['uscc']}/link",
                       headers=company.legal_rep.headers()).status_code in (200, 201, 409)
    shop = Company(row["uscc"], row["name"], company.legal_rep)
    before = seal_state(container)
    response = apply_seal(client, shop, company.legal_rep, "legal_rep_name")
    body = problem(response, 422, "seal.type_not_for_kind")
    assert "individual_business" in body["detail"]
    unchanged(container, before)
    assert applied(client, company, company.legal_rep, "legal_rep_name")["name"] == \
        company.legal_rep.name


def test_claims_reviews_and_changes_out_of_turn(client: TestClient, container: Container,
                                                cast: Cast, reviewer: Any,
                                                pki: list[dict[str, Any]]) -> None:
    company = cast.company
    seal = applied(client, company, company.legal_rep, "contract")
    path = f"{API}/seals/{seal['id']}"
    steps: list[tuple[Any, str, Any, int, str]] = [
        (company.legal_rep, "claim", None, 409, "seal.not_approved"),
        (company.legal_rep, "review", {"approve": True}, 403, "permission.denied"),
        (reviewer, "review", {"approve": False}, 422, "seal.reason"),
        (company.legal_rep, "suspend", {"reason": "x"}, 409, "seal.state"),
        (company.legal_rep, "resume", None, 409, "seal.state"),
        (cast.agent, "revoke", {"reason": "x"}, 403, "permission.denied"),
    ]
    for person, step, body, status, code in steps:
        before = seal_state(container)
        response = post(client, f"{path}/{step}", person, body)
        problem(response, status, code)
        unchanged(container, before)
        audited_refusal(container, response, code)
    assert review(client, reviewer, seal["id"]).status_code == 200
    problem(review(client, reviewer, seal["id"]), 409, "seal.nothing_to_review")
    assert claim(client, cast.admin, seal["id"]).status_code == 200
    before = seal_state(container)
    again = claim(client, company.legal_rep, seal["id"])
    problem(again, 409, "seal.already_claimed")
    unchanged(container, before)
    problem(post(client, f"{API}/seals/00000000-0000-0000-0000-000000000000/claim",
                 company.legal_rep), 404, "seal.not_found")
    problem(post(client, f"{API}/seals/not-a-uuid/claim", company.legal_rep), 422, "request.invalid")
    problem(client.get(f"{path}", headers=cast.stranger.headers()), 403, "permission.denied")
    problem(client.get(f"{API}/reviews/seals", headers=company.legal_rep.headers()), 403,
            "permission.denied")
    problem(client.post(f"{path}/claim"), 401, "auth.session_invalid")
    problem(client.post(f"{path}/claim", headers=company.legal_rep.headers(csrf="wrong")), 403,
            "auth.csrf")


def test_operator_seal_types_and_staff(client: TestClient, container: Container,
                                       company: Company) -> None:
    made = client.post(f"{API}/admin/seal-types", headers=ADMIN, json={
        "code": "customs", "name": "报关专用章", "shape": "round", "kinds": ["company"]})
    assert made.status_code == 201 and made.json()["builtin"] is False
    problem(client.post(f"{API}/admin/seal-types", headers=ADMIN, json={
        "code": "customs", "name": "报关专用章", "shape": "round"}), 409, "seal_type.exists")
    problem(client.post(f"{API}/admin/seal-types", headers=ADMIN, json={
        "code": "x y", "name": "n", "shape": "round"}), 422, "seal_type.code")
    problem(client.post(f"{API}/admin/seal-types", headers=ADMIN, json={
        "code": "ok_code", "name": "n", "shape": "round", "kinds": ["spaceship"]}), 422,
        "seal_type.kind")
    problem(client.post(f"{API}/admin/seal-types", json={
        "code": "ok_code", "name": "n", "shape": "round"}), 401, "auth.operator_required")
    codes = [t["code"] for t in client.get(f"{API}/seal-types").json()]
    assert codes[:5] == ["contract", "finance", "invoice", "legal_rep_name", "official"] and \
        "customs" in codes
    seal = applied(client, company, company.legal_rep, "customs")
    assert seal["name"] == f"{company.name}报关专用章" and seal["type_name"] == "报关专用章"
    phone = company.legal_rep.phone
    assert client.post(f"{API}/admin/staff", headers=ADMIN,
                       json={"phone": phone, "role": "seal_reviewer"}).status_code == 201
    problem(client.post(f"{API}/admin/staff", headers=ADMIN,
                        json={"phone": phone, "role": "seal_reviewer"}), 409, "staff.exists")
    assert [s["phone"] for s in client.get(f"{API}/admin/staff", headers=ADMIN).json()] == [phone]
    assert client.delete(f"{API}/admin/staff/seal_reviewer/{phone}", headers=ADMIN).status_code == 204
    problem(client.delete(f"{API}/admin/staff/seal_reviewer/{phone}", headers=ADMIN), 404,
            "staff.not_found")
