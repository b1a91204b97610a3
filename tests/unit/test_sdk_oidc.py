"""The SDK's OpenID Connect client against a stand-in provider whose keys are made here: the
authorization URL (PKCE S256), the code exchange, and every check of the ID token (signature,
alg, kid and key rotation, iss, aud, exp, iat, nonce, at_hash); a state mismatch or a provider's
error at the callback is refused before anything is exchanged."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.sdk_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    REDIRECT_URI,
    Provider,
    SigningKey,
    claims,
)
from yunzhang.sdk import OidcClient, SdkError, code_challenge, new_login


@pytest.fixture
def provider() -> Provider:
    return Provider()


def client(provider: Provider, **options: object) -> OidcClient:
    return OidcClient(ISSUER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                      redirect_uri=REDIRECT_URI,
                      http=httpx.Client(transport=provider.transport()), **options)  # type: ignore[arg-type]


def refused(code: str, call: object, *args: object, **kwargs: object) -> SdkError:
    with pytest.raises(SdkError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.code == code, caught.value
    return caught.value


def test_the_authorization_url_carries_an_s256_challenge_of_the_verifier(provider: Provider) -> None:
    login = new_login()
    url = client(provider).authorization_url(login.state, login.nonce, login.code_verifier)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/oidc/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["scope"].split() == ["openid", "profile", "enterprise"]
    assert (query["state"], query["nonce"]) == (login.state, login.nonce)
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(login.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert "code_verifier" not in query  # the verifier never leaves the relying party
    # RFC 7636 appendix B's example
    assert code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    refused("oidc.code_verifier", code_challenge, "too-short")


def test_a_provider_calling_itself_another_issuer_is_refused(provider: Provider) -> None:
    provider.discovery["issuer"] = "https://evil.test"
    refused("oidc.discovery", client(provider).metadata)


def test_a_whole_login_yields_the_person_enterprise_role_and_grants(provider: Provider) -> None:
    oidc, login = client(provider), new_login()
    code = provider.authorize(login.nonce, code_challenge(login.code_verifier))
    done = oidc.finish_login({"code": code, "state": login.state}, login)
    token = done.id_token
    assert token.name == "王经办" and token.phone_number == "13800000003"
    assert token.enterprise is not None and token.enterprise.uscc == "91310115MA1K4DEM05"
    assert token.role == "agent"
    assert [g.scope for g in token.grants] == ["ecommerce.bidding.full_process"]
    assert token.grants[0].ends_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert not token.grants[0].all_business
    assert token.raw == done.tokens.id_token and token.audience == (CLIENT_ID,)
    sent = provider.token_requests[0]
    assert sent.headers["authorization"].startswith("Basic ")
    assert b"code_verifier=" + login.code_verifier.encode() in sent.content
    me = oidc.userinfo(done.tokens.access_token, expected_subject=token.subject)
    assert me.enterprise == token.enterprise
    refused("oidc.subject", oidc.userinfo, done.tokens.access_token, expected_subject="other")
    refused("oidc.invalid_token", oidc.userinfo, "stolen")
    logout = urlsplit(oidc.logout_url(id_token_hint=token.raw,
                                      post_logout_redirect_uri="https://bidding.test/",
                                      state="s1"))
    query = {k: v[0] for k, v in parse_qs(logout.query).items()}
    assert logout.path == "/oidc/logout" and query["id_token_hint"] == token.raw
    assert query["post_logout_redirect_uri"] == "https://bidding.test/"


def test_client_secret_post_sends_the_credentials_in_the_form(provider: Provider) -> None:
    oidc, login = client(provider, auth_method="client_secret_post"), new_login()
    code = provider.authorize(login.nonce, code_challenge(login.code_verifier))
    oidc.finish_login({"code": code, "state": login.state}, login)
    sent = provider.token_requests[0]
    assert "authorization" not in sent.headers and b"client_secret=" in sent.content


def test_the_callback_refuses_a_foreign_state_and_reports_the_providers_error(
        provider: Provider) -> None:
    oidc, login = client(provider), new_login()
    code = provider.authorize(login.nonce, code_challenge(login.code_verifier))
    refused("oidc.state", oidc.finish_login, {"code": code, "state": "someone-elses"}, login)
    refused("oidc.state", oidc.finish_login, {"code": code}, login)
    assert provider.token_requests == []  # nothing was exchanged
    error = refused("oidc.access_denied", oidc.finish_login,
                    {"error": "access_denied", "error_description": "the person said no",
                     "state": login.state}, login)
    assert "the person said no" in error.detail
    refused("oidc.no_code", oidc.finish_login, {"state": login.state}, login)
    provider.token_error = {"error": "invalid_grant", "error_description": "code used"}
    refused("oidc.invalid_grant", oidc.finish_login, {"code": code, "state": login.state}, login)


def test_a_wrong_verifier_gets_no_tokens(provider: Provider) -> None:
    oidc, login, other = client(provider), new_login(), new_login()
    code = provider.authorize(login.nonce, code_challenge(login.code_verifier))
    refused("oidc.invalid_grant", oidc.exchange_code, code, other.code_verifier)


def test_the_id_token_checks(provider: Provider) -> None:
    oidc, key = client(provider), provider.keys[0]
    now = int(time.time())
    assert oidc.validate_id_token(key.sign(claims("n1")), nonce="n1").role == "agent"
    cases = [
        ("jwt.signature", SigningKey("k1").sign(claims("n1"))),  # same kid, another key
        ("jwt.iss", key.sign(claims("n1", iss="https://evil.test"))),
        ("jwt.aud", key.sign(claims("n1", aud="another.system"))),
        ("jwt.aud", key.sign(claims("n1", aud=[CLIENT_ID, "another.system"]))),  # no azp
        ("jwt.aud", key.sign(claims("n1", azp="another.system"))),
        ("jwt.nonce", key.sign(claims("n2"))),
        ("jwt.nonce", key.sign(claims("n1", nonce=None))),
        ("jwt.expired", key.sign(claims("n1", exp=now - 61, iat=now - 400))),
        ("jwt.iat", key.sign(claims("n1", iat=now + 120))),
        ("jwt.claims", key.sign(claims("n1", exp=None))),
        ("jwt.claims", key.sign(claims("n1", sub=None))),
        ("jwt.alg", key.sign(claims("n1"), header={"alg": "HS256", "kid": "k1"})),
        ("jwt.alg", key.sign(claims("n1"), header={"alg": "none", "kid": "k1"})),
        ("jwt.alg", key.sign(claims("n1"), header={"alg": "ES256", "kid": "k1",
                                                   "crit": ["exp"]})),
        ("jwt.unknown_key", key.sign(claims("n1"), header={"alg": "ES256"})),
        ("jwt.malformed", "not.a-token"),
        ("jwt.signature", key.sign(claims("n1")) + "x"),
        ("jwt.malformed", key.sign(claims("n1")) + ".x"),
        ("jwt.malformed", "e30.bm90IGpzb24.c2ln"),
    ]
    for code, token in cases:
        refused(code, oidc.validate_id_token, token, nonce="n1")
    # Within the clock skew: just expired or just issued ahead is still accepted.
    oidc.validate_id_token(key.sign(claims("n1", exp=now - 30, iat=now - 330)), nonce="n1")
    oidc.validate_id_token(key.sign(claims("n1", iat=now + 30)), nonce="n1")
    # Two audiences with azp naming this client are fine (Core §3.1.3.7 items 3-5).
    oidc.validate_id_token(key.sign(claims("n1", aud=[CLIENT_ID, "x"], azp=CLIENT_ID)),
                           nonce="n1")
    refused("jwt.at_hash", oidc.validate_id_token, key.sign(claims("n1", at_hash="AAAA")),
            nonce="n1", access_token="at-1")


def test_a_tampered_payload_fails_the_signature(provider: Provider) -> None:
    oidc, key = client(provider), provider.keys[0]
    head, _, signature = key.sign(claims("n1")).split(".")
    forged = key.sign(claims("n1", role="legal_rep")).split(".")[1]
    refused("jwt.signature", oidc.validate_id_token, f"{head}.{forged}.{signature}", nonce="n1")


def test_an_unknown_kid_refreshes_the_key_set_once(provider: Provider) -> None:
    oidc = client(provider)
    oidc.validate_id_token(provider.keys[0].sign(claims("n1")), nonce="n1")
    assert provider.jwks_fetches == 1
    oidc.validate_id_token(provider.keys[0].sign(claims("n1")), nonce="n1")
    assert provider.jwks_fetches == 1  # cached
    rotated = provider.rotate("k2")  # the provider rotated: the new kid is fetched once
    assert oidc.validate_id_token(rotated.sign(claims("n1")), nonce="n1").subject
    assert provider.jwks_fetches == 2
    # A token signed with the retired key still validates while it is published.
    oidc.validate_id_token(provider.keys[1].sign(claims("n1")), nonce="n1")
    assert provider.jwks_fetches == 2
    # A kid nobody publishes: one more fetch, then a clear refusal (not a fetch per retry loop).
    stranger = SigningKey("k9")
    refused("jwt.unknown_key", oidc.validate_id_token, stranger.sign(claims("n1")), nonce="n1")
    assert provider.jwks_fetches == 3
    # The retired key leaves the JWKS: its tokens are refused after the next refresh.
    provider.published = [rotated]
    refused("jwt.unknown_key", oidc.validate_id_token, SigningKey("k3").sign(claims("n1")),
            nonce="n1")
    refused("jwt.unknown_key", oidc.validate_id_token,
            provider.keys[1].sign(claims("n1")), nonce="n1")


def test_a_key_set_with_a_malformed_key_is_an_error(provider: Provider) -> None:
    bad = provider.keys[0].jwk()
    bad["y"] = bad["x"]  # not on the curve
    provider.published = []
    provider.discovery["jwks_uri"] = f"{ISSUER}/bad-jwks"
    original = provider.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/bad-jwks":
            return httpx.Response(200, json={"keys": [bad]})
        return original(request)

    provider.handle = handle  # type: ignore[method-assign]
    refused("jwt.jwks", client(provider).validate_id_token,
            provider.keys[0].sign(claims("n1")), nonce="n1")


def test_an_unreachable_provider_is_a_clear_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    oidc = OidcClient(ISSUER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                      redirect_uri=REDIRECT_URI, http=httpx.Client(transport=httpx.MockTransport(down)))
    error = refused("platform.unreachable", oidc.metadata)
    assert CLIENT_SECRET not in str(error)


def test_a_callback_naming_another_issuer_is_refused(provider: Provider) -> None:
    """RFC 9207: the provider names itself in the answer; another name is a mix-up attack."""
    oidc, login = client(provider), new_login()
    code = provider.authorize(login.nonce, code_challenge(login.code_verifier))
    refused("oidc.iss", oidc.finish_login,
            {"code": code, "state": login.state, "iss": "https://evil.test"}, login)
    assert provider.token_requests == []
    assert oidc.finish_login({"code": code, "state": login.state, "iss": ISSUER}, login)


def test_a_refresh_gives_a_validated_id_token_for_the_same_person(provider: Provider) -> None:
    """Core §12.2: the refreshed ID token has no nonce (or the login's) and the same sub."""
    oidc, login = client(provider), new_login()
    code = provider.authorize(login.nonce, code_challenge(login.code_verifier))
    done = oidc.finish_login({"code": code, "state": login.state}, login)
    assert done.tokens.refresh_token == "rt-1"
    renewed = oidc.refresh("rt-1", previous=done.id_token)
    assert renewed.tokens.refresh_token == "rt-2" and "nonce" not in renewed.id_token.claims
    assert renewed.id_token.subject == done.id_token.subject
    refused("oidc.invalid_grant", oidc.refresh, "rt-0", previous=done.id_token)
    provider.refresh_claims = {"sub": "someone-else"}
    refused("oidc.subject", oidc.refresh, "rt-1", previous=done.id_token)
    provider.refresh_claims = {"nonce": "another-login"}
    refused("jwt.nonce", oidc.refresh, "rt-1", previous=done.id_token)
    provider.refresh_claims = {"aud": "another.system"}
    refused("jwt.aud", oidc.refresh, "rt-1", previous=done.id_token)
