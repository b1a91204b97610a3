"""The OpenID Connect provider's back channel: the token endpoint (a code for an ID token and an
access token, RFC 6749 §4.1.3, PKCE RFC 7636 §4.6), userinfo (OpenID Connect Core §5.3) and
RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), and the discovery document.

ID tokens are signed with the OIDC token key (services.token_keys, ES256); access tokens are
random, kept as a keyed hash, and die with their authorization (a replayed code, a logout, a
consent withdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.business_systems import BusinessSystem, SystemStatus
from yunzhang.domain.oidc import (
    OWN_SCOPES,
    Authorization,
    AuthorizationStatus,
    PersonFacts,
    business_scopes,
    grant_claims,
    id_token_claims,
    user_claims,
    verifier_matches,
)
from yunzhang.domain.roles import Role
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.errors import (
    OAuthError,
    OAuthInvalidClient,
    OAuthInvalidToken,
    PermissionDenied,
    Unauthenticated,
    YunzhangError,
)
from yunzhang.services import business_systems, token_keys
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.oidc import CODE_PURPOSE, issuer, redirect_to
from yunzhang.services.ports import Clock, JoseCodec, Keyring, KeyStore, UnitOfWork, UnitOfWorkFactory

ACCESS_PURPOSE = "oidc_access"
REFRESH_PURPOSE = "oidc_refresh"
ID_TOKEN_TYP = "JWT"


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    secret: str


def authenticate_client(credentials: ClientCredentials | None, *, caller: Caller,
                        uow: UnitOfWorkFactory, keyring: Keyring) -> BusinessSystem:
    """invalid_client (RFC 6749 §5.2) for missing or wrong credentials and disabled systems."""
    if credentials is None or not credentials.client_id or not credentials.secret:
        raise OAuthInvalidClient("invalid_client", "the client authenticates with "
                                 "client_secret_basic or client_secret_post",
                                 code="oidc.client_auth")
    try:
        return business_systems.authenticate(credentials.client_id, credentials.secret,
                                             caller=caller, uow=uow, keyring=keyring)
    except (Unauthenticated, PermissionDenied) as refused:
        raise OAuthInvalidClient("invalid_client", refused.detail,
                                 code="oidc.client_auth") from None


@dataclass(frozen=True)
class ExchangeCode:
    client: ClientCredentials | None
    code: str | None
    redirect_uri: str | None
    code_verifier: str | None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None


def _person(tx: UnitOfWork, authorization: Authorization) -> PersonFacts:
    person = tx.persons.get(authorization.person_id) if authorization.person_id else None
    if person is None or person.status != "active":
        raise OAuthError("invalid_grant", "the person of this login is no longer active",
                         code="oidc.person")
    return PersonFacts(person.id, person.name, person.phone)


def _grants(tx: UnitOfWork, authorization: Authorization, system: BusinessSystem | None,
            clock: Clock, role: Role | None) -> list[dict[str, str]]:
    now = clock.now()
    wanted = business_scopes(authorization.scopes) or (system.scopes if system else [])
    if role is not Role.AGENT or authorization.enterprise_id is None \
            or authorization.person_id is None:
        return grant_claims(role, [], wanted, now)
    found = tx.grants.of_grantee(authorization.person_id, authorization.enterprise_id,
                                 ending_after=now)
    return grant_claims(role, found, wanted, now)


@refusals_audited(AuditTag.OIDC_TOKEN, lambda cmd: f"business_system:"
                  f"{cmd.client.client_id[:64] if cmd.client else '?'}")
def exchange(cmd: ExchangeCode, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
             keyring: Keyring, keys: KeyStore, jose: JoseCodec, settings: Settings) -> Tokens:
    """grant_type=authorization_code. Every refusal is invalid_grant (RFC 6749 §5.2) but for
    the client's own authentication; a code presented again revokes the tokens of its first
    use (committed before the refusal is raised). The ID token is signed inside the
    transaction that redeems the code, so tokens are only ever given for a committed change."""
    system = authenticate_client(cmd.client, caller=caller, uow=uow, keyring=keyring)
    if not cmd.code or not cmd.redirect_uri or not cmd.code_verifier:
        raise OAuthError("invalid_request", "code, redirect_uri and code_verifier are required",
                         code="oidc.token_parameters")
    code_hash = keyring.secret_hash(CODE_PURPOSE, cmd.code[:200])
    now = clock.now()
    replayed: Authorization | None = None
    with uow(request_id=caller.request_id) as tx:
        authorization = tx.oidc_authorizations.by_code_hash(code_hash, lock=True)
        if authorization is None:
            raise OAuthError("invalid_grant", "unknown authorization code",
                             code="oidc.code_unknown")
        if authorization.client_id != system.client_id:
            raise OAuthError("invalid_grant", "the code was issued to another client",
                             code="oidc.code_client")
        if authorization.status is not AuthorizationStatus.CODE_ISSUED:
            if authorization.live:
                authorization.revoke(now)
                tx.audit.record(AuditRecord(AuditTag.OIDC_CODE_REPLAY, caller.actor,
                                            f"oidc:{authorization.id}", details={
                                                "business_system": system.client_id,
                                                "person": str(authorization.person_id)}))
                tx.commit()
            replayed = authorization
        else:
            if authorization.redirect_uri != cmd.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri is not the one of the "
                                 "authorization request", code="oidc.code_redirect_uri")
            if authorization.code_expires_at is None or now >= authorization.code_expires_at:
                raise OAuthError("invalid_grant", "the code expired", code="oidc.code_expired")
            if not verifier_matches(cmd.code_verifier[:200], authorization.code_challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match the "
                                 "code_challenge (PKCE S256)", code="oidc.pkce")
            lifetime = settings.oidc_token_seconds
            access_token = keyring.token()
            refresh_token = keyring.token() if settings.oidc_refresh_seconds else None
            claims = id_token_claims(authorization, _person(tx, authorization),
                                     _grants(tx, authorization, system, clock,
                                             authorization.role),
                                     issuer=issuer(settings), at=now, lifetime_seconds=lifetime,
                                     access_token=access_token)
            id_token = token_keys.sign(tx, TokenPurpose.OIDC, claims, typ=ID_TOKEN_TYP,
                                       keys=keys, jose=jose, clock=clock, settings=settings)
            authorization.redeem(
                keyring.secret_hash(ACCESS_PURPOSE, access_token), now,
                now + timedelta(seconds=lifetime),
                refresh_hash=refresh_token and keyring.secret_hash(REFRESH_PURPOSE, refresh_token),
                refresh_until=now + timedelta(seconds=settings.oidc_refresh_seconds))
            tx.audit.record(AuditRecord(AuditTag.OIDC_TOKEN, caller.actor,
                                        f"oidc:{authorization.id}", details={
                                            "business_system": system.client_id,
                                            "person": str(authorization.person_id),
                                            "scopes": authorization.scopes}))
            tx.commit()
            return Tokens(access_token, id_token, lifetime, " ".join(authorization.scopes),
                          refresh_token)
    assert replayed is not None
    raise OAuthError("invalid_grant", "the code was already used; the tokens issued for it "
                     "are revoked", code="oidc.code_used")


def userinfo(access_token: str | None, *, uow: UnitOfWorkFactory, clock: Clock,
             keyring: Keyring) -> dict[str, object]:
    """The claims of the access token's login, grants as of now (OpenID Connect Core §5.3)."""
    if not access_token:
        raise OAuthInvalidToken("invalid_request", "send the access token as "
                                "'Authorization: Bearer <token>'", code="oidc.bearer_missing")
    with uow() as tx:
        authorization = tx.oidc_authorizations.by_access_hash(
            keyring.secret_hash(ACCESS_PURPOSE, access_token[:200]))
        if authorization is None or not authorization.access_valid(clock.now()):
            raise OAuthInvalidToken("invalid_token", "the access token is unknown, expired or "
                                    "revoked", code="oidc.token_invalid")
        system = tx.business_systems.by_client_id(authorization.client_id)
        standing = _standing(tx, authorization, system)
        if standing is None:
            raise OAuthInvalidToken("invalid_token", "the access token no longer stands: the "
                                    "business system, the person or their role there is gone",
                                    code="oidc.token_invalid")
        role, facts = standing
        return user_claims(authorization, facts, _grants(tx, authorization, system, clock, role),
                           role)


def _standing(tx: UnitOfWork, authorization: Authorization, system: BusinessSystem | None
              ) -> tuple[Role | None, PersonFacts] | None:
    """What the login stood on, if it still stands: the business system, the person, and
    their role in the enterprise they logged in for (the role held now)."""
    person = tx.persons.get(authorization.person_id) if authorization.person_id else None
    if system is None or system.status is not SystemStatus.ACTIVE or person is None \
            or person.status != "active":
        return None
    facts = PersonFacts(person.id, person.name, person.phone)
    if authorization.enterprise_id is None:
        return None, facts
    held = tx.memberships.active(person.id, authorization.enterprise_id)
    if held is None or held.role is None:
        return None
    return held.role, facts


@dataclass(frozen=True)
class RefreshTokens:
    client: ClientCredentials | None
    refresh_token: str | None
    scope: str | None = None


@refusals_audited(AuditTag.OIDC_REFRESH, lambda cmd: f"business_system:"
                  f"{cmd.client.client_id[:64] if cmd.client else '?'}")
def refresh(cmd: RefreshTokens, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
            keyring: Keyring, keys: KeyStore, jose: JoseCodec, settings: Settings) -> Tokens:
    """grant_type=refresh_token (RFC 6749 §6, OpenID Connect Core §12): a new access token, a
    new refresh token in place of the one presented, and a new ID token (§12.2: no nonce, the
    login's auth_time, the role held now), while the login still stands. The refresh token
    before the current one, presented again, revokes the login's tokens."""
    system = authenticate_client(cmd.client, caller=caller, uow=uow, keyring=keyring)
    if not cmd.refresh_token:
        raise OAuthError("invalid_request", "refresh_token is required",
                         code="oidc.token_parameters")
    presented = keyring.secret_hash(REFRESH_PURPOSE, cmd.refresh_token[:200])
    now = clock.now()
    replayed = False
    with uow(request_id=caller.request_id) as tx:
        authorization = tx.oidc_authorizations.by_refresh_hash(presented)
        if authorization is None:
            raise OAuthError("invalid_grant", "unknown refresh token", code="oidc.refresh_unknown")
        if authorization.client_id != system.client_id:
            raise OAuthError("invalid_grant", "the refresh token was issued to another client",
                             code="oidc.refresh_client")
        access_token, refresh_token = keyring.token(), keyring.token()
        lifetime = settings.oidc_token_seconds
        try:
            authorization.refresh(presented, keyring.secret_hash(ACCESS_PURPOSE, access_token),
                                  keyring.secret_hash(REFRESH_PURPOSE, refresh_token), now,
                                  now + timedelta(seconds=lifetime))
        except OAuthError as refused:
            if refused.code != "oidc.refresh_used" or not authorization.live:
                raise
            authorization.revoke(now)
            tx.audit.record(AuditRecord(AuditTag.OIDC_REFRESH_REPLAY, caller.actor,
                                        f"oidc:{authorization.id}", details={
                                            "business_system": system.client_id,
                                            "person": str(authorization.person_id)}))
            tx.commit()
            replayed = True
        if not replayed:
            if cmd.scope is not None and not set(cmd.scope.split()) <= set(authorization.scopes):
                raise OAuthError("invalid_scope", "a refresh cannot widen the scope of the login",
                                 code="oidc.refresh_scope")
            standing = _standing(tx, authorization, system)
            if standing is None:
                raise OAuthError("invalid_grant", "the login no longer stands: the person or "
                                 "their role there is gone", code="oidc.refresh_standing")
            role, facts = standing
            claims = id_token_claims(authorization, facts,
                                     _grants(tx, authorization, system, clock, role),
                                     issuer=issuer(settings), at=now, lifetime_seconds=lifetime,
                                     access_token=access_token, role=role, refreshed=True)
            id_token = token_keys.sign(tx, TokenPurpose.OIDC, claims, typ=ID_TOKEN_TYP,
                                       keys=keys, jose=jose, clock=clock, settings=settings)
            tx.audit.record(AuditRecord(AuditTag.OIDC_REFRESH, caller.actor,
                                        f"oidc:{authorization.id}", details={
                                            "business_system": system.client_id,
                                            "person": str(authorization.person_id)}))
            tx.commit()
            assert authorization.access_expires_at is not None
            expires_in = int((authorization.access_expires_at - now).total_seconds())
            return Tokens(access_token, id_token, expires_in, " ".join(authorization.scopes),
                          refresh_token)
    raise OAuthError("invalid_grant", "the refresh token was already used; the tokens of this "
                     "login are revoked", code="oidc.refresh_used")


@dataclass(frozen=True)
class EndSession:
    id_token_hint: str | None
    post_logout_redirect_uri: str | None
    state: str | None
    client_id: str | None


@dataclass(frozen=True)
class Ended:
    redirect: str | None  # back to the business system, when it asked and may
    system_name: str | None


def _origin(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.scheme, parts.netloc


def end_session(cmd: EndSession, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
                jose: JoseCodec, settings: Settings) -> Ended:
    """RP-initiated logout: the login the ID token names (``sid``) loses its tokens. The token
    may have expired (RP-Initiated Logout §2 asks to accept it), but must be ours. A
    post-logout redirect goes only to an origin of one of the client's registered redirect
    URIs; anything else is shown on a page, never followed."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        client_id = cmd.client_id
        sid: str | None = None
        if cmd.id_token_hint:
            try:
                claims = token_keys.verify(tx, TokenPurpose.OIDC, cmd.id_token_hint,
                                           typ=ID_TOKEN_TYP, jose=jose, at=now)
            except YunzhangError:
                raise OAuthError("invalid_request", "id_token_hint is not an ID token of this "
                                 "provider", code="oidc.id_token_hint") from None
            if claims.get("iss") != issuer(settings) or not isinstance(claims.get("aud"), str):
                raise OAuthError("invalid_request", "id_token_hint is not an ID token of this "
                                 "provider", code="oidc.id_token_hint")
            if client_id is not None and client_id != claims["aud"]:
                raise OAuthError("invalid_request", "client_id is not the ID token's audience",
                                 code="oidc.logout_client")
            client_id, sid = str(claims["aud"]), str(claims.get("sid") or "")
        system = tx.business_systems.by_client_id(client_id[:64]) if client_id else None
        redirect = None
        if cmd.post_logout_redirect_uri:
            origins = {_origin(u) for u in system.redirect_uris} if system else set()
            target = cmd.post_logout_redirect_uri
            if system is None or _origin(target) not in origins or urlsplit(target).fragment:
                raise OAuthError("invalid_request", "post_logout_redirect_uri is not at an "
                                 "origin the client registered", code="oidc.logout_redirect")
            redirect = redirect_to(target, {"state": cmd.state})
        authorization = tx.oidc_authorizations.get(sid[:64], lock=True) if sid else None
        if authorization is not None and authorization.client_id == client_id \
                and authorization.live:
            authorization.revoke(now)
            tx.audit.record(AuditRecord(AuditTag.OIDC_LOGOUT, caller.actor,
                                        f"oidc:{authorization.id}", details={
                                            "business_system": client_id,
                                            "person": str(authorization.person_id)}))
            tx.commit()
        return Ended(redirect, system.name if system else None)


def discovery(settings: Settings, business: list[str]) -> dict[str, object]:
    """OpenID Connect Discovery 1.0 §3. ES256 only: the platform's token keys are EC P-256
    (Discovery asks for RS256 too; a client that insists on RS256 cannot use this provider)."""
    base = issuer(settings)
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oidc/authorize",
        "token_endpoint": f"{base}/oidc/token",
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "jwks_uri": f"{base}/oidc/jwks",
        "end_session_endpoint": f"{base}/oidc/logout",
        "scopes_supported": [*OWN_SCOPES, *business],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                             "sid", "amr", "name", "phone_number", "phone_number_verified",
                             "enterprise", "role", "grants"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "ui_locales_supported": ["zh-CN", "en"],
    }

