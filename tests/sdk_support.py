"""A stand-in OpenID Connect provider for the SDK's tests: EC P-256 keys made here, ID tokens
signed as the platform signs them (compact JWS, ES256, header {alg, kid, typ}), served through
httpx's MockTransport (discovery, JWKS, token, userinfo) so the SDK's own HTTP code runs."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://yunzhang.test"
CLIENT_ID, CLIENT_SECRET = "demo.bidding", "s3cret-of-the-bidding-system-0123456789"
REDIRECT_URI = "https://bidding.test/callback"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(
        ec.SECP256R1()))

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
                "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big"))}

    def sign(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
        head = header if header is not None else {"alg": "ES256", "kid": self.kid, "typ": "JWT"}
        signing_input = f"{b64url(json.dumps(head).encode())}." \
                        f"{b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.private.sign(signing_input.encode(),
                                                      ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def claims(nonce: str, /, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    made: dict[str, Any] = {
        "iss": ISSUER, "sub": "6b1f3c1e-0d1c-4c1e-9d2a-1f6c0e7b9a10", "aud": CLIENT_ID,
        "exp": now + 300, "iat": now, "nonce": nonce, "name": "王经办",
        "phone_number": "13800000003",
        "enterprise": {"uscc": "91310115MA1K4DEM05", "name": "上海云章示范科技有限公司"},
        "role": "agent",
        "grants": [{"scope": "ecommerce.bidding.full_process",
                    "starts_at": "2026-11-22T08:00:00+00:00",
                    "ends_at": "2026-11-25T08:00:00+00:00"}]}
    made.update(changes)
    return {k: v for k, v in made.items() if v is not None}


class Provider:
    """Keys (the first current), codes issued at the authorization step, the requests seen."""

    def __init__(self) -> None:
        self.keys = [SigningKey("k1")]
        self.published = list(self.keys)
        self.jwks_fetches = 0
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[httpx.Request] = []
        self.token_error: dict[str, str] | None = None
        self.refresh_claims: dict[str, Any] = {}
        self.discovery: dict[str, Any] = {
            "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/oidc/authorize",
            "token_endpoint": f"{ISSUER}/oidc/token", "jwks_uri": f"{ISSUER}/oidc/jwks",
            "userinfo_endpoint": f"{ISSUER}/oidc/userinfo",
            "end_session_endpoint": f"{ISSUER}/oidc/logout",
            "scopes_supported": ["openid", "profile", "enterprise", "ecommerce.bidding"],
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"]}

    def rotate(self, kid: str) -> SigningKey:
        key = SigningKey(kid)
        self.keys.insert(0, key)
        self.published.insert(0, key)
        return key

    def authorize(self, nonce: str, challenge: str, **claim_changes: Any) -> str:
        """What the scan page does once the wallet confirms: a code for this login."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": nonce, "challenge": challenge, "claims": claim_changes}
        return code

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery)
        if path == "/oidc/jwks":
            self.jwks_fetches += 1
            return httpx.Response(200, json={"keys": [k.jwk() for k in self.published]})
        if path == "/oidc/token":
            return self._token(request)
        if path == "/oidc/userinfo":
            if request.headers.get("authorization") != "Bearer at-1":
                return httpx.Response(401, json={"error": "invalid_token"})
            released = claims("x")
            for name in ("nonce", "aud", "iss", "exp", "iat"):
                del released[name]
            return httpx.Response(200, json=released)
        return httpx.Response(404)

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests.append(request)
        if self.token_error:
            return httpx.Response(400, json=self.token_error)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") != "rt-1":
                return httpx.Response(400, json={"error": "invalid_grant"})
            refreshed = claims("x", **self.refresh_claims)
            if "nonce" not in self.refresh_claims:
                del refreshed["nonce"]  # Core §12.2: a refreshed ID token has none
            return httpx.Response(200, json={
                "access_token": "at-2", "token_type": "Bearer", "refresh_token": "rt-2",
                "id_token": self.keys[0].sign(refreshed)})
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        posted = (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)
        if request.headers.get("authorization") != expected and not posted:
            return httpx.Response(401, json={"error": "invalid_client"})
        issued = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        if issued is None or b64url(hashlib.sha256(verifier.encode()).digest()) != \
                issued["challenge"] or form.get("redirect_uri") != REDIRECT_URI:
            return httpx.Response(400, json={"error": "invalid_grant",
                                             "error_description": "code, verifier or redirect"})
        access = "at-1"
        at_hash = b64url(hashlib.sha256(access.encode()).digest()[:16])
        token = self.keys[0].sign(claims(issued["nonce"], at_hash=at_hash, **issued["claims"]))
        return httpx.Response(200, json={"access_token": access, "token_type": "Bearer",
                                         "expires_in": 600, "id_token": token,
                                         "refresh_token": "rt-1",
                                         "scope": "openid profile enterprise"})
