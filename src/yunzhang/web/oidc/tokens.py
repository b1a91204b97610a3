"""Discovery, the JWK Set, the token endpoint (RFC 6749 §3.2, §4.1.3, §5), userinfo (OpenID
Connect Core §5.3, bearer tokens per RFC 6750) and RP-initiated logout."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from yunzhang.domain.oidc import business_scopes, single
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.errors import OAuthError, OAuthInvalidClient, OAuthInvalidToken, YunzhangError
from yunzhang.services import oidc_tokens, token_keys
from yunzhang.services.oidc_tokens import ClientCredentials
from yunzhang.web.deps import AnonymousCaller, ContainerDep
from yunzhang.web.oidc import pages

router = APIRouter(tags=["OpenID Connect"])
MAX_FORM = 16_384
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json_error(error: YunzhangError) -> JSONResponse:
    """RFC 6749 §5.2: {error, error_description}; invalid_client with a 401 challenge."""
    if not isinstance(error, OAuthError):
        if error.status >= 500:
            return JSONResponse({"error": "server_error", "error_description": error.detail},
                                status_code=error.status, headers=NO_STORE)
        error = OAuthError("invalid_grant" if error.status == 409 else "invalid_request",
                           error.detail, code=error.code)
    headers = dict(NO_STORE)
    if isinstance(error, OAuthInvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="yunzhang"'
    if isinstance(error, OAuthInvalidToken):
        challenge = 'Bearer realm="yunzhang"'
        if error.error != "invalid_request" or error.code != "oidc.bearer_missing":
            challenge += f', error="{error.error}", error_description="{error.detail.replace(chr(34), chr(39))}"'
        headers["WWW-Authenticate"] = challenge
    return JSONResponse({"error": error.error, "error_description": error.detail},
                        status_code=error.status, headers=headers)


async def _form(request: Request) -> dict[str, list[str]]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body is application/x-www-form-urlencoded "
                         "(RFC 6749 §3.2)", code="oidc.form")
    body = await request.body()
    if len(body) > MAX_FORM:
        raise OAuthError("invalid_request", f"the body is larger than {MAX_FORM} bytes",
                         code="oidc.too_large")
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                        max_num_fields=30)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a form", code="oidc.form") from None


def _credentials(request: Request, form: dict[str, list[str]]) -> ClientCredentials | None:
    """client_secret_basic (each part form-urlencoded, RFC 6749 §2.3.1) or client_secret_post;
    never both (RFC 6749 §2.3)."""
    posted_id, posted_secret = single(form, "client_id"), single(form, "client_secret")
    header = request.headers.get("authorization")
    if header is None:
        return ClientCredentials(posted_id, posted_secret or "") if posted_id else None
    if posted_secret is not None:
        raise OAuthError("invalid_request", "the client used more than one way to "
                         "authenticate", code="oidc.client_auth_methods")
    scheme, _, encoded = header.partition(" ")
    try:
        if scheme.lower() != "basic" or len(encoded) > 1024:
            raise ValueError(scheme)
        raw_id, colon, raw_secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        if not colon:
            raise ValueError("no colon")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise OAuthInvalidClient("invalid_client", "the Authorization header is not HTTP Basic "
                                 "client credentials", code="oidc.client_auth") from None
    client_id = unquote_plus(raw_id)
    if posted_id is not None and posted_id != client_id:
        raise OAuthInvalidClient("invalid_client", "client_id in the body is not the "
                                 "authenticated client", code="oidc.client_auth")
    return ClientCredentials(client_id, unquote_plus(raw_secret))


@router.post("/oidc/token")
async def token(request: Request, caller: AnonymousCaller, c: ContainerDep) -> JSONResponse:
    """A code for an ID token, an access token and a refresh token
    (grant_type=authorization_code, PKCE S256 required), or new ones for the refresh token
    (grant_type=refresh_token); client_secret_basic or client_secret_post. Errors are RFC 6749
    §5.2 JSON."""
    try:
        form = await _form(request)
        credentials = _credentials(request, form)
        grant_type = single(form, "grant_type")
        if grant_type is None:
            raise OAuthError("invalid_request", "grant_type is required", code="oidc.grant_type")
        if grant_type == "authorization_code":
            issued = await run_in_threadpool(
                oidc_tokens.exchange, oidc_tokens.ExchangeCode(
                    credentials, single(form, "code"), single(form, "redirect_uri"),
                    single(form, "code_verifier")),
                caller=caller, uow=c.uow, clock=c.clock, keyring=c.keyring, keys=c.keys,
                jose=c.jose, settings=c.settings)
        elif grant_type == "refresh_token" and c.settings.oidc_refresh_seconds:
            issued = await run_in_threadpool(
                oidc_tokens.refresh, oidc_tokens.RefreshTokens(
                    credentials, single(form, "refresh_token"), single(form, "scope")),
                caller=caller, uow=c.uow, clock=c.clock, keyring=c.keyring, keys=c.keys,
                jose=c.jose, settings=c.settings)
        else:
            raise OAuthError("unsupported_grant_type", "grant_type is authorization_code or "
                             "refresh_token", code="oidc.grant_type")
    except YunzhangError as error:
        return _json_error(error)
    body: dict[str, object] = {"access_token": issued.access_token, "token_type": "Bearer",
                               "expires_in": issued.expires_in, "id_token": issued.id_token,
                               "scope": issued.scope}
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    return JSONResponse(body, headers=NO_STORE)


def _userinfo(request: Request, c: ContainerDep) -> JSONResponse:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        claims = oidc_tokens.userinfo(value.strip() if scheme.lower() == "bearer" else None,
                                      uow=c.uow, clock=c.clock, keyring=c.keyring)
    except YunzhangError as error:
        return _json_error(error)
    return JSONResponse(claims, headers=NO_STORE)


@router.get("/oidc/userinfo")
def userinfo(request: Request, c: ContainerDep) -> JSONResponse:
    """The claims of the access token's login (Authorization: Bearer); grants as of now."""
    return _userinfo(request, c)


@router.post("/oidc/userinfo", include_in_schema=False)
def userinfo_post(request: Request, c: ContainerDep) -> JSONResponse:
    return _userinfo(request, c)


@router.get("/.well-known/openid-configuration")
def configuration(c: ContainerDep) -> JSONResponse:
    """OpenID Connect Discovery 1.0 §3."""
    names = business_scopes(sorted(c.scopes.titles))
    return JSONResponse(oidc_tokens.discovery(c.settings, names),
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/oidc/jwks")
def jwks(c: ContainerDep) -> JSONResponse:
    """The keys ID tokens are signed with: the current one and those retired while tokens they
    signed may live. Cached a minute only, so a rotation is seen soon."""
    keys: dict[str, Any] = token_keys.jwks(TokenPurpose.OIDC, uow=c.uow, keys=c.keys,
                                           jose=c.jose, clock=c.clock, settings=c.settings)
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=60"})


@router.get("/oidc/logout", include_in_schema=False)
def logout(request: Request, caller: AnonymousCaller, c: ContainerDep) -> Response:
    """RP-initiated logout: id_token_hint, post_logout_redirect_uri, state, client_id."""
    params = {k: request.query_params.getlist(k) for k in request.query_params.keys()}
    try:
        ended = oidc_tokens.end_session(oidc_tokens.EndSession(
            single(params, "id_token_hint"), single(params, "post_logout_redirect_uri"),
            single(params, "state"), single(params, "client_id")),
            caller=caller, uow=c.uow, clock=c.clock, jose=c.jose, settings=c.settings)
    except YunzhangError as error:
        told = error if isinstance(error, OAuthError) else OAuthError("invalid_request",
                                                                      error.detail)
        return pages.error_page(told)  # never redirected: the target is not known to be good
    if ended.redirect is not None:
        return RedirectResponse(ended.redirect, status_code=303)
    return pages.logged_out_page(ended.system_name)
