"""The demo business systems (/demo/bidding/, /demo/social-insurance/) on a running server, used
as a person would with a browser (an httpx client keeping cookies) and the reference wallet:
log in by scan through the platform's OpenID Connect provider (login page, wallet confirming
with the enterprise's e-license, consent, back to the site's callback), see who is logged in,
ask for a stamp on the sample PDF, scan the QR code the page shows, follow the progress,
receive the platform's webhook (verified by the site with the SDK), download the stamped PDF,
log out. Bad input gets a clear refusal and leaves nothing behind: a callback whose state is not
the login's, a scan denied in the wallet (the provider's error), a forged cookie, a webhook
with a changed body or signed with another secret, someone else's request."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import FAST_HASHER
from tests.e2e.test_pki_live import OPERATOR
from tests.live import free_port, serving
from tests.e2e.test_requests_live import LEGAL_REP, wallet
from tests.e2e.test_stamping import signatures_valid
from tests.e2e.test_wallet import LICENSE
from yunzhang.adapters.db import migrate
from yunzhang.adapters.db.engine import make_engine
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import load_settings
from yunzhang.demo_sites.sessions import CookieSessions
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.sdk import OidcClient, SdkError, new_login, sign_webhook
from yunzhang.sdk.jose import b64url_encode, parse
from yunzhang.services import token_keys
from yunzhang.services.demo import DEMO_PASSWORD, DEMO_SYSTEMS, DEMO_USCC, seed_demo
from yunzhang.wallet import WalletClient
from yunzhang.web.app import create_app
from yunzhang.web.demo import cookie_key

SCAN_COMMAND = re.compile(r"yunzhang wallet scan '(http[^']+)' --yes")


@pytest.fixture
def demo_server(blank_database_url: str, tmp_path: Path) -> Iterator[Container]:
    """`yunzhang demo` in a test: the demo data, the demo sites on, webhooks delivered by the
    server's own background loop."""
    engine = make_engine(blank_database_url)
    migrate.upgrade(engine)
    engine.dispose()
    port = free_port()
    settings = load_settings(env="development", data_dir=tmp_path / "var",
                             database_url=blank_database_url,
                             public_url=f"http://127.0.0.1:{port}", demo_sites=True,
                             outbox_poll_seconds=0.3)
    c = build_container(settings, passwords=FAST_HASHER, limiter=MemoryRateLimiter())
    seed_demo(caller=OPERATOR, uow=c.uow, keyring=c.keyring, passwords=c.passwords,
              clock=c.clock, settings=c.settings, scopes=c.scopes, keys=c.keys, factory=c.x509,
              artist=c.artist)
    app = create_app(settings, container=c, deliver_outbox=True)
    with serving(app, port):
        yield c
    c.engine.dispose()


def sessions(c: Container, slug: str) -> CookieSessions:
    return CookieSessions(cookie_key(c.settings, slug), name=f"demo_{slug.replace('-', '_')}",
                          path=f"/demo/{slug}/", secure=False)


def browser(c: Container) -> httpx.Client:
    return httpx.Client(base_url=c.settings.public_url, timeout=60, follow_redirects=False)


def logged_in(c: Container, slug: str, **claims: Any) -> httpx.Client:
    """A browser holding a session cookie made with the site's key, as if its callback had left
    it after a login (for the cases a real login cannot make): the ID token's claims (its
    signature was checked at the callback, so the site does not look at it again)."""
    made = browser(c)
    payload = {"sub": "p-1", "name": "张云章", "phone_number": "+8613800000001",
               "role": "legal_rep",
               "enterprise": {"uscc": DEMO_USCC, "name": "上海云章示范科技有限公司"},
               "grants": [{"scope": "*"}], **claims}
    token = "e30." + b64url_encode(json.dumps(payload).encode()) + ".c2ln"
    made.cookies.set(f"demo_{slug.replace('-', '_')}",
                     sessions(c, slug).encode({"user": {"id_token": token}}),
                     path=f"/demo/{slug}/")
    return made


def phone(c: Container, directory: Path, number: str = LEGAL_REP) -> WalletClient:
    """The person's wallet: enrolled, certified, holding the demo enterprise's e-license."""
    made = wallet(c.settings.public_url, directory, number)
    made.download_license(DEMO_USCC, phone=number, password=DEMO_PASSWORD)
    return made


def log_in(c: Container, slug: str, wallet_: WalletClient, *, license: str | None = DEMO_USCC,
           deny: bool = False, page: httpx.Client | None = None
           ) -> tuple[httpx.Client, httpx.Response]:
    """扫码登录 as a browser does it: the site's login, the provider's page and its QR code, the
    wallet's answer, the page's long poll, the consent page, back to the site's callback. The
    browser and the callback's answer."""
    page = page or browser(c)
    started = page.get(f"/demo/{slug}/login")
    assert started.status_code == 303
    authorize = started.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert authorize.startswith(f"{c.settings.public_url}/oidc/authorize?")
    assert query["code_challenge_method"] == "S256" and "code_verifier" not in query
    assert query["redirect_uri"] == f"{c.settings.public_url}/demo/{slug}/callback"
    shown = page.get(authorize)
    assert shown.status_code == 200, shown.text
    found = re.search(r'data-url="([^"]+)"', shown.text)
    assert found
    scan_url = unescape(found.group(1))
    session_id = scan_url.rsplit("/", 1)[-1]
    request = wallet_.read(scan_url)
    wallet_.scan(request, license_password=LICENSE)
    if deny:
        assert wallet_.answer(request, "deny", license_password=LICENSE) == "denied"
    else:
        assert wallet_.confirm(request, license_password=LICENSE, license=license) == "confirmed"
    # The page's poll learns the answer and where to go, as the page's script does.
    back = page.get(f"/oidc/authorize/{session_id}/wait", params={"wait": 5}).json()["next"]
    if back == f"/oidc/authorize/{session_id}/done":  # the consent page (同意授权), first time
        answer = page.get(back)
        token = re.search(r'name="form_token" value="([^"]+)"', answer.text)
        assert answer.status_code == 200 and token, answer.text
        answer = page.post(f"/oidc/authorize/{session_id}/consent",
                           data={"form_token": unescape(token.group(1)), "decision": "approve"})
        assert answer.status_code == 303, answer.text
        back = answer.headers["location"]
    assert back.startswith(f"{c.settings.public_url}/demo/{slug}/callback?")
    return page, page.get(back)


def follow(page: httpx.Client, url: str, until: Any, seconds: float = 20) -> dict[str, Any]:
    """Poll the page's progress endpoint as its script does, until ``until(progress)``."""
    deadline = time.monotonic() + seconds
    while True:
        progress: dict[str, Any] = page.get(url).json()
        if until(progress) or time.monotonic() > deadline:
            return progress
        time.sleep(0.3)


@pytest.mark.parametrize("slug", ["bidding", "social-insurance"])
def test_ask_for_a_stamp_scan_it_and_download_the_stamped_pdf(
        demo_server: Container, tmp_path: Path, slug: str) -> None:
    c = demo_server
    home = f"/demo/{slug}/"
    index = browser(c).get("/demo/")
    assert index.status_code == 200 and "/demo/bidding/" in index.text and \
        "/demo/social-insurance/" in index.text
    assert "扫码登录" in browser(c).get(home).text
    legal = phone(c, tmp_path / "legal")
    page, called_back = log_in(c, slug, legal)
    assert called_back.status_code == 303 and called_back.headers["location"] == f"{home}me"
    assert "张云章" in page.get(home).text
    me = page.get(f"{home}me").text  # what the ID token says, as the site shows it
    assert "张云章" in me and DEMO_USCC in me and "上海云章示范科技有限公司" in me
    assert "法定代表人" in me and "全业务 all business" in me
    form = page.get(f"{home}stamp")
    assert form.status_code == 200 and 'name="seal_type"' in form.text
    sample = page.get(f"{home}document.pdf")
    assert sample.headers["content-type"] == "application/pdf"
    asked = page.post(f"{home}stamp", data={"seal_type": "contract"})
    assert asked.status_code == 303, asked.text
    request_page = asked.headers["location"]
    shown = page.get(request_page)
    assert shown.status_code == 200 and "<svg" in shown.text  # the QR code
    url = SCAN_COMMAND.search(shown.text)
    assert url, shown.text
    binding = re.search(r'class="code">(\d\d)<', shown.text)
    assert binding

    request = legal.read(url.group(1))
    assert request.view["binding_code"] == binding.group(1)  # what the page shows
    assert request.view["documents"][0]["name"] in ("投标函.pdf", "社保申报表.pdf")
    legal.scan(request, license_password=LICENSE)
    progress_url = f"{request_page}/progress"
    assert follow(page, progress_url, lambda p: p["scan"] == "scanned")["scan"] == "scanned"
    assert legal.confirm(request, license_password=LICENSE) == "confirmed"
    done = follow(page, progress_url, lambda p: p["completed"] and p["events"])
    assert done["completed"] and done["progress"] == "1/1"
    # The platform's webhook reached the site's receiver and passed the SDK's check.
    assert [e["type"] for e in done["events"]] == ["signing_request.completed"]

    pdf = page.get(f"{request_page}/download")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(sample.content)
    path = tmp_path / "stamped.pdf"
    path.write_bytes(pdf.content)
    assert "合同专用章" in signatures_valid(path, 1)

    # Someone else's browser sees none of it.
    stranger = logged_in(c, slug, name="别人")
    assert stranger.get(request_page).status_code == 404
    assert stranger.get(progress_url).status_code == 404
    assert stranger.get(f"{request_page}/download").status_code == 404

    # 退出: the site's session ends, and the platform's tokens of that login; back home.
    out = page.get(f"{home}logout")
    assert out.status_code == 303 and out.headers["location"].startswith(
        f"{c.settings.public_url}/oidc/logout?")
    assert page.get(f"{home}me").headers["location"] == f"{home}login"
    done_out = page.get(out.headers["location"])
    assert done_out.status_code == 303, done_out.text
    assert done_out.headers["location"].startswith(f"{c.settings.public_url}{home}")


def test_a_seal_not_yet_claimed_is_refused_and_said_so(demo_server: Container) -> None:
    """The official seal is approved but not claimed (grey): the platform refuses the request
    and the page says why; no request is kept."""
    c = demo_server
    page = logged_in(c, "bidding")
    refused = page.post("/demo/bidding/stamp", data={"seal_type": "official"})
    assert refused.status_code == 422, refused.text
    assert "the platform refused" in refused.text and "[seal." in refused.text
    assert "my requests" not in page.get("/demo/bidding/stamp").text


def test_asking_for_a_stamp_needs_an_enterprise_login(demo_server: Container,
                                                     tmp_path: Path) -> None:
    c = demo_server
    anonymous = browser(c)
    assert anonymous.get("/demo/bidding/stamp").headers["location"] == "/demo/bidding/login"
    assert anonymous.post("/demo/bidding/stamp", data={"seal_type": "contract"}) \
        .headers["location"] == "/demo/bidding/login"
    person, _ = log_in(c, "bidding", phone(c, tmp_path / "agent", "13800000003"),
                       license=None)
    me = person.get("/demo/bidding/me").text
    assert "王经办" in me and "个人登录" in me
    refused = person.get("/demo/bidding/stamp")
    assert refused.status_code == 403 and "e-license" in refused.text
    odd = logged_in(c, "bidding").post("/demo/bidding/stamp", data={"seal_type": "finance"})
    assert odd.status_code == 422 and "demo.seal_type" in odd.text
    # A cookie signed with another key, or altered, is no session at all.
    genuine = logged_in(c, "bidding", name="mallory").cookies["demo_bidding"]
    assert "mallory" in logged_in(c, "bidding", name="mallory").get("/demo/bidding/me").text
    payload, _, mac = genuine.partition(".")
    other_key = CookieSessions(b"k" * 32, name="demo_bidding", path="/demo/bidding/",
                               secure=False).encode(sessions(c, "bidding").decode(genuine))
    flipped = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    for cookie in (other_key, f"{flipped}.{mac}", payload, "junk"):
        forged = browser(c)
        forged.cookies.set("demo_bidding", cookie, path="/demo/bidding/")
        assert forged.get("/demo/bidding/me").headers["location"] == "/demo/bidding/login"


def test_the_callback_refuses_a_foreign_state_and_the_providers_error(
        demo_server: Container, tmp_path: Path) -> None:
    c = demo_server
    # A callback for a login this browser did not start (CSRF, or a code pasted from elsewhere).
    page = browser(c)
    assert page.get("/demo/bidding/login").status_code == 303  # a login is pending here
    for query in ("state=another&code=abc", "code=abc"):
        answer = page.get(f"/demo/bidding/callback?{query}")
        assert answer.status_code == 400 and "oidc.state" in answer.text, answer.text
        # Nobody is logged in, and the pending login is used up: a retry is refused too.
        assert page.get("/demo/bidding/me").headers["location"] == "/demo/bidding/login"
        again = page.get(f"/demo/bidding/callback?{query}")
        assert again.status_code == 400 and "no login was started" in again.text
        assert page.get("/demo/bidding/login").status_code == 303
    assert browser(c).get("/demo/bidding/callback?state=x&code=y").status_code == 400

    # The person denies the scan: the provider sends its error back; the site says so.
    denied_page, denied = log_in(c, "bidding", phone(c, tmp_path / "legal"), deny=True)
    assert denied.status_code == 400 and "oidc.access_denied" in denied.text, denied.text
    assert denied_page.get("/demo/bidding/me").headers["location"] == "/demo/bidding/login"


def test_the_webhook_receiver_believes_only_the_platforms_signature(
        demo_server: Container) -> None:
    c = demo_server
    secret = DEMO_SYSTEMS[0].webhook_secret
    body = (b'{"id":"msg_1","type":"signing_request.completed","timestamp":'
            b'"2026-11-22T08:00:00+00:00","data":{"id":"r-1","status":"completed"}}')
    now = int(time.time())

    def post(data: bytes, *, stamp: int = now, key: str = secret) -> httpx.Response:
        return browser(c).post("/demo/bidding/webhooks", content=data, headers={
            "webhook-id": "msg_1", "webhook-timestamp": str(stamp),
            "webhook-signature": sign_webhook(key, "msg_1", stamp, body)})

    for answer, code in ((post(body.replace(b"completed", b"declined")), "webhook.signature"),
                         (post(body, key=DEMO_SYSTEMS[1].webhook_secret), "webhook.signature"),
                         (post(body, stamp=now - 600), "webhook.stale"),
                         (browser(c).post("/demo/bidding/webhooks", content=body),
                          "webhook.headers")):
        assert answer.status_code == 401 and answer.json()["code"] == code
    assert post(body).status_code == 204
    assert post(body).status_code == 204  # a redelivery is acknowledged, and counted once


def test_the_sdk_follows_a_key_rotation_of_the_provider(demo_server: Container,
                                                        tmp_path: Path) -> None:
    """The SDK's OIDC client against the real provider: a login validated against its JWKS,
    userinfo for the same person; the operator rotates the OIDC key (`yunzhang keys
    rotate-token-key --purpose oidc`), the next ID token names a kid the SDK has not seen, it
    fetches the JWKS once more and accepts it; a token from the old login still validates while
    the old key is published."""
    c = demo_server
    base = c.settings.public_url
    fetched: list[str] = []
    http = httpx.Client(timeout=30, event_hooks={"request": [
        lambda r: fetched.append(r.url.path) if r.url.path == "/oidc/jwks" else None]})
    oidc = OidcClient(base, client_id="demo.bidding", client_secret=DEMO_SYSTEMS[0].client_secret,
                      redirect_uri=f"{base}/demo/bidding/callback", http=http)
    legal = phone(c, tmp_path / "legal")

    def login() -> Any:
        started = new_login()
        page = browser(c)
        shown = page.get(oidc.authorization_url(started.state, started.nonce,
                                                started.code_verifier))
        found = re.search(r'data-url="([^"]+)"', shown.text)
        assert found
        scan_url = unescape(found.group(1))
        session_id = scan_url.rsplit("/", 1)[-1]
        request = legal.read(scan_url)
        legal.scan(request, license_password=LICENSE)
        legal.confirm(request, license_password=LICENSE, license=DEMO_USCC)
        answer = page.get(f"/oidc/authorize/{session_id}/done")
        if answer.status_code == 200:
            token = re.search(r'name="form_token" value="([^"]+)"', answer.text)
            assert token
            answer = page.post(f"/oidc/authorize/{session_id}/consent", data={
                "form_token": unescape(token.group(1)), "decision": "approve"})
        params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query)
                  .items()}
        return oidc.finish_login(params, started)

    first = login()
    login_token = first.id_token
    assert first.id_token.enterprise and first.id_token.enterprise.uscc == DEMO_USCC
    assert first.id_token.role == "legal_rep" and first.id_token.grants[0].all_business
    me = oidc.userinfo(first.tokens.access_token, expected_subject=first.id_token.subject)
    assert me.name == first.id_token.name and me.role == "legal_rep"
    assert first.tokens.refresh_token
    renewed = oidc.refresh(first.tokens.refresh_token, previous=first.id_token)
    assert renewed.id_token.subject == first.id_token.subject
    assert renewed.tokens.access_token != first.tokens.access_token
    assert oidc.userinfo(renewed.tokens.access_token).role == "legal_rep"
    assert renewed.tokens.refresh_token
    with pytest.raises(SdkError) as caught:  # the replaced refresh token: a copy is abroad
        oidc.refresh(first.tokens.refresh_token, previous=login_token)
    assert caught.value.code == "oidc.invalid_grant"
    with pytest.raises(SdkError) as caught:  # ... so the login's tokens are all revoked
        oidc.userinfo(renewed.tokens.access_token)
    assert caught.value.code == "oidc.invalid_token"
    with pytest.raises(SdkError) as caught:
        oidc.userinfo("not-a-token-of-this-provider")
    assert caught.value.status == 401 and caught.value.code == "oidc.invalid_token"
    assert fetched == ["/oidc/jwks"]
    token_keys.rotate(TokenPurpose.OIDC, caller=OPERATOR, uow=c.uow, keys=c.keys, jose=c.jose,
                      clock=c.clock, settings=c.settings)
    second = login()
    old_kid = parse(login_token.raw).header["kid"]
    assert parse(second.id_token.raw).header["kid"] != old_kid
    assert fetched == ["/oidc/jwks", "/oidc/jwks"]  # fetched once more, for the new kid
    assert oidc.validate_id_token(login_token.raw, nonce=login_token.claims["nonce"])
    assert fetched == ["/oidc/jwks", "/oidc/jwks"]


def test_the_agent_files_the_social_insurance_declaration(demo_server: Container,
                                                          tmp_path: Path) -> None:
    """The demo agent (王经办) logs in with the enterprise's e-license: the site shows their
    precise grant for declarations with its window; they ask for the stamp and, holding a
    seal grant for the contract seal in this business system, apply it themselves."""
    c = demo_server
    agent = phone(c, tmp_path / "agent", "13800000003")
    page, _ = log_in(c, "social-insurance", agent)
    me = page.get("/demo/social-insurance/me").text
    assert len(page.cookies.get("demo_social_insurance") or "") < 2000  # well under 4 KB
    assert "王经办" in me and "经办人 agent" in me
    assert "hr.social_insurance.declare" in me and "全业务" not in me
    assert re.search(r"<td>20\d\d-\d\d-\d\dT", me)  # the grant's window is shown
    asked = page.post("/demo/social-insurance/stamp", data={"seal_type": "contract"})
    request_page = asked.headers["location"]
    url = SCAN_COMMAND.search(page.get(request_page).text)
    assert url
    request = agent.read(url.group(1))
    assert request.view["scope"] == "hr.social_insurance.declare"
    agent.scan(request, license_password=LICENSE)
    assert agent.confirm(request, license_password=LICENSE) == "confirmed"
    done = follow(page, f"{request_page}/progress", lambda p: p["completed"])
    assert done["completed"], done
    assert page.get(f"{request_page}/download").status_code == 200


def test_another_person_logging_in_in_the_same_browser_sees_none_of_the_last_ones_requests(
        demo_server: Container, tmp_path: Path) -> None:
    c = demo_server
    page, _ = log_in(c, "bidding", phone(c, tmp_path / "legal"))
    request_page = page.post("/demo/bidding/stamp", data={"seal_type": "contract"}) \
        .headers["location"]
    assert request_page.rsplit("/", 1)[-1] in page.get("/demo/bidding/stamp").text
    log_in(c, "bidding", phone(c, tmp_path / "agent", "13800000003"), page=page)
    assert "王经办" in page.get("/demo/bidding/me").text
    assert request_page.rsplit("/", 1)[-1] not in page.get("/demo/bidding/stamp").text
    assert page.get(request_page).status_code == 404
