"""Business systems (业务系统), registered by the operator, and how they authenticate.

Client secrets are 256-bit random tokens made by the platform, shown once, and stored as an
HMAC-SHA256 under the server key: a slow password hash (argon2id) protects low-entropy
passwords; for a secret no one can guess it would only slow every API call.
"""

from __future__ import annotations

from dataclasses import dataclass

from yunzhang.domain.audit import AuditRecord, AuditTag, Outcome
from yunzhang.domain.business_systems import (
    MAX_REDIRECT_URIS,
    BusinessSystem,
    SystemStatus,
    client_id_of,
    redirect_uri_of,
    webhook_url_of,
)
from yunzhang.domain.enterprises import clean_name
from yunzhang.domain.webhooks import new_secret as new_webhook_secret
from yunzhang.domain.scopes import ScopeTree
from yunzhang.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from yunzhang.services import webhooks
from yunzhang.services.audit import record_separately, refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, Keyring, UnitOfWork, UnitOfWorkFactory

_SECRET_PURPOSE = "client_secret"


@dataclass(frozen=True)
class RegisterSystem:
    client_id: str
    name: str
    scopes: list[str]
    redirect_uris: list[str]
    secret: str | None = None  # the operator's own (>= 32 characters); default: a new one
    webhook_url: str | None = None


@dataclass(frozen=True)
class Registered:
    system: BusinessSystem
    secret: str | None  # shown once; only its keyed hash is kept
    webhook_secret: str | None = None  # shown once; kept sealed (the platform signs with it)


def _webhook(system: BusinessSystem, url: str | None, keyring: Keyring) -> str | None:
    """Set the webhook URL (or none); a new signing secret with a URL, sealed at rest."""
    system.webhook_url = webhook_url_of(url) if url else None
    if system.webhook_url is None:
        system.webhook_secret = None
        return None
    secret = new_webhook_secret()
    system.webhook_secret = keyring.seal(webhooks.SECRET_PURPOSE, secret.encode())
    return secret


def _secret(keyring: Keyring, chosen: str | None) -> str:
    if chosen is None:
        return keyring.token()
    if len(chosen) < 32 or len(chosen) > 200 or not chosen.isprintable():
        raise InvalidInput("a client secret has 32 to 200 printable characters",
                           code="business_system.secret")
    return chosen


@refusals_audited(AuditTag.BUSINESS_SYSTEM_REGISTER, lambda cmd: f"business_system:{cmd.client_id}")
def register(cmd: RegisterSystem, *, caller: Caller, uow: UnitOfWorkFactory, clock: Clock,
             keyring: Keyring, scopes: ScopeTree) -> Registered:
    client_id = client_id_of(cmd.client_id)
    name = clean_name(cmd.name, what="the display name", code="business_system.name")
    allowed = list(scopes.parse_many(cmd.scopes))
    if not allowed:
        raise InvalidInput("a business system needs at least one scope it may ask for",
                           code="business_system.scopes")
    if len(cmd.redirect_uris) > MAX_REDIRECT_URIS:
        raise InvalidInput(f"at most {MAX_REDIRECT_URIS} redirect URIs",
                           code="business_system.redirect_uri")
    uris = list(dict.fromkeys(redirect_uri_of(u) for u in cmd.redirect_uris))
    if cmd.webhook_url:
        webhook_url_of(cmd.webhook_url)
    secret = _secret(keyring, cmd.secret)
    with uow(request_id=caller.request_id) as tx:
        if tx.business_systems.by_client_id(client_id) is not None:
            raise Conflict(f"business system {client_id} is already registered",
                           code="business_system.exists")
        system = BusinessSystem(client_id=client_id, name=name,
                                secret_hash=keyring.secret_hash(_SECRET_PURPOSE, secret),
                                scopes=allowed, redirect_uris=uris, created_at=clock.now())
        webhook_secret = _webhook(system, cmd.webhook_url, keyring)
        tx.business_systems.add(system)
        tx.audit.record(AuditRecord(AuditTag.BUSINESS_SYSTEM_REGISTER, caller.actor,
                                    f"business_system:{client_id}",
                                    details={"name": name, "scopes": allowed,
                                             "redirect_uris": uris,
                                             "webhook_url": system.webhook_url}))
        tx.commit()
        return Registered(system, secret, webhook_secret)


def _system(tx: UnitOfWork, client_id: str) -> BusinessSystem:
    system = tx.business_systems.by_client_id(client_id_of(client_id), lock=True)
    if system is None:
        raise NotFound(f"no business system {client_id.strip()[:64]} is registered",
                       code="business_system.not_found")
    return system


@refusals_audited(AuditTag.BUSINESS_SYSTEM_UPDATE, lambda client_id: f"business_system:{client_id}")
def rotate_secret(client_id: str, *, caller: Caller, uow: UnitOfWorkFactory,
                  keyring: Keyring) -> Registered:
    """A new secret; the old one stops working at once."""
    with uow(request_id=caller.request_id) as tx:
        system = _system(tx, client_id)
        secret = keyring.token()
        system.secret_hash = keyring.secret_hash(_SECRET_PURPOSE, secret)
        tx.audit.record(AuditRecord(AuditTag.BUSINESS_SYSTEM_UPDATE, caller.actor,
                                    f"business_system:{system.client_id}",
                                    details={"change": "secret rotated"}))
        tx.commit()
        return Registered(system, secret)


@refusals_audited(AuditTag.BUSINESS_SYSTEM_UPDATE,
                  lambda client_id, url: f"business_system:{client_id}")
def set_webhook(client_id: str, url: str | None, *, caller: Caller, uow: UnitOfWorkFactory,
                keyring: Keyring) -> Registered:
    """Set or change the webhook URL with a new signing secret (shown once), or remove it."""
    if url:
        webhook_url_of(url)
    with uow(request_id=caller.request_id) as tx:
        system = _system(tx, client_id)
        webhook_secret = _webhook(system, url, keyring)
        tx.audit.record(AuditRecord(AuditTag.BUSINESS_SYSTEM_UPDATE, caller.actor,
                                    f"business_system:{system.client_id}",
                                    details={"webhook_url": system.webhook_url,
                                             "change": "webhook secret made" if webhook_secret
                                             else "webhook removed"}))
        tx.commit()
        return Registered(system, None, webhook_secret)


@refusals_audited(AuditTag.BUSINESS_SYSTEM_UPDATE,
                  lambda client_id, status: f"business_system:{client_id}")
def set_status(client_id: str, status: SystemStatus, *, caller: Caller,
               uow: UnitOfWorkFactory) -> BusinessSystem:
    with uow(request_id=caller.request_id) as tx:
        system = _system(tx, client_id)
        if system.status is status:
            raise Conflict(f"business system {system.client_id} is already {status.value}",
                           code="business_system.state")
        system.status = status
        tx.audit.record(AuditRecord(AuditTag.BUSINESS_SYSTEM_UPDATE, caller.actor,
                                    f"business_system:{system.client_id}",
                                    details={"status": status.value}))
        tx.commit()
        return system


def list_systems(*, uow: UnitOfWorkFactory) -> list[BusinessSystem]:
    with uow() as tx:
        return tx.business_systems.all()


def authenticate(client_id: str, secret: str, *, caller: Caller, uow: UnitOfWorkFactory,
                 keyring: Keyring) -> BusinessSystem:
    """The business system whose credentials these are. One message for an unknown client and a
    wrong secret (RFC 6749 §5.2 invalid_client), each failure audited; a disabled system is told
    so, since it proved who it is."""
    given = keyring.secret_hash(_SECRET_PURPOSE, secret[:200])
    with uow() as tx:
        system = tx.business_systems.by_client_id(client_id[:64])
    expected = system.secret_hash if system is not None else keyring.secret_hash(_SECRET_PURPOSE, "")
    if system is None or not keyring.same(given, expected) or not secret:
        record_separately(AuditRecord(AuditTag.BUSINESS_SYSTEM_AUTH_FAIL, caller.actor,
                                      f"business_system:{client_id[:64]}", Outcome.DENIED,
                                      {"known": system is not None}),
                          caller=caller, uow=uow)
        raise Unauthenticated("client authentication failed: unknown client id or wrong secret",
                              code="client.auth")
    if system.status is not SystemStatus.ACTIVE:
        raise PermissionDenied(f"business system {system.client_id} is disabled by the operator",
                               code="business_system.disabled")
    return system
