"""Logging people in with the platform (扫码登录) as an OpenID Connect relying party: discovery
(OpenID Connect Discovery 1.0 §4), the authorization code flow with PKCE S256 (OpenID Connect
Core 1.0 §3.1, RFC 7636), ID token validation against the provider's JWKS (Core §3.1.3.7),
userinfo (Core §5.3) and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2).

    oidc = OidcClient("https://yunzhang.example", client_id="bidding.portal",
                      client_secret=SECRET, redirect_uri="https://bidding.example/callback")
    login = new_login()                         # keep it in the browser's session
    redirect_to(oidc.authorization_url(login.state, login.nonce, login.code_verifier))
    ...                                         # at the callback:
    done = oidc.finish_login(request.query_params, login)
    done.id_token.enterprise, done.id_token.role, done.id_token.grants
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from yunzhang.sdk import jose
from yunzhang.sdk._http import DEFAULT_TIMEOUT, json_object, new_client, oauth_code, send
from yunzhang.sdk.errors import SdkError

DEFAULT_SCOPES = ("openid", "profile", "enterprise")
DEFAULT_LEEWAY = 60  # seconds of clock skew allowed on exp and iat
ALGORITHM = "ES256"  # what the platform signs ID tokens with (its token keys are EC P-256)
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document the SDK uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class LoginRequest:
    """What the relying party keeps between sending the browser to the provider and the
    callback: ``state`` (against CSRF, RFC 6749 §10.12), ``nonce`` (binds the ID token to this
    login, Core §15.5.2), ``code_verifier`` (PKCE, RFC 7636)."""

    state: str
    nonce: str
    code_verifier: str


def new_login() -> LoginRequest:
    """Fresh random values, 256 bits each (the verifier is 43 base64url characters)."""
    return LoginRequest(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                        secrets.token_urlsafe(32))


def code_challenge(code_verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` (RFC 7636 §4.2, method S256)."""
    if not _VERIFIER.fullmatch(code_verifier):
        raise SdkError("a PKCE code verifier is 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                       code="oidc.code_verifier")
    return jose.b64url_encode(hashlib.sha256(code_verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class Enterprise:
    uscc: str  # 统一社会信用代码
    name: str


@dataclass(frozen=True)
class Grant:
    """An authorization of the person in the enterprise that this business system may act on:
    a scope of the scope tree (``*``: all business, for the legal representative and the
    license administrators) and its window [starts_at, ends_at)."""

    scope: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def all_business(self) -> bool:
        return self.scope == "*"


@dataclass(frozen=True)
class Identity:
    """Who logged in: the person (``subject`` is the platform's person id) and, when they logged
    in with an e-license (电子营业执照), the enterprise, their role in it (``legal_rep``,
    ``admin``, ``agent``) and their grants for this business system."""

    subject: str
    name: str | None
    phone_number: str | None
    enterprise: Enterprise | None
    role: str | None
    grants: tuple[Grant, ...]
    claims: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class IdToken(Identity):
    issuer: str = ""
    audience: tuple[str, ...] = ()
    issued_at: datetime = datetime.fromtimestamp(0, UTC)
    expires_at: datetime = datetime.fromtimestamp(0, UTC)
    raw: str = field(default="", repr=False)  # the token itself, e.g. as logout's id_token_hint


@dataclass(frozen=True)
class TokenResponse:
    """The token endpoint's answer (RFC 6749 §5.1, Core §3.1.3.3), not yet validated."""

    access_token: str = field(repr=False)
    token_type: str
    id_token: str = field(repr=False)
    expires_in: int | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: tuple[str, ...] = ()


@dataclass(frozen=True)
class Login:
    tokens: TokenResponse
    id_token: IdToken


def _time(value: object, claim: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise SdkError(f"the claim {claim} is not a time", code="jwt.claims")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SdkError(f"the claim {claim} is not a time", code="jwt.claims") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise SdkError(f"the claim {claim} is not a time", code="jwt.claims")


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SdkError(f"the claim {name} is not a string", code="jwt.claims")
    return value


def identity_fields(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The platform's claims (docs/oidc.md: sub, name, phone_number, enterprise, role,
    grants) as the fields of ``Identity``."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SdkError("the token names no subject (sub)", code="jwt.claims")
    enterprise = None
    raw = claims.get("enterprise")
    if raw is not None:
        if not isinstance(raw, dict) or not isinstance(raw.get("uscc"), str):
            raise SdkError("the claim enterprise is not {uscc, name}", code="jwt.claims")
        enterprise = Enterprise(raw["uscc"], str(raw.get("name") or ""))
    grants = []
    listed = claims.get("grants", [])
    if not isinstance(listed, list):
        raise SdkError("the claim grants is not a list", code="jwt.claims")
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("scope"), str):
            raise SdkError("a grant in the claim grants has no scope", code="jwt.claims")
        grants.append(Grant(item["scope"], _time(item.get("starts_at"), "grants.starts_at"),
                            _time(item.get("ends_at"), "grants.ends_at")))
    return {"subject": subject, "name": _text(claims, "name"),
            "phone_number": _text(claims, "phone_number"), "enterprise": enterprise,
            "role": _text(claims, "role"), "grants": tuple(grants), "claims": dict(claims)}


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


class OidcClient:
    """One business system (OpenID Connect client) of one provider. ``issuer`` is the platform's
    public URL (``YUNZHANG_PUBLIC_URL``); ``client_id`` and ``client_secret`` are the business
    system's credentials, ``redirect_uri`` one of its registered redirect URIs. Thread-safe;
    the discovery document and the key set are fetched once and kept."""

    def __init__(self, issuer: str, *, client_id: str, client_secret: str, redirect_uri: str,
                 scopes: Sequence[str] = DEFAULT_SCOPES, http: httpx.Client | None = None,
                 leeway: int = DEFAULT_LEEWAY, auth_method: str = "client_secret_basic") -> None:
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise SdkError("auth_method is client_secret_basic or client_secret_post",
                           code="oidc.config")
        if "openid" not in scopes:
            raise SdkError("an OpenID Connect login asks for the openid scope", code="oidc.config")
        self.issuer = issuer.rstrip("/")
        self.client_id, self.redirect_uri = client_id, redirect_uri
        self.scopes = tuple(scopes)
        self.leeway, self.auth_method = leeway, auth_method
        self._secret = client_secret
        self._http = http or new_client(DEFAULT_TIMEOUT)
        self._metadata: ProviderMetadata | None = None
        self._lock = threading.Lock()
        self.keys = jose.KeySet(self._fetch_jwks)

    # -- discovery ------------------------------------------------------------------------
    def metadata(self) -> ProviderMetadata:
        """The provider's configuration from ``/.well-known/openid-configuration``; its
        ``issuer`` must be exactly the one configured (Discovery §4.3)."""
        with self._lock:
            if self._metadata is None:
                self._metadata = self._discover()
            return self._metadata

    def _discover(self) -> ProviderMetadata:
        url = f"{self.issuer}/.well-known/openid-configuration"
        doc = json_object(send(self._http, "GET", url), "the discovery document")
        if doc.get("issuer") != self.issuer:
            raise SdkError(f"the provider calls itself {str(doc.get('issuer'))[:100]!r}, not "
                           f"{self.issuer!r}", code="oidc.discovery")
        needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not all(isinstance(doc.get(k), str) for k in needed):
            raise SdkError("the discovery document lacks an endpoint: "
                           + ", ".join(k for k in needed if not isinstance(doc.get(k), str)),
                           code="oidc.discovery")

        def listed(name: str) -> tuple[str, ...]:
            value = doc.get(name)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        def optional(name: str) -> str | None:
            value = doc.get(name)
            return value if isinstance(value, str) else None

        algorithms = listed("id_token_signing_alg_values_supported")
        if algorithms and ALGORITHM not in algorithms:
            raise SdkError(f"the provider does not sign ID tokens with {ALGORITHM}",
                           code="oidc.discovery")
        return ProviderMetadata(
            issuer=doc["issuer"], authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"], jwks_uri=doc["jwks_uri"],
            userinfo_endpoint=optional("userinfo_endpoint"),
            end_session_endpoint=optional("end_session_endpoint"),
            scopes_supported=listed("scopes_supported"),
            code_challenge_methods_supported=listed("code_challenge_methods_supported"),
            raw=doc)

    def _fetch_jwks(self) -> Mapping[str, Any]:
        return json_object(send(self._http, "GET", self.metadata().jwks_uri), "the JWKS")

    # -- the authorization request ----------------------------------------------------------
    def authorization_url(self, state: str, nonce: str, code_verifier: str, *,
                          scopes: Sequence[str] | None = None,
                          prompt: str | None = None) -> str:
        """Where to send the browser: the provider's scan page (Core §3.1.2.1), asking for an
        authorization code bound to ``code_verifier`` by its S256 challenge."""
        meta = self.metadata()
        methods = meta.code_challenge_methods_supported
        if methods and "S256" not in methods:
            raise SdkError("the provider does not support PKCE S256", code="oidc.discovery")
        if not state or not nonce:
            raise SdkError("state and nonce must not be empty", code="oidc.config")
        params = {"response_type": "code", "client_id": self.client_id,
                  "redirect_uri": self.redirect_uri, "scope": " ".join(scopes or self.scopes),
                  "state": state, "nonce": nonce, "code_challenge": code_challenge(code_verifier),
                  "code_challenge_method": "S256"}
        if prompt:
            params["prompt"] = prompt
        return _with_query(meta.authorization_endpoint, params)

    # -- the token request --------------------------------------------------------------------
    def exchange_code(self, code: str, code_verifier: str) -> TokenResponse:
        """Trade the authorization code for tokens (RFC 6749 §4.1.3 with RFC 7636 §4.5),
        authenticating as the business system. The ID token is not validated here: see
        ``validate_id_token`` (or ``finish_login``, which does both)."""
        if not code:
            raise SdkError("the callback carries no authorization code", code="oidc.no_code")
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.redirect_uri, "code_verifier": code_verifier}
        return self._token_request(form)

    def refresh(self, refresh_token: str, *, previous: IdToken,
                now: datetime | None = None) -> Login:
        """New tokens from a refresh token (RFC 6749 §6; the platform rotates it: keep the new
        one, the old one stops working). The new ID token is validated as a login's, except
        that it carries no ``nonce`` or the login's (Core §12.2), and it must name the same
        person (``sub``) as ``previous``, the ID token of the login (``oidc.subject``)."""
        tokens = self._token_request({"grant_type": "refresh_token",
                                      "refresh_token": refresh_token})
        claims = jose.parse(tokens.id_token).payload
        nonce = claims.get("nonce")
        if nonce is not None and nonce != previous.claims.get("nonce"):
            raise SdkError("the refreshed ID token names another login (nonce)",
                           code="jwt.nonce")
        token = self._validate(tokens.id_token, nonce=None, access_token=tokens.access_token,
                               now=now)
        if token.subject != previous.subject:
            raise SdkError("the refreshed ID token names another person", code="oidc.subject")
        return Login(tokens, token)

    def _token_request(self, form: dict[str, str]) -> TokenResponse:
        headers = {"accept": "application/json"}
        if self.auth_method == "client_secret_basic":
            # RFC 6749 §2.3.1: both are form-urlencoded before they go into Basic.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self._secret)}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form = {**form, "client_id": self.client_id, "client_secret": self._secret}
        body = json_object(send(self._http, "POST", self.metadata().token_endpoint, data=form,
                                headers=headers), "the token response")
        access, kind, id_token = (body.get("access_token"), body.get("token_type"),
                                  body.get("id_token"))
        if not isinstance(access, str) or not isinstance(kind, str) or kind.lower() != "bearer":
            raise SdkError("the token response has no bearer access token",
                           code="oidc.token_response")
        if not isinstance(id_token, str):
            raise SdkError("the token response has no ID token", code="oidc.token_response")
        expires = body.get("expires_in")
        refresh = body.get("refresh_token")
        scope = body.get("scope")
        return TokenResponse(
            access_token=access, token_type=kind,
            id_token=id_token,
            expires_in=expires if isinstance(expires, int) else None,
            refresh_token=refresh if isinstance(refresh, str) else None,
            scope=tuple(scope.split()) if isinstance(scope, str) else ())

    # -- the ID token ---------------------------------------------------------------------------
    def validate_id_token(self, id_token: str, *, nonce: str, access_token: str | None = None,
                          now: datetime | None = None) -> IdToken:
        """Check the ID token as OpenID Connect Core §3.1.3.7 says, or raise ``SdkError``:
        ``alg`` ES256, a ``kid`` of the provider's JWKS (fetched again once for a ``kid`` it
        does not know: the provider rotated its key), the signature, ``iss`` the issuer,
        ``aud`` this client (``azp`` too when there are several audiences), ``exp`` not past
        and ``iat`` not in the future (each with ``leeway`` seconds of clock skew), ``nonce``
        the one sent, and ``at_hash`` when given an access token and the token carries one."""
        return self._validate(id_token, nonce=nonce, access_token=access_token, now=now)

    def _validate(self, id_token: str, *, nonce: str | None, access_token: str | None,
                  now: datetime | None) -> IdToken:
        """``validate_id_token``; ``nonce`` None: the token is a refresh's, whose nonce the
        caller has checked."""
        jws = jose.parse(id_token)
        alg, kid = jws.header.get("alg"), jws.header.get("kid")
        if alg != ALGORITHM:
            raise SdkError(f"the ID token's alg is {str(alg)[:20]!r}, not {ALGORITHM}",
                           code="jwt.alg")
        if "crit" in jws.header:
            raise SdkError("the ID token names critical extensions the SDK does not know",
                           code="jwt.alg")
        if not isinstance(kid, str) or not kid:
            raise SdkError("the ID token names no key (kid)", code="jwt.unknown_key")
        if not jose.verify_es256(self.keys.key(kid), jws.signing_input, jws.signature):
            raise SdkError("the ID token's signature is not the provider's",
                           code="jwt.signature")
        claims = jws.payload
        if claims.get("iss") != self.issuer:
            raise SdkError("the ID token was issued by someone else (iss)", code="jwt.iss")
        aud = claims.get("aud")
        audience = (aud,) if isinstance(aud, str) else tuple(a for a in aud if isinstance(a, str)) \
            if isinstance(aud, list) else ()
        if self.client_id not in audience or (
                len(audience) > 1 and claims.get("azp") != self.client_id) or (
                "azp" in claims and claims.get("azp") != self.client_id):
            raise SdkError("the ID token is meant for another client (aud)", code="jwt.aud")
        at = (now or datetime.now(UTC)).timestamp()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or \
                not isinstance(iat, int | float) or isinstance(iat, bool):
            raise SdkError("the ID token lacks exp or iat", code="jwt.claims")
        if at >= exp + self.leeway:
            raise SdkError("the ID token has expired", code="jwt.expired")
        if iat > at + self.leeway:
            raise SdkError("the ID token was issued in the future (iat): check the clocks",
                           code="jwt.iat")
        sent = claims.get("nonce")
        if nonce is not None and (not isinstance(sent, str) or
                                  not hmac.compare_digest(sent.encode(), nonce.encode())):
            raise SdkError("the ID token is not the answer to this login (nonce)",
                           code="jwt.nonce")
        at_hash = claims.get("at_hash")
        if access_token is not None and at_hash is not None:
            # Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.
            expected = jose.b64url_encode(hashlib.sha256(access_token.encode()).digest()[:16])
            if not isinstance(at_hash, str) or not hmac.compare_digest(at_hash, expected):
                raise SdkError("the ID token does not belong to this access token (at_hash)",
                               code="jwt.at_hash")
        return IdToken(**identity_fields(claims), issuer=self.issuer, audience=audience,
                       issued_at=datetime.fromtimestamp(iat, UTC),
                       expires_at=datetime.fromtimestamp(exp, UTC), raw=id_token)

    # -- the callback ---------------------------------------------------------------------------
    def finish_login(self, params: Mapping[str, str], login: LoginRequest, *,
                     now: datetime | None = None) -> Login:
        """The callback's whole work (Core §3.1.2.5-3.1.3.7): a ``state`` other than the one
        sent is refused (``oidc.state``) before anything is exchanged, and so is an ``iss``
        other than the issuer (``oidc.iss``, RFC 9207); the provider's ``error`` becomes an
        ``SdkError`` ``oidc.<error>``; then the code is exchanged and the ID token validated."""
        state = params.get("state") or ""
        if not hmac.compare_digest(state.encode(), login.state.encode()):
            raise SdkError("the answer does not belong to the login started here (state)",
                           code="oidc.state")
        issuer = params.get("iss")
        if issuer is not None and issuer != self.issuer:
            # RFC 9207 §2.4: an answer naming another issuer is a mix-up attack.
            raise SdkError("the answer comes from another provider (iss)", code="oidc.iss")
        error = params.get("error")
        if error:
            description = params.get("error_description")
            raise SdkError(f"the provider refused the login: {error[:60]}"
                           + (f" ({description[:200]})" if description else ""),
                           code=oauth_code(error))
        tokens = self.exchange_code(params.get("code") or "", login.code_verifier)
        return Login(tokens, self.validate_id_token(tokens.id_token, nonce=login.nonce,
                                                    access_token=tokens.access_token, now=now))

    # -- userinfo and logout ----------------------------------------------------------------
    def userinfo(self, access_token: str, *, expected_subject: str | None = None) -> Identity:
        """The claims the provider releases for this access token (Core §5.3); with
        ``expected_subject`` (the ID token's ``sub``), a different person is refused (§5.3.2)."""
        endpoint = self.metadata().userinfo_endpoint
        if endpoint is None:
            raise SdkError("the provider has no userinfo endpoint", code="oidc.discovery")
        body = json_object(send(self._http, "GET", endpoint,
                                headers={"authorization": f"Bearer {access_token}",
                                         "accept": "application/json"}), "the userinfo answer")
        identity = Identity(**identity_fields(body))
        if expected_subject is not None and identity.subject != expected_subject:
            raise SdkError("userinfo names another person than the ID token", code="oidc.subject")
        return identity

    def logout_url(self, *, id_token_hint: str | None = None,
                   post_logout_redirect_uri: str | None = None, state: str | None = None) -> str:
        """Where to send the browser to end the person's session at the provider too
        (RP-Initiated Logout §2); ``post_logout_redirect_uri`` must be registered."""
        endpoint = self.metadata().end_session_endpoint
        if endpoint is None:
            raise SdkError("the provider has no end_session_endpoint", code="oidc.discovery")
        params = {"client_id": self.client_id}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
        if state:
            params["state"] = state
        return _with_query(endpoint, params)

    def close(self) -> None:
        self._http.close()

