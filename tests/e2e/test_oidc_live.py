"""An OpenID Connect client written by others (Authlib's OAuth2Client with PKCE S256) logs in
against a running provider: a browser opens the login page, the reference wallet scans the QR
code and confirms with the enterprise's e-license, the page learns it, the person consents, and
Authlib exchanges the code, validates the ID token against the JWKS it fetched (signature, iss,
aud, nonce, at_hash, times) and reads userinfo. And one code raced twice. Real HTTP, real time,
a database of its own."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from tests.e2e.oidc_support import FAST, LICENSE_PASSWORD, query_of
from tests.e2e.persons_support import tiny_png
from tests.e2e.test_pki_live import OPERATOR, server  # noqa: F401
from yunzhang.bootstrap import Container
from yunzhang.services.demo import DEMO_PASSWORD, DEMO_PEOPLE, DEMO_USCC, seed_demo
from yunzhang.wallet import WalletClient, WalletStore

ADMIN = {"Authorization": "Bearer dev-admin-token"}
AGENT = DEMO_PEOPLE[2]


@dataclass
class Live:
    base: str
    secret: str
    redirect_uri: str
    wallet: WalletClient


@pytest.fixture
def live(server: Container, tmp_path: Path) -> Live:  # noqa: F811
    """The demo enterprise on a running server, a business system registered over HTTP, and
    the demo agent's phone: enrolled, holding the enterprise's e-license."""
    c = server
    seed_demo(caller=OPERATOR, uow=c.uow, keyring=c.keyring, passwords=c.passwords,
              clock=c.clock, settings=c.settings, scopes=c.scopes, keys=c.keys, factory=c.x509,
              artist=c.artist)
    base = c.settings.public_url
    redirect_uri = f"{base}/rp/callback"  # the business system's; never fetched here
    registered = httpx.post(f"{base}/api/v1/admin/business-systems", headers=ADMIN, json={
        "client_id": "live.bidding", "name": "在线招投标", "scopes": ["ecommerce.bidding"],
        "redirect_uris": [redirect_uri]}).json()
    with httpx.Client(base_url=base) as person:
        csrf = person.post("/api/v1/sessions", json={"phone": AGENT.phone,
                                                     "password": DEMO_PASSWORD}).json()
        person.post("/api/v1/me/liveness", headers={"X-CSRF-Token": csrf["csrf_token"]}, json={
            "id_number": AGENT.id_number, "face_image": base64.b64encode(tiny_png()).decode()})
    store = WalletStore(tmp_path / "wallet", kdf=FAST)
    store.create(base, LICENSE_PASSWORD)
    wallet = WalletClient(store, httpx.Client(base_url=base))
    wallet.enroll(phone=AGENT.phone, password=DEMO_PASSWORD, license_password=LICENSE_PASSWORD)
    wallet.download_license(DEMO_USCC, phone=AGENT.phone, password=DEMO_PASSWORD)
    return Live(base, registered["client_secret"], redirect_uri, wallet)


def front_channel(live: Live, url: str) -> str:
    """The browser opens the login page, the wallet confirms, the page learns it, the person
    consents if asked: the Location the browser is sent to."""
    browser = httpx.Client(follow_redirects=False)
    page = browser.get(url)
    assert page.status_code == 200 and "<svg" in page.text
    found = re.search(r'data-url="([^"]+)"', page.text)
    assert found
    scan_url = unescape(found.group(1))
    session_id = scan_url.rsplit("/", 1)[-1]
    request = live.wallet.read(scan_url)
    live.wallet.scan(request, license_password=LICENSE_PASSWORD)
    assert live.wallet.confirm(request, license_password=LICENSE_PASSWORD,
                               license=DEMO_USCC) == "confirmed"
    started = time.monotonic()
    learned = browser.get(f"{live.base}/oidc/authorize/{session_id}/wait",
                          params={"wait": 5}).json()
    assert learned["state"] == "confirmed" and time.monotonic() - started < 4
    if learned["next"].startswith(live.redirect_uri + "?"):  # consent remembered: the code
        return str(learned["next"])
    assert learned["next"] == f"/oidc/authorize/{session_id}/done"
    answer = browser.get(f"{live.base}{learned['next']}")
    if answer.status_code == 200:
        assert "同意授权" in answer.text
        form_token = re.search(r'name="form_token" value="([^"]+)"', answer.text)
        assert form_token
        answer = browser.post(f"{live.base}/oidc/authorize/{session_id}/consent",
                              data={"form_token": unescape(form_token.group(1)),
                                    "decision": "approve"})
    assert answer.status_code == 303
    location: str = answer.headers["location"]
    assert location.startswith(live.redirect_uri + "?")
    return location


def test_authlib_logs_in_with_the_wallet_and_validates_the_id_token(live: Live) -> None:
    base, secret, redirect_uri = live.base, live.secret, live.redirect_uri
    # The business system, with Authlib, from the discovery document on.
    metadata = httpx.get(f"{base}/.well-known/openid-configuration").json()
    rp = OAuth2Client("live.bidding", secret, scope="openid profile enterprise ecommerce.bidding",
                      redirect_uri=redirect_uri, code_challenge_method="S256",
                      token_endpoint_auth_method="client_secret_basic")
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = rp.create_authorization_url(metadata["authorization_endpoint"],
                                             code_verifier=verifier, nonce=nonce)
    location = front_channel(live, url)

    # Authlib exchanges the code (with the verifier) and validates the ID token.
    token = rp.fetch_token(metadata["token_endpoint"], authorization_response=location,
                           code_verifier=verifier, state=state)
    keys = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
                        claims_params={"nonce": nonce, "client_id": "live.bidding",
                                       "access_token": token["access_token"]})
    claims.validate()
    assert claims["enterprise"]["uscc"] == DEMO_USCC and claims["role"] == "agent"
    assert claims["name"] == AGENT.name
    assert [g["scope"] for g in claims["grants"]] == ["ecommerce.bidding.full_process"]
    info = rp.get(metadata["userinfo_endpoint"])
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
    # Authlib refreshes the tokens with the refresh token (rotated).
    renewed = rp.refresh_token(metadata["token_endpoint"])
    assert renewed["access_token"] != token["access_token"]
    assert renewed["refresh_token"] != token["refresh_token"]
    assert rp.get(metadata["userinfo_endpoint"]).json()["sub"] == claims["sub"]
    # The code once more: refused, and the tokens of the first use stop working.
    again = httpx.post(metadata["token_endpoint"], auth=("live.bidding", secret), data={
        "grant_type": "authorization_code", "code": query_of(location)["code"],
        "redirect_uri": redirect_uri, "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert rp.get(metadata["userinfo_endpoint"]).status_code == 401


def test_one_code_raced_twice_gives_tokens_at_most_once_and_then_none(live: Live) -> None:
    """Two token requests with one code at the same moment (row lock, real commits): one gets
    tokens, the other invalid_grant — and the replay revokes what the first got."""
    verifier = generate_token(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()
    url = f"{live.base}/oidc/authorize?" + str(httpx.QueryParams({
        "response_type": "code", "client_id": "live.bidding", "redirect_uri": live.redirect_uri,
        "scope": "openid", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    code = query_of(front_channel(live, url))["code"]
    answers: list[httpx.Response] = []
    gate = threading.Barrier(2)

    def redeem() -> None:
        gate.wait()
        answers.append(httpx.post(f"{live.base}/oidc/token", auth=("live.bidding", live.secret),
                                  data={"grant_type": "authorization_code", "code": code,
                                        "redirect_uri": live.redirect_uri,
                                        "code_verifier": verifier}, timeout=30))

    racers = [threading.Thread(target=redeem) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(a.status_code for a in answers) == [200, 400]
    [won] = [a for a in answers if a.status_code == 200]
    [lost] = [a for a in answers if a.status_code == 400]
    assert lost.json()["error"] == "invalid_grant"
    info = httpx.get(f"{live.base}/oidc/userinfo",
                     headers={"Authorization": f"Bearer {won.json()['access_token']}"})
    assert info.status_code == 401
