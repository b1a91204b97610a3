"""The OpenID Connect provider over HTTP (docs/oidc.md): discovery, JWKS, the login page with
the scan QR code, token, userinfo and logout. Errors are told as RFC 6749 says, not as RFC 9457
problems: JSON ``{error, error_description}`` from the token endpoint, a redirect to the
registered redirect URI from the authorization endpoint, a page when that URI is not known."""

from __future__ import annotations

from fastapi import APIRouter

from yunzhang.web.oidc import authorize, tokens

router = APIRouter()
router.include_router(authorize.router)
router.include_router(tokens.router)
