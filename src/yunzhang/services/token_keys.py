"""Token keys: every JSON Web Signature the platform makes (e-licenses, OpenID Connect tokens)
is signed here, with the current key of its purpose, held in the KeyStore.

The first signature of a purpose makes its first key; a key older than
YUNZHANG_TOKEN_KEY_ROTATION_DAYS is replaced at the next signature (or at once by
`yunzhang keys rotate-token-key`), and the retired key stays published as long as a token it
signed may live (Settings.token_lifetime), so no verifier ever meets an unknown ``kid`` for a
token that is still valid.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.tokens import TokenKey, TokenPurpose
from yunzhang.errors import PermissionDenied
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, JoseCodec, KeyStore, UnitOfWork, UnitOfWorkFactory

ALGORITHM = "ES256"


def sign(tx: UnitOfWork, purpose: TokenPurpose, claims: dict[str, object], *, typ: str,
         keys: KeyStore, jose: JoseCodec, clock: Clock, settings: Settings) -> str:
    """The compact JWS of ``claims``, in the caller's transaction (a key made or rotated on
    the way is committed with the caller's change)."""
    key = _current(tx, purpose, keys=keys, jose=jose, at=clock.now(), settings=settings,
                   caller=Caller.system())
    return jose.encode({"alg": ALGORITHM, "kid": key.kid, "typ": typ}, claims,
                       lambda data: keys.sign(key.key_id, data))


def published(tx: UnitOfWork, purpose: TokenPurpose, at: datetime) -> list[TokenKey]:
    return [k for k in tx.token_keys.of_purpose(purpose) if k.published_at(at)]


def jwks(purpose: TokenPurpose, *, uow: UnitOfWorkFactory, keys: KeyStore, jose: JoseCodec,
         clock: Clock, settings: Settings) -> dict[str, object]:
    """The JWK Set (RFC 7517 §5) of the purpose's published keys, the current one first; a
    purpose that has signed nothing yet gets its first key now, so the set is never empty."""
    now = clock.now()
    with uow() as tx:
        _current(tx, purpose, keys=keys, jose=jose, at=now, settings=settings,
                 caller=Caller.system())
        found = published(tx, purpose, now)
        tx.commit()
    return {"keys": [jose.jwk(k.public_key) for k in found]}


def verify(tx: UnitOfWork, purpose: TokenPurpose, token: str, *, typ: str, jose: JoseCodec,
           at: datetime) -> dict[str, Any]:
    """The claims of a token the platform signed for ``purpose`` with a key still published
    (InvalidInput ``token.malformed``, PermissionDenied ``token.signature``/``token.type``).
    Times and audience are the caller's to judge."""
    header, claims = jose.decode(token, {k.kid: k.public_key for k in published(tx, purpose, at)})
    if header.get("typ") != typ:
        raise PermissionDenied(f"the token is not a {typ}", code="token.type")
    return claims


def rotate(purpose: TokenPurpose, *, caller: Caller, uow: UnitOfWorkFactory, keys: KeyStore,
           jose: JoseCodec, clock: Clock, settings: Settings) -> TokenKey:
    """A new current key now; the one before stays published while its tokens live."""
    with uow(request_id=caller.request_id) as tx:
        key = _new(tx, purpose, keys=keys, jose=jose, at=clock.now(), settings=settings,
                   caller=caller, reason="rotated by the operator")
        tx.commit()
        return key


def _current(tx: UnitOfWork, purpose: TokenPurpose, *, keys: KeyStore, jose: JoseCodec,
             at: datetime, settings: Settings, caller: Caller) -> TokenKey:
    every = timedelta(days=settings.token_key_rotation_days)
    for key in tx.token_keys.of_purpose(purpose):  # newest first
        if key.signs_at(at):
            if key.due_for_rotation(at, every):
                return _new(tx, purpose, keys=keys, jose=jose, at=at, settings=settings,
                            caller=caller, reason=f"older than {every.days} days")
            return key
    return _new(tx, purpose, keys=keys, jose=jose, at=at, settings=settings, caller=caller,
                reason="first key")


def _new(tx: UnitOfWork, purpose: TokenPurpose, *, keys: KeyStore, jose: JoseCodec,
         at: datetime, settings: Settings, caller: Caller, reason: str) -> TokenKey:
    retired = []
    for old in tx.token_keys.of_purpose(purpose):
        if old.retired_at is None:
            old.retire(at, settings.token_lifetime(purpose))
            retired.append(old.kid)
    made = keys.generate(KeyAlgorithm.EC_P256, label=f"token:{purpose.value}")
    key = TokenKey(kid=jose.jwk(made.public_key)["kid"], purpose=purpose, key_id=made.key_id,
                   public_key=made.public_key, created_at=at)
    tx.token_keys.add(key)
    tx.audit.record(AuditRecord(AuditTag.TOKEN_KEY_ROTATE, caller.actor,
                                f"token_key:{key.kid}", details={
                                    "purpose": purpose.value, "reason": reason,
                                    "retired": retired}))
    return key
