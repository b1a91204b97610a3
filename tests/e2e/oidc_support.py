"""The OpenID Connect flow as a browser, a wallet and a business system's server each do their
part of it, for the provider's tests."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from tests.e2e.persons_support import PASSWORD, tiny_png
from tests.e2e.roles_support import Person, liveness
from tests.e2e.test_stamps_api import basic
from yunzhang.wallet import WalletClient, WalletStore

FAST = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
LICENSE_PASSWORD = "license-123"
REDIRECT = "https://bidding.example/callback"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148"


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Login:
    """One authorization request as the business system made it."""

    client_id: str
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    scope: str = "openid profile enterprise"
    redirect_uri: str = REDIRECT

    def params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "scope": self.scope, "state": self.state,
            "nonce": self.nonce, "code_challenge": challenge_of(self.verifier),
            "code_challenge_method": "S256", **overrides}
        return {k: v for k, v in params.items() if v is not None}


@dataclass
class Page:
    """The login page the browser got: the session id, the QR code's URL, the HTML."""

    id: str
    scan_url: str
    html: str


def open_page(browser: TestClient, login: Login, *, user_agent: str = DESKTOP,
              **overrides: str | None) -> Page:
    response = browser.get("/oidc/authorize", params=login.params(**overrides),
                           headers={"User-Agent": user_agent}, follow_redirects=False)
    assert response.status_code == 200, response.text
    found = re.search(r'data-url="([^"]+)"', response.text)
    assert found, response.text
    scan_url = unescape(found.group(1))
    return Page(scan_url.rsplit("/", 1)[-1], scan_url, response.text)


def qr_text(html: str, directory: Path) -> str:
    """What a QR reader (zbarimg, from ZBar) reads from the page's inline SVG QR code: its path
    of horizontal runs (``M x y``, ``h n``, ``m dx dy``, one module high) drawn as a PNG."""
    from PIL import Image, ImageDraw

    svg = re.search(r"<svg[^>]*viewBox=\"0 0 (\d+) (\d+)\"[^>]*>(.*?)</svg>", html, re.S)
    assert svg, "no inline SVG with a viewBox on the page"
    size, scale = int(svg.group(1)), 8
    runs = re.search(r'class="qrline"[^>]*d="([^"]+)"|d="([^"]+)"[^>]*class="qrline"',
                     svg.group(3))
    assert runs
    path = runs.group(1) or runs.group(2)
    picture = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(picture)
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            row = int(y)
            draw.rectangle([x * scale, row * scale, (x + float(a)) * scale - 1,
                            (row + 1) * scale - 1], fill=0)
            x += float(a)
    target = directory / "qr.png"
    picture.save(target)
    done = subprocess.run(["zbarimg", "--quiet", "--raw", str(target)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def wallet_for(app_client: TestClient, person: Person, directory: Path, *,
               uscc: str | None = None, base_url: str = "http://testserver",
               http: httpx.Client | None = None) -> WalletClient:
    """The person's enrolled wallet, holding the enterprise's e-license when ``uscc`` is given
    (a legal representative's download needs a fresh liveness check)."""
    store = WalletStore(directory, kdf=FAST)
    # The wallet knows its platform by the public URL its QR codes carry.
    store.create(app_client.app.state.container.settings.public_url, LICENSE_PASSWORD)
    wallet = WalletClient(store, http or TestClient(app_client.app, base_url=base_url))
    wallet.enroll(phone=person.phone, password=PASSWORD, license_password=LICENSE_PASSWORD)
    if uscc is not None:
        liveness(app_client, person, tiny_png())
        wallet.download_license(uscc, phone=person.phone, password=PASSWORD)
    return wallet


def confirm_in_wallet(wallet: WalletClient, page: Page, *, uscc: str | None,
                      now: Any = None, deny: bool = False) -> str:
    request = wallet.read(page.scan_url)
    wallet.scan(request, license_password=LICENSE_PASSWORD)
    if deny:
        return wallet.answer(request, "deny", license_password=LICENSE_PASSWORD)
    return wallet.confirm(request, license_password=LICENSE_PASSWORD, license=uscc, now=now)


def done(browser: TestClient, page: Page) -> httpx.Response:
    response: httpx.Response = browser.get(f"/oidc/authorize/{page.id}/done",
                                           follow_redirects=False)
    return response


def consent(browser: TestClient, page: Page, html: str, decision: str = "approve"
            ) -> httpx.Response:
    token = re.search(r'name="form_token" value="([^"]+)"', html)
    assert token, html
    response: httpx.Response = browser.post(
        f"/oidc/authorize/{page.id}/consent", data={"form_token": unescape(token.group(1)),
                                                   "decision": decision},
        follow_redirects=False)
    return response


def code_from(response: httpx.Response, login: Login) -> str:
    assert response.status_code == 303, response.text
    return code_in(response.headers["location"], login)


def code_in(location: str, login: Login) -> str:
    assert location.startswith(login.redirect_uri + "?"), location
    got = query_of(location)
    assert got["state"] == login.state and got["iss"] == "http://127.0.0.1:8000", got
    return got["code"]


def exchange(server: TestClient, system: dict[str, str], login: Login, code: str,
             **overrides: str | None) -> httpx.Response:
    body = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": login.redirect_uri, "code_verifier": login.verifier, **overrides}
    response: httpx.Response = server.post(
        "/oidc/token", data={k: v for k, v in body.items() if v is not None},
        headers=basic(system["client_id"], system["secret"]))
    return response


def oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """An RFC 6749 §5.2 error body: JSON, never cached."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error and body["error_description"], body
    return body


def error_page(response: httpx.Response, error: str, status: int = 400) -> str:
    """An error shown on the provider's page, never redirected (RFC 6749 §4.1.2.1)."""
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert f'<code id="error">{error}</code>' in response.text, response.text
    return response.text


def error_redirect(response: httpx.Response, login: Login, error: str) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(login.redirect_uri + "?"), location
    got = query_of(location)
    assert got["error"] == error and got["error_description"], got
    return got
