"""The OpenID Connect provider's login (扫码登录): the authorization request opens a login scan
session, the page learns the wallet's answer, asks for consent when none is remembered, and
sends the business system a one-time code; the code becomes an ID token and an access token
(services.oidc_tokens).

Errors are RFC 6749's (``OAuthError``): before the client and its redirect URI are known to be
right they carry no redirect URI, so the web layer shows them on a page (RFC 6749 §4.1.2.1);
after that they carry it and the ``state``, and go back to the business system.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.business_systems import BusinessSystem, SystemStatus
from yunzhang.domain.oidc import (
    MAX_NONCE,
    MAX_STATE,
    Authorization,
    AuthorizationStatus,
    Consent,
    Prompt,
    business_scopes,
    check_challenge,
    parse_scopes,
    single,
)
from yunzhang.domain.scan_sessions import ScanAction, ScanSession, ScanState
from yunzhang.domain.scopes import ScopeTree
from yunzhang.errors import NotFound, OAuthError, YunzhangError
from yunzhang.services import scan_sessions
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, Keyring, UnitOfWork, UnitOfWorkFactory

CODE_PURPOSE = "oidc_code"
_CONSENT_PURPOSE = "oidc_consent"
_UNKNOWN = "no such login: it was never started here, or this browser did not start it"
_HANDLED = {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
            "code_challenge", "code_challenge_method", "prompt", "response_mode", "max_age",
            "login_hint", "ui_locales", "display", "id_token_hint", "acr_values", "claims",
            "request", "request_uri", "registration"}


def issuer(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


@dataclass(frozen=True)
class Authorize:
    params: Mapping[str, list[str]]  # the query, every value of every parameter
    requester_ip: str | None = None
    requester_agent: str | None = None


@dataclass(frozen=True)
class Begun:
    authorization: Authorization
    system: BusinessSystem
    opened: scan_sessions.Opened  # the QR code's URL and the page's poll token


def _client_and_redirect(params: Mapping[str, list[str]], tx: UnitOfWork) -> tuple[
        BusinessSystem, str]:
    """The checks whose failure is shown to the person, never redirected (RFC 6749 §4.1.2.1)."""
    client_id = single(params, "client_id")
    redirect_uri = single(params, "redirect_uri")
    system = tx.business_systems.by_client_id(client_id[:64]) if client_id else None
    if system is None or system.status is not SystemStatus.ACTIVE:
        raise OAuthError("invalid_client", "client_id is missing or names no active business "
                         "system", code="oidc.unknown_client")
    if redirect_uri is None or redirect_uri not in system.redirect_uris:
        # Compared exactly, as registered (RFC 6749 §3.1.2.3; OAuth 2.0 Security BCP §4.1.3).
        raise OAuthError("invalid_request", f"redirect_uri is missing or is not one that "
                         f"{system.client_id} registered", code="oidc.redirect_uri")
    return system, redirect_uri


def _subject(system: BusinessSystem, names: list[str], tree: ScopeTree) -> str:
    """What the wallet shows of the login: who asks, and what it will learn (signed along)."""
    shown = {"openid": "身份标识 identifier", "profile": "姓名与手机号 name and phone",
             "enterprise": "企业、角色与授权 enterprise, role and grants"}
    what = "; ".join(shown.get(n) or f"{tree.title(n)} ({n})" for n in names)
    return f"扫码登录 {system.name} (OpenID Connect): {what}"


@refusals_audited(AuditTag.OIDC_AUTHORIZE,
                  lambda cmd: f"business_system:{(cmd.params.get('client_id') or ['?'])[0]}")
def begin(cmd: Authorize, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
          keyring: Keyring, settings: Settings, scopes: ScopeTree) -> Begun:
    """Check an authorization request (OpenID Connect Core §3.1.2.1) and open its login scan
    session, in one transaction."""
    params = cmd.params
    with uow(request_id=caller.request_id) as tx:
        system, redirect_uri = _client_and_redirect(params, tx)
        raw_state = params.get("state", [])
        state = raw_state[0] if len(raw_state) == 1 and raw_state[0] else None

        def refuse(error: str, detail: str, code: str) -> OAuthError:
            return OAuthError(error, detail, code=code, redirect_uri=redirect_uri, state=state)

        try:
            values = {name: single(params, name) for name in _HANDLED}
        except OAuthError as repeated:
            raise refuse("invalid_request", repeated.detail, repeated.code) from None
        if state is not None and len(state) > MAX_STATE:
            raise OAuthError("invalid_request", f"state is longer than {MAX_STATE} characters",
                             code="oidc.state", redirect_uri=redirect_uri)
        if values["request"] is not None:
            raise refuse("request_not_supported", "request objects are not supported",
                         "oidc.request_object")
        if values["request_uri"] is not None:
            raise refuse("request_uri_not_supported", "request_uri is not supported",
                         "oidc.request_uri")
        if values["response_type"] is None:
            raise refuse("invalid_request", "response_type is required", "oidc.response_type")
        if values["response_type"] != "code":
            raise refuse("unsupported_response_type", "only response_type=code (the "
                         "authorization code flow) is supported", "oidc.response_type")
        if values["response_mode"] not in (None, "query"):
            raise refuse("invalid_request", "only response_mode=query is supported",
                         "oidc.response_mode")
        try:
            names = parse_scopes(values["scope"], known=scopes.titles, registered=system.scopes)
        except OAuthError as bad:
            raise refuse(bad.error, bad.detail, bad.code) from None
        nonce = values["nonce"]
        if nonce is not None and len(nonce) > MAX_NONCE:
            raise refuse("invalid_request", f"nonce is longer than {MAX_NONCE} characters",
                         "oidc.nonce")
        challenge = check_challenge(values["code_challenge"], values["code_challenge_method"],
                                    redirect_uri=redirect_uri, state=state)
        prompts = set((values["prompt"] or "").split())
        if not prompts <= set(Prompt):
            raise refuse("invalid_request", "prompt takes none, login, consent or "
                         "select_account", "oidc.prompt")
        if Prompt.NONE in prompts:
            # The platform keeps no login of its own in the browser: every login is a scan.
            raise refuse("login_required", "a login here is always a scan with the wallet",
                         "oidc.login_required")
        opened = scan_sessions.prepare(
            scan_sessions.OpenSession(system, ScanAction.LOGIN, [],
                                      subject=_subject(system, names, scopes),
                                      requester_ip=cmd.requester_ip,
                                      requester_agent=cmd.requester_agent),
            clock=clock, keyring=keyring, settings=settings)
        session = opened.session
        lifetime = timedelta(seconds=settings.oidc_request_seconds)
        authorization = Authorization(
            id=session.id, client_id=system.client_id, redirect_uri=redirect_uri,
            scopes=names, code_challenge=challenge, created_at=session.created_at,
            expires_at=max(session.created_at + lifetime, session.expires_at),
            state=state, nonce=nonce, force_consent=Prompt.CONSENT in prompts)
        scan_sessions.add(tx, session, caller=caller)
        tx.oidc_authorizations.add(authorization)
        tx.audit.record(AuditRecord(AuditTag.OIDC_AUTHORIZE, caller.actor,
                                    f"oidc:{authorization.id}", details={
                                        "business_system": system.client_id,
                                        "redirect_uri": redirect_uri, "scopes": names}))
        tx.commit()
        return Begun(authorization, system, opened)


@dataclass(frozen=True)
class ConsentAsk:
    """What the page asks before the business system learns anything (remembered after)."""

    authorization: Authorization
    system_name: str
    scopes: list[tuple[str, str]]  # (name, title)
    form_token: str  # the consent form's anti-forgery token, bound to the page's poll token


@dataclass(frozen=True)
class Finished:
    redirect: str | None = None  # back to the business system: the code or an error
    ask: ConsentAsk | None = None


def redirect_to(uri: str, params: dict[str, str | None]) -> str:
    """The registered redirect URI with the response parameters added to its query (RFC 6749
    §3.1.2: a query it has is kept)."""
    parts = urlsplit(uri)
    added = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def error_redirect(error: OAuthError, settings: Settings) -> str:
    assert error.redirect_uri is not None
    return redirect_to(error.redirect_uri, {"error": error.error,
                                            "error_description": error.detail[:300],
                                            "state": error.state, "iss": issuer(settings)})


def _opened(tx: UnitOfWork, authorization_id: str, poll_token: str, *,
            keyring: Keyring) -> tuple[Authorization, ScanSession]:
    """The login this browser started (its poll token), locked; opaque otherwise."""
    authorization = tx.oidc_authorizations.get(authorization_id[:64], lock=True)
    session = tx.scan_sessions.get(authorization_id[:64]) if authorization else None
    if authorization is None or session is None or not poll_token \
            or not scan_sessions.poll_token_matches(session, poll_token, keyring=keyring) \
            or session.business_system != authorization.client_id \
            or session.action is not ScanAction.LOGIN:
        raise OAuthError("invalid_request", _UNKNOWN, code="oidc.unknown_login")
    return authorization, session


def _issue(tx: UnitOfWork, authorization: Authorization, *, caller: Caller, now: datetime,
           keyring: Keyring, settings: Settings) -> str:
    code = keyring.token()
    authorization.issue_code(keyring.secret_hash(CODE_PURPOSE, code), now,
                             now + timedelta(seconds=settings.oidc_code_seconds))
    tx.audit.record(AuditRecord(AuditTag.OIDC_LOGIN, caller.actor, f"oidc:{authorization.id}",
                                details={"business_system": authorization.client_id,
                                         "person": str(authorization.person_id),
                                         "enterprise": authorization.uscc,
                                         "role": authorization.role and authorization.role.value,
                                         "scopes": authorization.scopes}))
    return redirect_to(authorization.redirect_uri, {"code": code, "state": authorization.state,
                                                    "iss": issuer(settings)})


def _deny(tx: UnitOfWork, authorization: Authorization, reason: str, *, caller: Caller,
          now: datetime, settings: Settings) -> str:
    authorization.deny(now)
    tx.audit.record(AuditRecord(AuditTag.OIDC_DENY, caller.actor, f"oidc:{authorization.id}",
                                details={"business_system": authorization.client_id,
                                         "reason": reason}))
    return error_redirect(OAuthError("access_denied", reason,
                                     redirect_uri=authorization.redirect_uri,
                                     state=authorization.state), settings)


def _ask(tx: UnitOfWork, authorization: Authorization, poll_token: str, *, keyring: Keyring,
         tree: ScopeTree) -> ConsentAsk:
    system = tx.business_systems.by_client_id(authorization.client_id)
    titles = {"openid": "身份标识 (sub) · your identifier",
              "profile": "姓名与手机号 · name and phone number",
              "enterprise": "企业、角色与授权 · enterprise, role and grants"}
    return ConsentAsk(authorization, system.name if system else authorization.client_id,
                      [(n, titles.get(n) or tree.title(n)) for n in authorization.scopes],
                      keyring.secret_hash(_CONSENT_PURPOSE, poll_token))


def progress(authorization_id: str, poll_token: str, *, uow: UnitOfWorkFactory,
             clock: Clock, keyring: Keyring) -> ScanState:
    """Where the page's scan session is (one read; the page's long poll asks this)."""
    with uow() as tx:
        session = tx.scan_sessions.get(authorization_id[:64]) if authorization_id else None
        if session is None or not poll_token \
                or not scan_sessions.poll_token_matches(session, poll_token, keyring=keyring):
            raise NotFound(_UNKNOWN, code="oidc.unknown_login")
        return session.state_at(clock.now())


_ENDED = {ScanState.DENIED: "the person declined the login in the wallet",
          ScanState.REFUSED: "the platform refused the login",
          ScanState.EXPIRED: "the QR code expired before the login was confirmed"}


def finish(authorization_id: str, poll_token: str, *, caller: Caller, uow: UnitOfWorkFactory,
           clock: Clock, keyring: Keyring, settings: Settings, scopes: ScopeTree) -> Finished:
    """The page learned that the scan session ended: send the code back (consent remembered),
    ask for consent, or tell the business system it was declined or expired."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        authorization, session = _opened(tx, authorization_id, poll_token, keyring=keyring)
        if authorization.status is AuthorizationStatus.CONSENTING:
            return Finished(ask=_ask(tx, authorization, poll_token, keyring=keyring, tree=scopes))
        if authorization.status is not AuthorizationStatus.PENDING:
            raise OAuthError("invalid_request", "this login is already finished; start a new "
                             "one at the business system", code="oidc.finished")
        state = session.state_at(now)
        if now >= authorization.expires_at:
            redirect = _deny(tx, authorization, "the login expired before it was finished",
                             caller=caller, now=now, settings=settings)
            tx.commit()
            return Finished(redirect=redirect)
        if state in (ScanState.PENDING, ScanState.SCANNED):
            raise OAuthError("invalid_request", "the login is not confirmed in the wallet yet",
                             code="oidc.not_confirmed")
        if state is not ScanState.CONFIRMED or session.person_id is None:
            redirect = _deny(tx, authorization, session.outcome or _ENDED.get(
                state, "the login did not succeed"), caller=caller, now=now, settings=settings)
            tx.commit()
            return Finished(redirect=redirect)
        held = scan_sessions.login_license(tx, session)
        # Every read before the first change: the authorization is then written once.
        consent = tx.consents.find(session.person_id, authorization.client_id,
                                   held.enterprise_id if held is not None else None)
        if held is None:  # a natural person's login
            authorization.authenticated(session.person_id, session.decided_at or now)
        else:
            authorization.authenticated(session.person_id, session.decided_at or now,
                                        license_id=held.id, enterprise_id=held.enterprise_id,
                                        uscc=held.uscc, enterprise_name=held.enterprise_name,
                                        role=held.role)
        if authorization.force_consent or consent is None \
                or not consent.covers(authorization.scopes):
            ask = _ask(tx, authorization, poll_token, keyring=keyring, tree=scopes)
            tx.commit()
            return Finished(ask=ask)
        redirect = _issue(tx, authorization, caller=caller, now=now, keyring=keyring,
                          settings=settings)
        tx.commit()
        return Finished(redirect=redirect)


@dataclass(frozen=True)
class Decide:
    authorization_id: str
    poll_token: str
    form_token: str
    approve: bool


def decide(cmd: Decide, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
           keyring: Keyring, settings: Settings) -> Finished:
    """The person's answer on the consent page (同意授权): remembered per business system and
    enterprise, and the code sent back; or access_denied."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        authorization, _ = _opened(tx, cmd.authorization_id, cmd.poll_token, keyring=keyring)
        expected = keyring.secret_hash(_CONSENT_PURPOSE, cmd.poll_token)
        if not keyring.same(expected, cmd.form_token[:100]):
            raise OAuthError("invalid_request", "the consent form did not come from this "
                             "page", code="oidc.consent_form")
        if authorization.status is not AuthorizationStatus.CONSENTING:
            raise OAuthError("invalid_request", "this login is already finished; start a new "
                             "one at the business system", code="oidc.finished")
        if now >= authorization.expires_at:
            redirect = _deny(tx, authorization, "the login expired before consent was given",
                             caller=caller, now=now, settings=settings)
        elif not cmd.approve:
            redirect = _deny(tx, authorization, "the person did not consent", caller=caller,
                             now=now, settings=settings)
        else:
            assert authorization.person_id is not None
            consent = tx.consents.find(authorization.person_id, authorization.client_id,
                                       authorization.enterprise_id, lock=True)
            if consent is None:
                consent = Consent(authorization.person_id, authorization.client_id,
                                  authorization.enterprise_id, list(authorization.scopes),
                                  granted_at=now, updated_at=now)
                tx.consents.add(consent)
            else:
                consent.give(authorization.scopes, now)
            tx.audit.record(AuditRecord(AuditTag.CONSENT_GIVE, f"person:{authorization.person_id}",
                                        f"consent:{consent.id}", details={
                                            "business_system": authorization.client_id,
                                            "enterprise": authorization.uscc,
                                            "scopes": consent.scopes,
                                            "business_scopes": business_scopes(consent.scopes)}))
            redirect = _issue(tx, authorization, caller=caller, now=now, keyring=keyring,
                              settings=settings)
        tx.commit()
        return Finished(redirect=redirect)


def page_error(error: YunzhangError) -> OAuthError:
    """Any other failure of the page's requests, as RFC 6749 would name it."""
    if isinstance(error, OAuthError):
        return error
    if error.status >= 500:
        return OAuthError("temporarily_unavailable", error.detail, code=error.code)
    return OAuthError("invalid_request", error.detail, code=error.code)
