"""The OpenID Connect provider through HTTP, with the reference wallet confirming the scans:
the login page (QR code, or the wallet link on a phone), consent remembered per business system
and enterprise, the ID token validated by Authlib against the published JWKS, userinfo with the
grants as of now, logout. Refusals as RFC 6749 says: on the page for a wrong client or redirect
URI, to the redirect URI for the rest of the authorization request, as JSON from the token
endpoint (wrong redirect URI, PKCE mismatch, code reuse revoking the first tokens, an expired
code, another client's code, bad client credentials, malformed bodies)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.oidc_support import (
    PHONE,
    REDIRECT,
    Login,
    Page,
    code_from,
    code_in,
    confirm_in_wallet,
    consent,
    done,
    error_page,
    error_redirect,
    exchange,
    oauth_error,
    open_page,
    qr_text,
    query_of,
    wallet_for,
)
from tests.e2e.persons_support import limiter_on_test_clock, problem, tiny_png  # noqa: F401
from tests.e2e.roles_support import (  # noqa: F401
    Cast,
    cast,
    company,
    granted,
    liveness,
    post,
    relog,
    revoke_role,
)
from tests.e2e.test_scan_sessions_api import open_session
from tests.e2e.test_stamps_api import basic, register
from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.db import tables
from yunzhang.bootstrap import Container
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.services import token_keys
from yunzhang.services.audit import recent_events, verify_audit_chain
from yunzhang.services.context import Caller
from yunzhang.wallet import WalletClient

ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def system(client: TestClient) -> dict[str, str]:
    return register(client)  # bidding.portal, ecommerce.bidding, https://bidding.example/callback


@pytest.fixture
def rep_wallet(client: TestClient, cast: Cast, tmp_path: Path) -> WalletClient:
    return wallet_for(client, cast.company.legal_rep, tmp_path / "rep", uscc=cast.company.uscc)


def login_code(client: TestClient, wallet: WalletClient, login: Login, *,
               uscc: str | None, consents: bool = True) -> str:
    """The whole front channel: page, scan, confirm, the page learns it, consent if asked."""
    page = open_page(client, login)
    now = client.app.state.container.clock.now()  # type: ignore[attr-defined]
    assert confirm_in_wallet(wallet, page, uscc=uscc, now=now) == "confirmed"
    waited = client.get(f"/oidc/authorize/{page.id}/wait")
    assert waited.json()["state"] == "confirmed" and waited.headers["cache-control"] == "no-store"
    if waited.json()["next"] != f"/oidc/authorize/{page.id}/done":
        return code_in(waited.json()["next"], login)  # the poll's answer carries the code
    assert consents, "consent was asked though it is remembered"
    return code_from(consent(client, page, done(client, page).text), login)


def id_token_of(client: TestClient, container: Container, tokens: dict[str, Any],
                login: Login) -> Any:
    """Validated by Authlib (OpenID Connect Core §3.1.3.7) against the provider's JWKS."""
    keys = JsonWebKey.import_key_set(client.get("/oidc/jwks").json())
    claims = jwt.decode(tokens["id_token"], keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"value": ISSUER}},
                        claims_params={"nonce": login.nonce, "client_id": login.client_id,
                                       "access_token": tokens["access_token"]})
    claims.validate(now=int(container.clock.now().timestamp()))
    return claims


def rows(container: Container) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(
            tables.oidc_authorizations)) or 0)


def test_discovery_and_the_key_set(client: TestClient) -> None:
    config = client.get("/.well-known/openid-configuration").json()
    assert config["issuer"] == ISSUER
    assert config["authorization_endpoint"] == f"{ISSUER}/oidc/authorize"
    assert config["token_endpoint"] == f"{ISSUER}/oidc/token"
    assert config["jwks_uri"] == f"{ISSUER}/oidc/jwks"
    assert config["end_session_endpoint"] == f"{ISSUER}/oidc/logout"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["response_types_supported"] == ["code"]
    assert {"openid", "profile", "enterprise", "ecommerce.bidding"} <= set(
        config["scopes_supported"])
    keys = client.get("/oidc/jwks").json()["keys"]
    assert [(k["kty"], k["crv"], k["alg"], k["use"]) for k in keys] == [
        ("EC", "P-256", "ES256", "sig")]
    assert "d" not in keys[0]


def test_a_login_with_the_license_end_to_end(client: TestClient, container: Container,
                                             cast: Cast, system: dict[str, str],
                                             rep_wallet: WalletClient, tmp_path: Path) -> None:
    rep = cast.company.legal_rep
    login = Login(system["client_id"], scope="openid profile enterprise ecommerce.bidding")
    page = open_page(client, login)
    assert "<svg" in page.html and "扫码登录 某某公共资源交易平台" in page.html
    assert "yunzhang-wallet://" not in page.html  # a desktop browser shows the QR code only
    assert qr_text(page.html, tmp_path) == page.scan_url  # what a QR reader reads from it
    shown = rep_wallet.read(page.scan_url)
    assert shown.view["action"] == "login" and "ecommerce.bidding" in shown.view["subject"]
    assert client.get(f"/oidc/authorize/{page.id}/wait").json() == {"state": "pending",
                                                                    "next": None}
    now = container.clock.now()
    assert confirm_in_wallet(rep_wallet, page, uscc=cast.company.uscc, now=now) == "confirmed"
    assert client.get(f"/oidc/authorize/{page.id}/wait?wait=2").json() == {
        "state": "confirmed", "next": f"/oidc/authorize/{page.id}/done"}
    # The first login at this business system for this enterprise asks for consent.
    asked = done(client, page)
    assert asked.status_code == 200 and "同意授权" in asked.text
    assert cast.company.uscc in asked.text and "ecommerce.bidding" in asked.text
    assert asked.headers["x-frame-options"] == "DENY"
    code = code_from(consent(client, page, asked.text), login)
    answer = exchange(client, system, login, code)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == login.scope
    claims = id_token_of(client, container, tokens, login)
    assert claims["sub"] == rep.id and claims["aud"] == system["client_id"]
    assert claims["enterprise"] == {"uscc": cast.company.uscc, "name": cast.company.name}
    assert claims["role"] == "legal_rep" and claims["grants"] == [{"scope": "*"}]
    assert claims["name"] == rep.name and claims["phone_number"] == f"+86{rep.phone}"
    info = client.get("/oidc/userinfo",
                      headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200 and info.json()["sub"] == rep.id
    assert info.json()["enterprise"] == claims["enterprise"]
    # The consent is remembered: the next login goes straight back with a code.
    again = Login(system["client_id"], scope="openid profile enterprise")
    second = login_code(client, rep_wallet, again, uscc=cast.company.uscc, consents=False)
    assert exchange(client, system, again, second).status_code == 200
    listed = client.get("/api/v1/me/consents", headers=rep.headers()).json()
    assert [(c["business_system"], c["enterprise_uscc"], c["withdrawn_at"]) for c in listed] \
        == [(system["client_id"], cast.company.uscc, None)]
    actions = [e.action for e in recent_events(uow=container.uow, limit=40)]
    assert {"oidc:authorize", "oidc:login", "oidc:token", "consent:give"} <= set(actions)
    assert verify_audit_chain(uow=container.uow).intact


def test_a_natural_person_and_an_agent_with_grants(client: TestClient, container: Container,
                                                   cast: Cast, system: dict[str, str],
                                                   tmp_path: Path) -> None:
    now = container.clock.now()
    rep, agent = cast.company.legal_rep, cast.agent
    granted(client, cast.company, rep, agent, scopes=["ecommerce.bidding.full_process"],
            ends_at=(now + timedelta(days=2)).isoformat())
    granted(client, cast.company, rep, agent, scopes=["hr.social_insurance"],
            ends_at=(now + timedelta(days=2)).isoformat())
    wallet = wallet_for(client, agent, tmp_path / "agent", uscc=cast.company.uscc)
    login = Login(system["client_id"])
    tokens = exchange(client, system, login, login_code(client, wallet, login,
                                                        uscc=cast.company.uscc)).json()
    claims = id_token_of(client, container, tokens, login)
    assert claims["role"] == "agent"
    # Only what the bidding system is registered for; the social-insurance grant is not its.
    assert [g["scope"] for g in claims["grants"]] == ["ecommerce.bidding.full_process"]
    assert claims["grants"][0]["ends_at"] == (now + timedelta(days=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    # Userinfo tells the grants as of now: the bidding grant revoked, it is gone.
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    [bidding] = [g for g in client.get(f"{cast.company.path('grants')}",
                                       headers=rep.headers()).json()["grants"]
                 if g["scopes"] == ["ecommerce.bidding.full_process"]]
    revoked = post(client, f"/api/v1/grants/{bidding['id']}/revoke", rep, {"reason": "离职"})
    assert revoked.status_code == 200, revoked.text
    assert client.get("/oidc/userinfo", headers=bearer).json()["grants"] == []
    enterprise_bearer = bearer
    # Without a license: a natural person's login, no enterprise, a consent of its own.
    person = Login(system["client_id"])
    tokens = exchange(client, system, person, login_code(client, wallet, person,
                                                         uscc=None)).json()
    claims = id_token_of(client, container, tokens, person)
    assert claims["sub"] == agent.id and "enterprise" not in claims and "role" not in claims
    # openid alone: the identifier only.
    bare = Login(system["client_id"], scope="openid")
    tokens = exchange(client, system, bare, login_code(client, wallet, bare, uscc=None)).json()
    claims = id_token_of(client, container, tokens, bare)
    assert "name" not in claims and "phone_number" not in claims and claims["sub"] == agent.id
    listed = client.get("/api/v1/me/consents", headers=agent.headers()).json()
    assert sorted(str(c["enterprise_uscc"]) for c in listed) == sorted(
        [cast.company.uscc, "None"])
    # The agent loses the role: the enterprise login's token stands no more; the natural
    # person's does.
    liveness(client, rep, tiny_png())
    assert revoke_role(client, cast.company, rep, agent.id).status_code == 204
    gone = client.get("/oidc/userinfo", headers=enterprise_bearer)
    assert gone.status_code == 401 and gone.json()["error"] == "invalid_token"
    person_bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/oidc/userinfo", headers=person_bearer).status_code == 200


def test_on_a_phone_the_page_links_to_the_wallet(client: TestClient, system: dict[str, str],
                                                 tmp_path: Path) -> None:
    page = open_page(client, Login(system["client_id"]), user_agent=PHONE)
    assert 'href="yunzhang-wallet://scan?url=http%3A%2F%2F127.0.0.1%3A8000%2Fs%2F' in page.html
    assert page.id in page.html and qr_text(page.html, tmp_path) == page.scan_url


def test_the_request_as_a_form_post(client: TestClient, system: dict[str, str]) -> None:
    login = Login(system["client_id"])
    page = client.post("/oidc/authorize", data=login.params(), follow_redirects=False)
    assert page.status_code == 200 and 'data-url="' in page.text
    error_redirect(client.post("/oidc/authorize", data=login.params(code_challenge=None),
                               follow_redirects=False), login, "invalid_request")
    error_page(client.post("/oidc/authorize", json=login.params(), follow_redirects=False),
               "invalid_client")


def test_a_wrong_client_or_redirect_uri_is_shown_never_redirected(
        client: TestClient, container: Container, system: dict[str, str]) -> None:
    login = Login(system["client_id"])
    for params in ({"client_id": "no.such"}, {"client_id": None},
                   {"redirect_uri": "https://evil.example/callback"},
                   {"redirect_uri": REDIRECT + "/../evil"}, {"redirect_uri": REDIRECT + "?x=1"},
                   {"redirect_uri": None}):
        response = client.get("/oidc/authorize", params=login.params(**params),
                              follow_redirects=False)
        error_page(response, "invalid_client" if "client_id" in params else "invalid_request")
    twice = client.get(f"/oidc/authorize?client_id={system['client_id']}&client_id=x&"
                       f"redirect_uri={REDIRECT}", follow_redirects=False)
    error_page(twice, "invalid_request")
    huge = client.get("/oidc/authorize", params=login.params(state="x" * 9000),
                      follow_redirects=False)
    error_page(huge, "invalid_request")
    # A disabled business system cannot start a login.
    client.put(f"/api/v1/admin/business-systems/{system['client_id']}/status",
               headers={"Authorization": "Bearer dev-admin-token"}, json={"status": "disabled"})
    error_page(client.get("/oidc/authorize", params=login.params(), follow_redirects=False),
               "invalid_client")
    assert rows(container) == 0


def test_the_rest_of_a_bad_request_goes_back_to_the_business_system(
        client: TestClient, container: Container, system: dict[str, str]) -> None:
    login = Login(system["client_id"])
    cases: list[tuple[dict[str, str | None], str]] = [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "openid no.such"}, "invalid_scope"),
        ({"scope": "openid hr.social_insurance"}, "invalid_scope"),  # not registered for it
        ({"prompt": "none"}, "login_required"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"request": "eyJ..."}, "request_not_supported"),
        ({"nonce": "n" * 300}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
    ]
    for overrides, error in cases:
        response = client.get("/oidc/authorize", params=login.params(**overrides),
                              follow_redirects=False)
        got = error_redirect(response, login, error)
        assert got["state"] == login.state and got["iss"] == ISSUER, (overrides, got)
    long_state = client.get("/oidc/authorize", params=login.params(state="s" * 600),
                            follow_redirects=False)
    assert "state" not in error_redirect(long_state, login, "invalid_request")
    assert rows(container) == 0  # nothing half-written
    refused = [e for e in recent_events(uow=container.uow, limit=30)
               if e.action == "oidc:authorize" and e.outcome == "denied"]
    assert {e.details["code"] for e in refused} >= {"oidc.pkce_required", "oidc.login_required"}


def test_declined_or_expired_in_the_wallet(client: TestClient, clock: FixedClock, cast: Cast,
                                           system: dict[str, str],
                                           rep_wallet: WalletClient) -> None:
    login = Login(system["client_id"])
    page = open_page(client, login)
    # Before the wallet answers, /done has nothing to send (and says so on the page).
    error_page(done(client, page), "invalid_request", status=409)
    assert confirm_in_wallet(rep_wallet, page, uscc=None, deny=True) == "denied"
    assert error_redirect(done(client, page), login, "access_denied")["state"] == login.state
    error_page(done(client, page), "invalid_request")  # finished: no second answer
    # Confirmed, but the page came back after the login itself expired (10 minutes).
    slow = open_page(client, login)
    assert confirm_in_wallet(rep_wallet, slow, uscc=None) == "confirmed"
    clock.advance(seconds=600)
    assert "expired" in error_redirect(done(client, slow), login,
                                       "access_denied")["error_description"]
    late = open_page(client, login)
    clock.advance(seconds=121)
    # Expired: the page offers a new code; the business system hears of it only from /done.
    assert client.get(f"/oidc/authorize/{late.id}/wait").json() == {"state": "expired",
                                                                    "next": None}
    got = error_redirect(done(client, late), login, "access_denied")
    assert "expired" in got["error_description"]


def test_the_poll_finishes_the_login_once(client: TestClient, cast: Cast,
                                         system: dict[str, str],
                                         rep_wallet: WalletClient) -> None:
    """The page's poll answers where to go once the wallet answered: a declined login goes back
    to the business system with access_denied; a second poll finishes nothing twice."""
    login = Login(system["client_id"])
    page = open_page(client, login)
    assert confirm_in_wallet(rep_wallet, page, uscc=None, deny=True) == "denied"
    waited = client.get(f"/oidc/authorize/{page.id}/wait")
    assert waited.json()["state"] == "denied" and waited.headers["cache-control"] == "no-store"
    got = query_of(waited.json()["next"])
    assert waited.json()["next"].startswith(login.redirect_uri + "?")
    assert got["error"] == "access_denied" and got["state"] == login.state
    again = client.get(f"/oidc/authorize/{page.id}/wait").json()
    assert again == {"state": "denied", "next": f"/oidc/authorize/{page.id}/done"}
    error_page(done(client, page), "invalid_request")  # finished: told on the page, no redirect


def test_the_page_needs_its_own_cookie_and_its_own_business_system(
        client: TestClient, cast: Cast, system: dict[str, str],
        rep_wallet: WalletClient) -> None:
    other = register(client, "social.insurance", scopes=["hr.social_insurance"])
    # A login scan session the other business system opened itself, confirmed by the person:
    # its id and poll token do not make a login at the bidding system.
    opened = open_session(client, other)
    foreign = Page(opened["id"], opened["url"], "")
    assert confirm_in_wallet(rep_wallet, foreign, uscc=None) == "confirmed"
    client.cookies.set("yunzhang_oidc", opened["poll_token"],
                       path=f"/oidc/authorize/{opened['id']}")
    error_page(done(client, foreign), "invalid_request")
    client.cookies.clear()
    # Another browser (without the page's cookie) learns nothing and gets no code.
    page = open_page(client, Login(system["client_id"]))
    assert confirm_in_wallet(rep_wallet, page, uscc=None) == "confirmed"
    stranger = TestClient(client.app, base_url="http://testserver")
    assert stranger.get(f"/oidc/authorize/{page.id}/wait").status_code == 404
    error_page(done(stranger, page), "invalid_request")
    assert "no such login" in done(stranger, page).text


def test_token_endpoint_refusals(client: TestClient, container: Container, clock: FixedClock,
                                 cast: Cast, system: dict[str, str],
                                 rep_wallet: WalletClient) -> None:
    other = register(client, "other.portal")
    login = Login(system["client_id"])
    code = login_code(client, rep_wallet, login, uscc=cast.company.uscc)
    # Wrong redirect URI, PKCE mismatch, another client's code: refused, the code still good.
    oauth_error(exchange(client, system, login, code, redirect_uri=REDIRECT + "x"), 400,
                "invalid_grant")
    oauth_error(exchange(client, system, login, code, code_verifier="x" * 43), 400,
                "invalid_grant")
    oauth_error(exchange(client, system, login, code, code_verifier="short"), 400,
                "invalid_grant")
    body = oauth_error(exchange(client, other, login, code), 400, "invalid_grant")
    assert "another client" in body["error_description"]
    # Client authentication: wrong secret, unknown client, none, two methods at once.
    wrong = exchange(client, {**system, "secret": "wrong"}, login, code)
    oauth_error(wrong, 401, "invalid_client")
    assert wrong.headers["www-authenticate"].startswith("Basic")
    oauth_error(exchange(client, {"client_id": "no.such", "secret": "x" * 40}, login, code), 401,
                "invalid_client")
    bare = client.post("/oidc/token", data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": REDIRECT,
                                             "code_verifier": login.verifier})
    oauth_error(bare, 401, "invalid_client")
    oauth_error(exchange(client, system, login, code, client_secret=system["secret"]), 400,
                "invalid_request")
    # Malformed: grant types, missing parameters, repeated ones, not a form, too large.
    oauth_error(exchange(client, system, login, code, grant_type="password"), 400,
                "unsupported_grant_type")
    oauth_error(exchange(client, system, login, code, grant_type=None), 400, "invalid_request")
    oauth_error(exchange(client, system, login, code, code_verifier=None), 400,
                "invalid_request")
    headers = basic(system["client_id"], system["secret"])
    oauth_error(client.post("/oidc/token", content=f"grant_type=authorization_code&code={code}"
                            f"&code=x", headers={**headers, "Content-Type":
                                                 "application/x-www-form-urlencoded"}),
                400, "invalid_request")
    oauth_error(client.post("/oidc/token", json={"grant_type": "authorization_code"},
                            headers=headers), 400, "invalid_request")
    oauth_error(client.post("/oidc/token", data={"grant_type": "authorization_code",
                                                 "code": "c" * 20_000}, headers=headers),
                400, "invalid_request")
    # Client secret in the body (client_secret_post) works as well as Basic.
    posted = client.post("/oidc/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": login.verifier, "client_id": system["client_id"],
        "client_secret": system["secret"]})
    assert posted.status_code == 200, posted.text
    access = posted.json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 200
    # The code again: refused, and the tokens of its first use are revoked.
    body = oauth_error(exchange(client, system, login, code), 400, "invalid_grant")
    assert "revoked" in body["error_description"]
    revoked = client.get("/oidc/userinfo", headers=bearer)
    oauth_error_401 = revoked.json()
    assert revoked.status_code == 401 and oauth_error_401["error"] == "invalid_token"
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]
    assert "oidc:code_replay" in [e.action for e in recent_events(uow=container.uow, limit=10)]
    oauth_error(exchange(client, system, login, "no-such-code"), 400, "invalid_grant")
    # A code lives a minute.
    late = Login(system["client_id"])
    stale = login_code(client, rep_wallet, late, uscc=cast.company.uscc, consents=False)
    clock.advance(seconds=61)
    body = oauth_error(exchange(client, system, late, stale), 400, "invalid_grant")
    assert "expired" in body["error_description"]


def test_userinfo_refusals(client: TestClient, clock: FixedClock, cast: Cast,
                           system: dict[str, str], rep_wallet: WalletClient) -> None:
    missing = client.get("/oidc/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == \
        'Bearer realm="yunzhang"'
    for header in ("Bearer nope", "Basic abc", "Bearer " + "x" * 5000):
        answer = client.get("/oidc/userinfo", headers={"Authorization": header})
        assert answer.status_code == 401, header
    login = Login(system["client_id"])
    tokens = exchange(client, system, login, login_code(client, rep_wallet, login,
                                                        uscc=cast.company.uscc)).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.post("/oidc/userinfo", headers=bearer).status_code == 200
    clock.advance(seconds=3600)
    assert client.get("/oidc/userinfo", headers=bearer).json()["error"] == "invalid_token"


def test_consent_withdrawn_and_declined(client: TestClient, cast: Cast, system: dict[str, str],
                                        rep_wallet: WalletClient) -> None:
    rep = cast.company.legal_rep
    login = Login(system["client_id"])
    tokens = exchange(client, system, login, login_code(client, rep_wallet, login,
                                                        uscc=cast.company.uscc)).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    [given] = client.get("/api/v1/me/consents", headers=rep.headers()).json()
    problem(client.post(f"/api/v1/me/consents/{given['id']}/withdraw"), 401,
            "auth.session_invalid")
    withdrawn = post(client, f"/api/v1/me/consents/{given['id']}/withdraw", rep)
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 401
    problem(post(client, f"/api/v1/me/consents/{given['id']}/withdraw", rep), 409,
            "consent.withdrawn")
    problem(post(client, f"/api/v1/me/consents/{given['id']}/withdraw", cast.admin), 404,
            "consent.not_found")
    # The next login asks again; declining sends access_denied back.
    again = Login(system["client_id"])
    page = open_page(client, again)
    assert confirm_in_wallet(rep_wallet, page, uscc=cast.company.uscc,
                             now=client.app.state.container.clock.now()) == "confirmed"  # type: ignore[attr-defined]
    asked = done(client, page)
    assert asked.status_code == 200 and "同意授权" in asked.text
    forged = client.post(f"/oidc/authorize/{page.id}/consent",
                         data={"form_token": "forged", "decision": "approve"},
                         follow_redirects=False)
    error_page(forged, "invalid_request")
    error_redirect(consent(client, page, asked.text, "deny"), again, "access_denied")
    # prompt=consent asks even though a consent is remembered.
    third = Login(system["client_id"])
    login_code(client, rep_wallet, third, uscc=cast.company.uscc)  # consents again
    forced = open_page(client, third, prompt="consent")
    confirm_in_wallet(rep_wallet, forced, uscc=cast.company.uscc,
                      now=client.app.state.container.clock.now())  # type: ignore[attr-defined]
    assert done(client, forced).status_code == 200


def test_key_rotation_keeps_old_id_tokens_verifiable_until_they_expire(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        system: dict[str, str], rep_wallet: WalletClient) -> None:
    c = container
    first = Login(system["client_id"])
    old = exchange(client, system, first, login_code(client, rep_wallet, first,
                                                     uscc=cast.company.uscc)).json()
    old_kid = jwt.decode(old["id_token"], JsonWebKey.import_key_set(
        client.get("/oidc/jwks").json())).header["kid"]
    token_keys.rotate(TokenPurpose.OIDC, caller=Caller("operator"), uow=c.uow, keys=c.keys,
                      jose=c.jose, clock=c.clock, settings=c.settings)
    second = Login(system["client_id"])
    new = exchange(client, system, second, login_code(client, rep_wallet, second,
                                                      uscc=cast.company.uscc,
                                                      consents=False)).json()
    kids = [k["kid"] for k in client.get("/oidc/jwks").json()["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid  # the new key first, the old one kept
    assert id_token_of(client, container, new, second).header["kid"] == kids[0]
    assert id_token_of(client, container, old, first).header["kid"] == old_kid
    clock.advance(seconds=3600)  # the longest an ID token of the old key lives
    assert [k["kid"] for k in client.get("/oidc/jwks").json()["keys"]] == [kids[0]]


def test_logout(client: TestClient, cast: Cast, system: dict[str, str],
                rep_wallet: WalletClient) -> None:
    login = Login(system["client_id"])
    tokens = exchange(client, system, login, login_code(client, rep_wallet, login,
                                                        uscc=cast.company.uscc)).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    # Not at an origin the client registered: shown, never followed.
    evil = client.get("/oidc/logout", params={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": "https://evil.example/"}, follow_redirects=False)
    error_page(evil, "invalid_request")
    error_page(client.get("/oidc/logout", params={"id_token_hint": "not.a.token"},
                          follow_redirects=False), "invalid_request")
    error_page(client.get("/oidc/logout", params={"post_logout_redirect_uri":
                                                  "https://bidding.example/"},
                          follow_redirects=False), "invalid_request")
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 200
    out = client.get("/oidc/logout", params={
        "id_token_hint": tokens["id_token"], "state": "bye",
        "post_logout_redirect_uri": "https://bidding.example/logged-out"},
        follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "https://bidding.example/logged-out?state=bye"
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 401
    assert client.get("/oidc/logout").status_code == 200  # nothing to end: a page


def refresh(client: TestClient, system: dict[str, str], token: str,
            **extra: str) -> Any:
    return client.post("/oidc/token", data={"grant_type": "refresh_token",
                                            "refresh_token": token, **extra},
                       headers=basic(system["client_id"], system["secret"]))


def test_refresh_tokens_rotate_and_a_replayed_one_revokes_the_login(
        client: TestClient, container: Container, clock: FixedClock, cast: Cast,
        system: dict[str, str], rep_wallet: WalletClient) -> None:
    login = Login(system["client_id"])
    first = exchange(client, system, login, login_code(client, rep_wallet, login,
                                                       uscc=cast.company.uscc)).json()
    assert first["refresh_token"]
    clock.advance(seconds=1800)
    renewed = refresh(client, system, first["refresh_token"])
    assert renewed.status_code == 200 and renewed.headers["cache-control"] == "no-store"
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"] and second["expires_in"] == 3600
    # OpenID Connect Core §12.2: the same person and login, a new iat, no nonce.
    keys = JsonWebKey.import_key_set(client.get("/oidc/jwks").json())
    old_claims = jwt.decode(first["id_token"], keys)
    new_claims = jwt.decode(second["id_token"], keys, claims_cls=CodeIDToken,
                            claims_options={"iss": {"value": ISSUER}},
                            claims_params={"client_id": login.client_id,
                                           "access_token": second["access_token"]})
    new_claims.validate(now=int(clock.now().timestamp()))
    assert "nonce" not in new_claims and new_claims["iat"] == old_claims["iat"] + 1800
    assert (new_claims["sub"], new_claims["auth_time"], new_claims["sid"]) == (
        old_claims["sub"], old_claims["auth_time"], old_claims["sid"])
    assert new_claims["role"] == "legal_rep"
    # The access token before the refresh is replaced; the new one works.
    assert client.get("/oidc/userinfo", headers={
        "Authorization": f"Bearer {first['access_token']}"}).status_code == 401
    bearer = {"Authorization": f"Bearer {second['access_token']}"}
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 200
    # Another client, a wider scope, an unknown token: refused, nothing changes.
    other = register(client, "other.portal")
    oauth_error(refresh(client, other, second["refresh_token"]), 400, "invalid_grant")
    oauth_error(refresh(client, system, second["refresh_token"], scope="openid enterprise x"),
                400, "invalid_scope")
    oauth_error(refresh(client, system, "no-such-token"), 400, "invalid_grant")
    oauth_error(refresh(client, {**system, "secret": "wrong"}, second["refresh_token"]), 401,
                "invalid_client")
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 200
    # The replaced refresh token once more: someone holds a copy; the login's tokens die.
    body = oauth_error(refresh(client, system, first["refresh_token"]), 400, "invalid_grant")
    assert "revoked" in body["error_description"]
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 401
    oauth_error(refresh(client, system, second["refresh_token"]), 400, "invalid_grant")
    assert "oidc:refresh_replay" in [e.action for e in recent_events(uow=container.uow,
                                                                    limit=20)]


def test_a_refresh_token_lives_as_long_as_the_login_and_its_consent(
        client: TestClient, clock: FixedClock, cast: Cast, system: dict[str, str],
        rep_wallet: WalletClient) -> None:
    rep = cast.company.legal_rep
    login = Login(system["client_id"])
    tokens = exchange(client, system, login, login_code(client, rep_wallet, login,
                                                        uscc=cast.company.uscc)).json()
    clock.advance(seconds=43200 - 600)
    near_end = refresh(client, system, tokens["refresh_token"]).json()
    assert near_end["expires_in"] == 600  # an access token never outlives its login
    clock.advance(seconds=600)
    body = oauth_error(refresh(client, system, near_end["refresh_token"]), 400, "invalid_grant")
    assert "expired" in body["error_description"]
    # A consent withdrawn ends the refresh tokens of its logins too.
    again = Login(system["client_id"])
    fresh = exchange(client, system, again, login_code(client, rep_wallet, again,
                                                       uscc=cast.company.uscc,
                                                       consents=False)).json()
    rep = relog(client, rep)  # twelve hours on: the web session of the morning ended
    [given] = client.get("/api/v1/me/consents", headers=rep.headers()).json()
    assert post(client, f"/api/v1/me/consents/{given['id']}/withdraw", rep).status_code == 200
    oauth_error(refresh(client, system, fresh["refresh_token"]), 400, "invalid_grant")
