"""The app answers on both databases: health, readiness, metrics, a registration round trip."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from yunzhang.bootstrap import Container
from yunzhang.services import notifications


def test_health_ready_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'yunzhang_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics.text


def test_register_login_me(client: TestClient, container: Container) -> None:
    assert client.post("/api/v1/sms-codes", json={"phone": "13912345678"}).status_code == 202
    [message] = notifications.recent_messages(uow=container.uow, limit=1)
    code = re.search(r"\d{6}", message.body).group(0)  # type: ignore[union-attr]
    created = client.post("/api/v1/persons", json={"phone": "13912345678", "password": "s3cret-pass",
                                                   "sms_code": code})
    assert created.status_code == 201, created.text
    assert created.json()["verification_level"] == "none"
    login = client.post("/api/v1/sessions", json={"phone": "13912345678", "password": "s3cret-pass"})
    assert login.status_code == 201
    assert "httponly" in login.headers["set-cookie"].lower()
    me = client.get("/api/v1/me")
    assert me.json()["phone"] == "13912345678"
