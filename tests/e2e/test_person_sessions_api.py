"""The person login endpoints over HTTP: credentials, rate limits, session cookies, expiry,
logout and CSRF protection of writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.e2e.persons_support import (
    IDENTITY,
    ID_A,
    ME,
    NAME,
    OTHER_PHONE,
    PASSWORD,
    PHONE,
    PHONE_MASKED,
    SESSIONS,
    counts,
    events,
    limiter_on_test_clock,  # noqa: F401  (an autouse fixture: importing it applies it here)
    log_in,
    problem,
    register,
    set_cookies,
)
from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import load_settings
from yunzhang.web.app import create_app
from yunzhang.web.deps import CSRF_COOKIE, SESSION_COOKIE


# --- login -------------------------------------------------------------------------------------

def test_wrong_password_and_unknown_phone_are_refused_alike(client: TestClient,
                                                            container: Container) -> None:
    register(client, container)
    before = counts(container)
    wrong = client.post(SESSIONS, json={"phone": PHONE, "password": "not-the-pass-1"})
    unknown = client.post(SESSIONS, json={"phone": OTHER_PHONE, "password": PASSWORD})
    malformed = client.post(SESSIONS, json={"phone": "12345", "password": PASSWORD})
    bodies = [problem(r, 401, "auth.invalid_credentials") for r in (wrong, unknown, malformed)]
    assert len({json.dumps({k: v for k, v in b.items() if k != "request_id"}) for b in bodies}) == 1
    for response in (wrong, unknown, malformed):
        assert "set-cookie" not in response.headers
        assert response.headers["www-authenticate"]
    assert counts(container)["web_sessions"] == before["web_sessions"]
    denied = events(container, "person:login")
    assert {(e.subject, e.outcome, e.actor) for e in denied} == {
        (f"phone:{PHONE_MASKED}", "denied", "anonymous"), ("phone:138****8000", "denied", "anonymous")}


def test_eleventh_login_attempt_for_a_number_is_refused(
        client: TestClient, container: Container, clock: FixedClock) -> None:
    register(client, container)
    register(client, container, OTHER_PHONE)
    for _ in range(10):
        wrong = client.post(SESSIONS, json={"phone": PHONE, "password": "not-the-pass-1"})
        problem(wrong, 401, "auth.invalid_credentials")
    before = counts(container)
    refused = client.post(SESSIONS, json={"phone": PHONE, "password": PASSWORD})
    body = problem(refused, 429, "rate_limited")  # even the right password waits
    assert body["retry_after"] == int(refused.headers["retry-after"]) > 0
    assert "set-cookie" not in refused.headers
    assert counts(container) == before
    log_in(client, OTHER_PHONE)  # the limit is per number
    clock.advance(seconds=body["retry_after"])
    log_in(client, PHONE)


def test_session_cookies_in_development(client: TestClient, container: Container) -> None:
    register(client, container)
    response = client.post(SESSIONS, json={"phone": PHONE, "password": PASSWORD})
    assert response.status_code == 201, response.text
    cookies = set_cookies(response)
    session, csrf = cookies[SESSION_COOKIE], cookies[CSRF_COOKIE]
    assert session["httponly"] and session["samesite"].lower() == "lax"
    assert not session["secure"] and not csrf["secure"]
    assert session["path"] == "/" and int(session["max-age"]) == 12 * 3600
    assert not csrf["httponly"] and csrf["samesite"].lower() == "strict"
    assert csrf.value == response.json()["csrf_token"]
    assert session.value not in response.text  # the session token is only ever in the cookie
    [event] = [e for e in events(container, "person:login") if e.outcome == "success"]
    assert event.subject == f"person:{response.json()['person']['id']}"


@pytest.fixture
def production_app(container: Container, clock: FixedClock, tmp_path: Path) -> Iterator[
        tuple[TestClient, Container]]:
    """The same database behind an app in production mode (real secrets, HTTP providers that are
    never called here because the outbox is not delivered)."""
    settings = load_settings(
        env="production", data_dir=tmp_path / "prod", secret_key="s" * 40, pii_key="p" * 40,
        admin_token="a" * 40, sms_sender="http", sms_http_url="https://sms.example.invalid/send",
        identity_verifier="http", identity_http_url="https://id.example.invalid/verify",
        liveness_checker="http", liveness_http_url="https://face.example.invalid/check",
        kek="prod:" + "a2V5LWVuY3J5cHRpb24ta2V5LW9mLTMyLWJ5dGVzISE=")
    production = build_container(settings, engine=container.engine,
                                 session_factory=container.session_factory, clock=clock,
                                 passwords=container.passwords, limiter=MemoryRateLimiter())
    app = create_app(settings, container=production, deliver_outbox=False)
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client, production


def test_session_cookies_are_secure_in_production(
        production_app: tuple[TestClient, Container]) -> None:
    client, production = production_app
    assert not production.settings.development
    register(client, production)
    response = client.post(SESSIONS, json={"phone": PHONE, "password": PASSWORD})
    assert response.status_code == 201, response.text
    cookies = set_cookies(response)
    assert cookies[SESSION_COOKIE]["secure"] and cookies[CSRF_COOKIE]["secure"]
    assert cookies[SESSION_COOKIE]["httponly"]
    assert cookies[SESSION_COOKIE]["samesite"].lower() == "lax"
    assert client.get(ME).json()["phone"] == PHONE


# --- sessions ----------------------------------------------------------------------------------

def test_me_needs_a_session(client: TestClient) -> None:
    response = client.get(ME)
    problem(response, 401, "auth.session_invalid")
    assert response.headers["www-authenticate"]


@pytest.mark.parametrize("token", ["A" * 43, "x" * 101, ""], ids=["forged", "oversized", "empty"])
def test_me_refuses_a_forged_cookie(client: TestClient, container: Container, token: str) -> None:
    register(client, container)
    log_in(client)
    problem(client.get(ME, headers={"cookie": f"{SESSION_COOKIE}={token}"}), 401,
            "auth.session_invalid")


def test_session_ends_after_thirty_idle_minutes(client: TestClient, container: Container,
                                                clock: FixedClock) -> None:
    register(client, container)
    login = log_in(client)
    for _ in range(2):  # activity keeps it alive past the first 30 minutes
        clock.advance(minutes=29)
        assert client.get(ME, headers=login.headers()).status_code == 200
    clock.advance(minutes=31)
    problem(client.get(ME, headers=login.headers()), 401, "auth.session_invalid")


def test_session_ends_after_twelve_hours_even_when_active(
        client: TestClient, container: Container, clock: FixedClock) -> None:
    register(client, container)
    login = log_in(client)
    for _ in range(28):  # 11 h 40 min of activity every 25 minutes
        clock.advance(minutes=25)
        assert client.get(ME, headers=login.headers()).status_code == 200
    clock.advance(minutes=25)
    problem(client.get(ME, headers=login.headers()), 401, "auth.session_invalid")


def test_logout_needs_csrf_and_ends_the_session(client: TestClient, container: Container,
                                                clock: FixedClock) -> None:
    register(client, container)
    login = log_in(client)
    problem(client.delete(f"{SESSIONS}/current", headers={"cookie": login.headers()["cookie"]}),
            403, "auth.csrf")
    assert client.get(ME, headers=login.headers()).status_code == 200
    assert events(container, "person:logout") == []
    clock.advance(seconds=5)
    response = client.delete(f"{SESSIONS}/current", headers=login.headers())
    assert response.status_code == 204, response.text
    cleared = set_cookies(response)
    assert cleared[SESSION_COOKIE]["max-age"] == "0" and cleared[CSRF_COOKIE]["max-age"] == "0"
    problem(client.get(ME, headers=login.headers()), 401, "auth.session_invalid")
    problem(client.delete(f"{SESSIONS}/current", headers=login.headers()), 401,
            "auth.session_invalid")
    with container.uow() as tx:
        session = tx.sessions.by_token_hash(container.keyring.secret_hash("session", login.token))
    assert session is not None and session.revoked_at == clock.now()
    assert len(events(container, "person:logout")) == 1


# --- CSRF --------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["missing", "empty", "wrong", "other-session"])
def test_writes_need_the_sessions_csrf_token(client: TestClient, container: Container,
                                             variant: str) -> None:
    register(client, container)
    login, other = log_in(client), log_in(client)
    headers = {"missing": {"cookie": login.headers()["cookie"]},
               "empty": login.headers(csrf=""),
               "wrong": login.headers(csrf="A" * 43),
               "other-session": login.headers(csrf=other.csrf)}[variant]
    before = counts(container)
    response = client.post(IDENTITY, json={"name": NAME, "id_number": ID_A}, headers=headers)
    problem(response, 403, "auth.csrf")
    assert counts(container) == before
    assert client.get(ME, headers=login.headers()).json()["verification_level"] == "none"
