"""An OpenID Connect client written by others (Authlib's OAuth2Client with PKCE S256) logs in
against a running provider: a browser opens the login page, the reference wallet scans the QR
code and confirms with the enterprise's e-license, the page learns it, the person consents, and
Authlib exchanges the code, validates the ID token against the JWKS it fetched (signature, iss,
aud, nonce, at_hash, times) and reads userinfo. Real HTTP, real time, a database of its own."""

from __future__ import annotations

import base64
import re
import time
from html import unescape
from pathlib import Path

import httpx
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


def test_authlib_logs_in_with_the_wallet_and_validates_the_id_token(
        server: Container, tmp_path: Path) -> None:  # noqa: F811
    c = server
    seed_demo(caller=OPERATOR, uow=c.uow, keyring=c.keyring, passwords=c.passwords,
              clock=c.clock, settings=c.settings, scopes=c.scopes, keys=c.keys, factory=c.x509,
              artist=c.artist)
    base = c.settings.public_url
    redirect_uri = f"{base}/rp/callback"  # the business system's; never fetched here
    registered = httpx.post(f"{base}/api/v1/admin/business-systems", headers=ADMIN, json={
        "client_id": "live.bidding", "name": "在线招投标", "scopes": ["ecommerce.bidding"],
        "redirect_uris": [redirect_uri]}).json()
    secret = registered["client_secret"]

    # The agent's phone: enrolled, holding the demo enterprise's e-license.
    agent = DEMO_PEOPLE[2]
    with httpx.Client(base_url=base) as person:
        csrf = person.post("/api/v1/sessions", json={"phone": agent.phone,
                                                     "password": DEMO_PASSWORD}).json()
        person.post("/api/v1/me/liveness", headers={"X-CSRF-Token": csrf["csrf_token"]}, json={
            "id_number": agent.id_number, "face_image": base64.b64encode(tiny_png()).decode()})
    store = WalletStore(tmp_path / "wallet", kdf=FAST)
    store.create(base, LICENSE_PASSWORD)
    wallet = WalletClient(store, httpx.Client(base_url=base))
    wallet.enroll(phone=agent.phone, password=DEMO_PASSWORD, license_password=LICENSE_PASSWORD)
    wallet.download_license(DEMO_USCC, phone=agent.phone, password=DEMO_PASSWORD)

    # The business system, with Authlib, from the discovery document on.
    metadata = httpx.get(f"{base}/.well-known/openid-configuration").json()
    rp = OAuth2Client("live.bidding", secret, scope="openid profile enterprise ecommerce.bidding",
                      redirect_uri=redirect_uri, code_challenge_method="S256",
                      token_endpoint_auth_method="client_secret_basic")
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = rp.create_authorization_url(metadata["authorization_endpoint"],
                                             code_verifier=verifier, nonce=nonce)

    # The person's browser shows the QR code; the wallet scans and confirms it.
    browser = httpx.Client(follow_redirects=False)
    page = browser.get(url)
    assert page.status_code == 200 and "<svg" in page.text
    found = re.search(r'data-url="([^"]+)"', page.text)
    assert found
    scan_url = unescape(found.group(1))
    session_id = scan_url.rsplit("/", 1)[-1]
    request = wallet.read(scan_url)
    wallet.scan(request, license_password=LICENSE_PASSWORD)
    assert wallet.confirm(request, license_password=LICENSE_PASSWORD,
                          license=DEMO_USCC) == "confirmed"
    started = time.monotonic()
    learned = browser.get(f"{base}/oidc/authorize/{session_id}/wait", params={"wait": 5}).json()
    assert learned == {"state": "confirmed"} and time.monotonic() - started < 4
    asked = browser.get(f"{base}/oidc/authorize/{session_id}/done")
    assert asked.status_code == 200 and "同意授权" in asked.text
    form_token = re.search(r'name="form_token" value="([^"]+)"', asked.text)
    assert form_token
    back = browser.post(f"{base}/oidc/authorize/{session_id}/consent",
                        data={"form_token": unescape(form_token.group(1)),
                              "decision": "approve"})
    assert back.status_code == 303
    location = back.headers["location"]
    assert location.startswith(redirect_uri + "?")

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
    assert claims["name"] == agent.name
    assert [g["scope"] for g in claims["grants"]] == ["ecommerce.bidding.full_process"]
    info = rp.get(metadata["userinfo_endpoint"])
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
    # The code once more: refused, and the tokens of the first use stop working.
    again = httpx.post(metadata["token_endpoint"], auth=("live.bidding", secret), data={
        "grant_type": "authorization_code", "code": query_of(location)["code"],
        "redirect_uri": redirect_uri, "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert rp.get(metadata["userinfo_endpoint"]).status_code == 401
