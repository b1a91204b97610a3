"""OpenID Connect login by scan (扫码登录): authorization requests, codes bound to PKCE, the
claims a business system learns, and the consent a person gives it.

An authorization request lives as long as its scan session (the same id): the page shows the QR
code, the wallet confirms, the page learns it and the request gets a one-time code (RFC 6749
§4.1.2, bound to the client, the redirect URI and the PKCE challenge, RFC 7636 §4.6) that the
business system exchanges for an ID token and an access token. A code used twice revokes what
the first use issued (RFC 6749 §4.1.2: "SHOULD revoke ... all tokens previously issued based on
that authorization code").
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from yunzhang.domain.grants import Grant, GrantKind, GrantStatus
from yunzhang.domain.roles import Role
from yunzhang.domain.scopes import scope_covers
from yunzhang.errors import OAuthError

# Scopes of their own; every other scope a request names is a scope-tree name.
OPENID, PROFILE, ENTERPRISE = "openid", "profile", "enterprise"
OWN_SCOPES = (OPENID, PROFILE, ENTERPRISE)
MAX_SCOPES = 20
MAX_STATE = 512
MAX_NONCE = 255
# RFC 7636 §4.1: code_verifier = 43*128unreserved; the S256 challenge has the same alphabet.
_PKCE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,200}")  # RFC 6749 §3.3 scope-token

ALL_BUSINESS = "*"


class Prompt(StrEnum):
    NONE = "none"
    LOGIN = "login"
    CONSENT = "consent"
    SELECT_ACCOUNT = "select_account"


class AuthorizationStatus(StrEnum):
    PENDING = "pending"  # the page shows the QR code; the person has not finished
    CONSENTING = "consenting"  # confirmed in the wallet; the page asks for consent
    CODE_ISSUED = "code_issued"  # the code went back to the business system
    REDEEMED = "redeemed"  # tokens issued for the code
    REVOKED = "revoked"  # tokens revoked: a replayed code, a logout, a consent withdrawn
    DENIED = "denied"  # the person said no, the session expired or was refused


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))), RFC 7636 §4.2."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def half_hash(token: str) -> str:
    """at_hash (OpenID Connect Core §3.1.3.6): the left half of SHA-256 of the token, base64url."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def check_challenge(challenge: str | None, method: str | None, *, redirect_uri: str,
                    state: str | None) -> str:
    """PKCE is required and only S256 is accepted (RFC 7636 §4.4.1; plain would leak the
    verifier along with the code)."""
    if not challenge:
        raise OAuthError("invalid_request", "code_challenge is required (PKCE, RFC 7636, "
                         "with code_challenge_method=S256)", code="oidc.pkce_required",
                         redirect_uri=redirect_uri, state=state)
    if method != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256",
                         code="oidc.pkce_method", redirect_uri=redirect_uri, state=state)
    if not _PKCE.fullmatch(challenge):
        raise OAuthError("invalid_request", "code_challenge is not an S256 challenge "
                         "(43 to 128 characters of A-Z a-z 0-9 - . _ ~)",
                         code="oidc.pkce_challenge", redirect_uri=redirect_uri, state=state)
    return challenge


def verifier_matches(verifier: str, challenge: str) -> bool:
    return bool(_PKCE.fullmatch(verifier)) and s256(verifier) == challenge


def parse_scopes(raw: str | None, *, known: Iterable[str], registered: Sequence[str]) -> list[str]:
    """The scopes of a request, in order, without repeats: ``openid`` is required; besides
    ``profile`` and ``enterprise`` only the scope-tree names (``known``) that the business
    system is registered for (or that lie under one it is registered for)."""
    names = list(dict.fromkeys((raw or "").split(" "))) if raw else []
    names = [n for n in names if n]
    if OPENID not in names:
        raise OAuthError("invalid_scope", "scope must include openid (this is an OpenID "
                         "Connect provider)", code="oidc.scope_openid")
    if len(names) > MAX_SCOPES:
        raise OAuthError("invalid_scope", f"at most {MAX_SCOPES} scopes",
                         code="oidc.scope_count")
    tree = set(known)
    for name in names:
        if name in OWN_SCOPES:
            continue
        if not _SCOPE_TOKEN.fullmatch(name) or name not in tree:
            raise OAuthError("invalid_scope", f"unknown scope {name[:60]!r}",
                             code="oidc.scope_unknown")
        if not any(scope_covers(own, name) for own in registered):
            raise OAuthError("invalid_scope", f"this business system is not registered for "
                             f"{name}", code="oidc.scope_not_registered")
    return names


def business_scopes(scopes: Sequence[str]) -> list[str]:
    return [s for s in scopes if s not in OWN_SCOPES]


@dataclass(eq=False)
class Authorization:
    """One login of one person at one business system, from the QR code to its tokens."""

    id: str  # the scan session's id
    client_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str = field(repr=False)
    created_at: datetime
    expires_at: datetime  # the request itself (the page, the consent); not its tokens
    state: str | None = None
    nonce: str | None = None
    force_consent: bool = False  # prompt=consent
    status: AuthorizationStatus = AuthorizationStatus.PENDING
    person_id: uuid.UUID | None = None
    license_id: uuid.UUID | None = None
    enterprise_id: uuid.UUID | None = None
    uscc: str | None = None
    enterprise_name: str | None = None
    role: Role | None = None
    auth_time: datetime | None = None  # when the wallet confirmed
    code_hash: str | None = field(default=None, repr=False)
    code_expires_at: datetime | None = None
    access_hash: str | None = field(default=None, repr=False)
    access_expires_at: datetime | None = None
    refresh_hash: str | None = field(default=None, repr=False)
    previous_refresh_hash: str | None = field(default=None, repr=False)  # to notice its reuse
    refresh_expires_at: datetime | None = None  # from the login on, not renewed by a refresh
    redeemed_at: datetime | None = None
    revoked_at: datetime | None = None

    def authenticated(self, person_id: uuid.UUID, at: datetime, *,
                      license_id: uuid.UUID | None = None, enterprise_id: uuid.UUID | None = None,
                      uscc: str | None = None, enterprise_name: str | None = None,
                      role: Role | None = None) -> None:
        """The wallet confirmed: who logged in, for which enterprise (the license chosen)."""
        self.person_id, self.auth_time = person_id, at
        self.license_id, self.enterprise_id, self.uscc = license_id, enterprise_id, uscc
        self.enterprise_name, self.role = enterprise_name, role
        self.status = AuthorizationStatus.CONSENTING

    def issue_code(self, code_hash: str, at: datetime, until: datetime) -> None:
        if self.status not in (AuthorizationStatus.PENDING, AuthorizationStatus.CONSENTING):
            raise OAuthError("invalid_request", "this login is already finished",
                             code="oidc.finished")
        self.code_hash, self.code_expires_at = code_hash, until
        self.status = AuthorizationStatus.CODE_ISSUED

    def deny(self, at: datetime) -> None:
        self.status, self.revoked_at = AuthorizationStatus.DENIED, at

    def redeem(self, access_hash: str, at: datetime, until: datetime, *,
               refresh_hash: str | None = None, refresh_until: datetime | None = None) -> None:
        """Exchange the code once (RFC 6749 §4.1.2: single use, short-lived)."""
        if self.status is not AuthorizationStatus.CODE_ISSUED:
            raise OAuthError("invalid_grant", "the code was already used", code="oidc.code_used")
        if self.code_expires_at is None or at >= self.code_expires_at:
            raise OAuthError("invalid_grant", "the code expired", code="oidc.code_expired")
        self.access_hash, self.access_expires_at = access_hash, until
        self.refresh_hash, self.refresh_expires_at = refresh_hash, refresh_until
        self.status, self.redeemed_at = AuthorizationStatus.REDEEMED, at

    def refresh(self, presented_hash: str, access_hash: str, refresh_hash: str, at: datetime,
                until: datetime) -> None:
        """New tokens for the current refresh token, which is replaced (rotation, OAuth 2.0
        Security BCP §4.14.2); the one before it presented again means a copy is in other
        hands: the caller revokes the login."""
        if self.status is not AuthorizationStatus.REDEEMED or self.refresh_hash is None:
            raise OAuthError("invalid_grant", "the refresh token was revoked",
                             code="oidc.refresh_revoked")
        if presented_hash != self.refresh_hash:
            raise OAuthError("invalid_grant", "the refresh token was already used; the tokens "
                             "of this login are revoked", code="oidc.refresh_used")
        if self.refresh_expires_at is None or at >= self.refresh_expires_at:
            raise OAuthError("invalid_grant", "the refresh token expired: log in again",
                             code="oidc.refresh_expired")
        self.previous_refresh_hash, self.refresh_hash = self.refresh_hash, refresh_hash
        self.access_hash, self.access_expires_at = access_hash, min(until,
                                                                   self.refresh_expires_at)

    def revoke(self, at: datetime) -> None:
        """Its tokens count no more (a replayed code, a logout, a consent withdrawn)."""
        self.status, self.revoked_at = AuthorizationStatus.REVOKED, at

    def access_valid(self, at: datetime) -> bool:
        return (self.status is AuthorizationStatus.REDEEMED and self.access_expires_at is not None
                and at < self.access_expires_at)

    @property
    def live(self) -> bool:
        """Whether tokens of it may still work (what a logout or a withdrawal must revoke)."""
        return self.status in (AuthorizationStatus.CODE_ISSUED, AuthorizationStatus.REDEEMED)


@dataclass(eq=False)
class Consent:
    """同意授权: what a person let a business system learn, per enterprise (None: as a natural
    person). Remembered until withdrawn; a withdrawal revokes the tokens given under it."""

    person_id: uuid.UUID
    client_id: str
    enterprise_id: uuid.UUID | None
    scopes: list[str]
    granted_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    def covers(self, scopes: Iterable[str]) -> bool:
        return self.active and set(scopes) <= set(self.scopes)

    def give(self, scopes: Iterable[str], at: datetime) -> None:
        """Consent (again) to ``scopes``: added to what a standing consent already allows,
        in place of what a withdrawn one allowed."""
        kept = self.scopes if self.active else []
        self.scopes = list(dict.fromkeys([*kept, *scopes]))
        if not self.active:
            self.granted_at = at
        self.withdrawn_at, self.updated_at = None, at

    def withdraw(self, at: datetime) -> None:
        self.withdrawn_at = self.updated_at = at


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def grant_claims(role: Role | None, grants: Iterable[Grant], wanted: Sequence[str],
                 at: datetime) -> list[dict[str, str]]:
    """``grants``: what the person may do there for the business system. The legal
    representative and administrators act in all business (``*``); an agent has the windows of
    their active, unexpired grants that meet ``wanted`` (the scope-tree names the request named,
    else those the system is registered for), each under the narrower of the two names."""
    if role in (Role.LEGAL_REP, Role.ADMIN):
        return [{"scope": ALL_BUSINESS}]
    if role is not Role.AGENT:
        return []
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for grant in grants:
        if grant.status is not GrantStatus.ACTIVE or grant.ends_at <= at:
            continue
        window = {"starts_at": rfc3339(grant.starts_at), "ends_at": rfc3339(grant.ends_at)}
        if grant.kind is GrantKind.ALL_BUSINESS:
            names = [ALL_BUSINESS]
        else:
            names = [w if scope_covers(g, w) else g for g in grant.scopes for w in wanted
                     if scope_covers(g, w) or scope_covers(w, g)]
        for name in names:
            claim = {"scope": name, **window}
            found[(name, window["starts_at"], window["ends_at"])] = claim
    return sorted(found.values(), key=lambda c: (c["scope"], c["starts_at"]))


@dataclass(frozen=True)
class PersonFacts:
    id: uuid.UUID
    name: str | None
    phone: str


def user_claims(authorization: Authorization, person: PersonFacts,
                grants: list[dict[str, str]], role: Role | None) -> dict[str, object]:
    """The claims about the person the scopes release (ID token and userinfo alike); ``role``
    is the one held there (at the login for the ID token, now for userinfo)."""
    claims: dict[str, object] = {"sub": str(person.id)}
    if PROFILE in authorization.scopes:
        if person.name:
            claims["name"] = person.name
        claims["phone_number"] = f"+86{person.phone}" if person.phone.isdigit() else person.phone
        claims["phone_number_verified"] = True  # registered with an SMS code
    if ENTERPRISE in authorization.scopes and authorization.uscc is not None:
        claims["enterprise"] = {"uscc": authorization.uscc, "name": authorization.enterprise_name}
        if role is not None:
            claims["role"] = role.value
        claims["grants"] = grants
    return claims


def id_token_claims(authorization: Authorization, person: PersonFacts,
                    grants: list[dict[str, str]], *, issuer: str, at: datetime,
                    lifetime_seconds: int, access_token: str, role: Role | None = None,
                    refreshed: bool = False) -> dict[str, object]:
    """OpenID Connect Core §2 and §3.1.3.6: iss, sub, aud, exp, iat, auth_time, nonce, at_hash,
    sid (for RP-initiated logout), amr, and the person's claims. A refreshed one (§12.2) keeps
    auth_time, has no nonce, and tells the role held now."""
    issued = int(at.timestamp())
    claims: dict[str, object] = {
        "iss": issuer, "aud": authorization.client_id, "iat": issued,
        "exp": issued + lifetime_seconds,
        "auth_time": int((authorization.auth_time or at).timestamp()),
        "at_hash": half_hash(access_token), "sid": authorization.id,
        # RFC 8176: a software-secured key on the device, unlocked with the license password.
        "amr": ["swk", "pin"],
    }
    if authorization.nonce is not None and not refreshed:
        claims["nonce"] = authorization.nonce
    held = role if refreshed else authorization.role
    return {**claims, **user_claims(authorization, person, grants, held)}


def single(params: Mapping[str, list[str]], name: str) -> str | None:
    """One value or none; a parameter given twice is refused (RFC 6749 §3.1, §3.2). Empty
    values count as omitted (RFC 6749 §3.1)."""
    values = params.get(name, [])
    if len(values) > 1:
        raise OAuthError("invalid_request", f"{name} is given more than once",
                         code="oidc.repeated_parameter")
    return values[0] if values and values[0] != "" else None
