"""The enterprise directory through HTTP: the operator API (bearer admin token, registry import,
status, audit verification) and the person-facing search and lookup, with RFC 9457 problems."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.registry_samples import company_uscc, registry_row, to_csv
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import load_settings
from yunzhang.services import notifications
from yunzhang.web.app import create_app

ADMIN = {"Authorization": "Bearer dev-admin-token"}
IMPORT = "/api/v1/admin/enterprises/import"
CSV = {"Content-Type": "text/csv; charset=utf-8"}
ROWS = [registry_row(1), registry_row(2, uscc=company_uscc(2, region="320502"))]


def problem(response: Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def import_csv(client: TestClient, rows: list[dict[str, str]], query: str = "") -> Response:
    return client.post(IMPORT + query, content=to_csv(rows).encode(), headers={**ADMIN, **CSV})


def log_in(client: TestClient, container: Container, phone: str = "13912345678") -> None:
    """Register a person and keep their session cookie in ``client``."""
    assert client.post("/api/v1/sms-codes", json={"phone": phone}).status_code == 202
    [message] = notifications.recent_messages(uow=container.uow, limit=1, recipient=phone)
    code = re.search(r"\d{6}", message.body).group(0)  # type: ignore[union-attr]
    account = {"phone": phone, "password": "s3cret-pass"}
    assert client.post("/api/v1/persons", json={**account, "sms_code": code}).status_code == 201
    assert client.post("/api/v1/sessions", json=account).status_code == 201


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Bearer wrong-token", "Bearer dev-admin-token-and-more",
    "Bearer x", "Basic dev-admin-token", "dev-admin-token", "Bearer dev-admin-tokeN",
    "Bearer 令牌".encode(),  # not ASCII at all
])
def test_operator_endpoints_need_the_admin_token(client: TestClient,
                                                 authorization: str | bytes | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("GET", "/api/v1/admin/audit/verify"),
                         ("GET", "/api/v1/admin/enterprises"),
                         ("PUT", f"/api/v1/admin/enterprises/{company_uscc(1)}/status"),
                         ("POST", IMPORT)):
        response = client.request(method, path, headers={**headers, **CSV},  # type: ignore[arg-type]
                                  content=to_csv(ROWS).encode())
        problem(response, 401, "auth.operator_required")
    verify = client.get("/api/v1/admin/audit/verify", headers=ADMIN).json()
    assert verify["events"] == 0  # nothing was imported


def test_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    response = client.get("/api/v1/admin/enterprises",
                          headers={"Authorization": "bearer dev-admin-token"})
    assert response.status_code == 200


@pytest.mark.parametrize(("content_type", "encode"), [
    ("text/csv; charset=utf-8", lambda rows: to_csv(rows).encode()),
    ("text/csv; charset=gb18030", lambda rows: to_csv(rows).encode("gb18030")),
    ("TEXT/CSV", lambda rows: to_csv(rows).encode("utf-8-sig")),
    ("application/json", lambda rows: json.dumps(rows, ensure_ascii=False).encode()),
    ("application/json; charset=utf-8", lambda rows: json.dumps({"enterprises": rows}).encode()),
])
def test_import_csv_and_json(client: TestClient, content_type: str, encode: object) -> None:
    rejected = registry_row(3, status="closed")
    body = encode([*ROWS, rejected])  # type: ignore[operator]
    response = client.post(IMPORT, content=body, headers={**ADMIN, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"], report["unchanged"], report["dry_run"]) == (
        [ROWS[0]["uscc"], ROWS[1]["uscc"]], [], [], False)
    assert [(r["row"], r["uscc"]) for r in report["rejected"]] == [(3, rejected["uscc"])]
    assert "[enterprise.status]" in report["rejected"][0]["reasons"][0]
    listed = client.get("/api/v1/admin/enterprises", headers=ADMIN).json()
    assert sorted(e["uscc"] for e in listed) == sorted(r["uscc"] for r in ROWS)

    again = client.post(IMPORT, content=body, headers={**ADMIN, "Content-Type": content_type})
    assert again.json()["unchanged"] == [r["uscc"] for r in ROWS]


def test_import_is_audited_under_the_request_id(client: TestClient) -> None:
    response = import_csv(client, ROWS, "?source=registry-2026-11.csv")
    events = client.get("/api/v1/admin/audit", headers=ADMIN,
                        params={"subject": "import:registry-2026-11.csv"}).json()
    [event] = events
    assert (event["actor"], event["action"], event["request_id"]) == (
        "operator", "enterprise:import", response.headers["x-request-id"])
    assert event["details"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert response.json()["source"] == "registry-2026-11.csv"


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded", "text/csvx"])
def test_import_refuses_other_media_types(client: TestClient, content_type: str | None) -> None:
    headers = dict(ADMIN) if content_type is None else {**ADMIN, "Content-Type": content_type}
    response = client.post(IMPORT, content=to_csv(ROWS).encode(), headers=headers)
    problem(response, 422, "import.media_type")


@pytest.mark.parametrize(("body", "code"), [
    (b"", "import.empty"),
    (b"uscc,name,legal_rep_name\n", "import.columns"),
    (b"uscc,name,legal_rep_name,legal_rep_id_number,capital\n", "import.columns"),
])
def test_unreadable_csv_is_a_problem(client: TestClient, body: bytes, code: str) -> None:
    problem(client.post(IMPORT, content=body, headers={**ADMIN, **CSV}), 422, code)


def test_malformed_json_is_a_problem(client: TestClient) -> None:
    response = client.post(IMPORT, content=b'[{"uscc": ', headers={**ADMIN,
                                                                  "Content-Type": "application/json"})
    problem(response, 422, "import.json")


def test_dry_run_writes_nothing(client: TestClient) -> None:
    report = import_csv(client, ROWS, "?dry_run=true").json()
    assert (report["dry_run"], report["created"]) == (True, [r["uscc"] for r in ROWS])
    assert client.get("/api/v1/admin/enterprises", headers=ADMIN).json() == []
    assert client.get("/api/v1/admin/audit/verify", headers=ADMIN).json()["events"] == 0


@pytest.fixture
def small_client(container: Container, tmp_path: Path) -> Iterator[TestClient]:
    """The app with small limits (1 KiB bodies, 2 KiB imports) over the test's database."""
    small = load_settings(env="development", data_dir=tmp_path / "small", max_body_bytes=1024,
                          max_import_bytes=2048)
    c = build_container(small, engine=container.engine, session_factory=container.session_factory,
                        clock=container.clock, passwords=container.passwords,
                        limiter=container.limiter)
    with TestClient(create_app(small, container=c, deliver_outbox=False)) as test_client:
        yield test_client


def _csv_of_size(size: int) -> bytes:
    data = to_csv([registry_row(n) for n in range(1, 30)]).encode()
    assert len(data) > size
    cut = data[:size]
    return cut[: cut.rfind(b"\n") + 1]


def test_import_body_over_the_limit_is_refused(small_client: TestClient) -> None:
    too_large = _csv_of_size(2100) + b" " * 100
    assert len(too_large) > 2048
    problem(small_client.post(IMPORT, content=too_large, headers={**ADMIN, **CSV}), 413,
            "request.too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the middleware counts as it reads
        yield too_large[:1000]
        yield too_large[1000:]

    problem(small_client.post(IMPORT, content=chunks(), headers={**ADMIN, **CSV}), 413,
            "request.too_large")
    assert small_client.get("/api/v1/admin/audit/verify", headers=ADMIN).json()["events"] == 0

    # Below the import limit, but above the general 1 KiB body limit: accepted on this path only.
    fits = _csv_of_size(2048)
    assert 1024 < len(fits) <= 2048
    response = small_client.post(IMPORT, content=fits, headers={**ADMIN, **CSV})
    assert response.status_code == 200, response.text
    assert response.json()["created"]
    problem(small_client.post("/api/v1/sms-codes", content=fits,
                              headers={"Content-Type": "application/json"}), 413, "request.too_large")


def test_enterprise_search_and_lookup_need_a_person_session(client: TestClient,
                                                           container: Container) -> None:
    import_csv(client, ROWS)
    for path in ("/api/v1/enterprises", f"/api/v1/enterprises/{ROWS[0]['uscc']}"):
        problem(client.get(path), 401, "auth.session_invalid")
        problem(client.get(path, headers=ADMIN), 401, "auth.session_invalid")

    log_in(client, container)
    found = client.get("/api/v1/enterprises", params={"q": "测试2号"}).json()
    assert [(e["uscc"], e["region"], e["in_region"]) for e in found] == [
        (ROWS[1]["uscc"], "320502", False)]
    shown = client.get(f"/api/v1/enterprises/{ROWS[0]['uscc'].lower()}").json()
    assert (shown["uscc"], shown["in_region"], shown["kind"]) == (ROWS[0]["uscc"], True, "company")
    assert shown["legal_rep_id_masked"] == "310115********" + ROWS[0]["legal_rep_id_number"][14:]
    assert "legal_rep_id_hmac" not in shown

    bad = ROWS[0]["uscc"][:17] + ("0" if ROWS[0]["uscc"][17] != "0" else "1")
    problem(client.get(f"/api/v1/enterprises/{bad}"), 422, "uscc.check_digit")
    problem(client.get(f"/api/v1/enterprises/{company_uscc(99)}"), 404, "enterprise.not_found")


def test_set_status(client: TestClient) -> None:
    import_csv(client, ROWS)
    path = f"/api/v1/admin/enterprises/{ROWS[0]['uscc']}/status"
    unknown = problem(client.put(path, json={"status": "closed", "reason": "x"}, headers=ADMIN),
                      422, "request.invalid")
    assert [e["field"] for e in unknown["errors"]] == ["status"]  # type: ignore[union-attr]
    problem(client.put(path, json={"status": "revoked", "reason": "x", "by": "me"}, headers=ADMIN),
            422, "request.unknown_field")
    problem(client.put(path, json={"status": "revoked", "reason": ""}, headers=ADMIN),
            422, "request.invalid")
    problem(client.put(f"/api/v1/admin/enterprises/{company_uscc(99)}/status",
                       json={"status": "revoked", "reason": "x"}, headers=ADMIN),
            404, "enterprise.not_found")

    changed = client.put(path, json={"status": "revoked", "reason": "吊销营业执照"}, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "revoked"
    [event] = client.get("/api/v1/admin/audit", headers=ADMIN,
                         params={"subject": f"enterprise:{ROWS[0]['uscc']}"}).json()[:1]
    assert (event["action"], event["details"]) == (
        "enterprise:set_status", {"from": "active", "to": "revoked", "reason": "吊销营业执照"})


def test_audit_verify_reports_an_intact_chain(client: TestClient) -> None:
    assert client.get("/api/v1/admin/audit/verify", headers=ADMIN).json() == {
        "intact": True, "events": 0, "head_seq": 0, "problems": []}
    import_csv(client, ROWS)
    import_csv(client, [registry_row(1, name="改名有限公司")])
    # 2 creates and an import, then an update and an import.
    assert client.get("/api/v1/admin/audit/verify", headers=ADMIN).json() == {
        "intact": True, "events": 5, "head_seq": 5, "problems": []}
