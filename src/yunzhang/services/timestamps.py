"""The time-stamp authority (RFC 3161): a token binding a digest to the platform's time, signed
with the TSA key made by ``pki init``. Used by the signing engine for PAdES B-T and open to
outside clients (``openssl ts``) at ``POST /tsa``."""

from __future__ import annotations

from yunzhang.config import Settings
from yunzhang.domain.pki import CaName, Profile
from yunzhang.domain.timestamps import Failure, TimestampRefused
from yunzhang.errors import Conflict
from yunzhang.services import pki
from yunzhang.services.ports import Clock, TimestampEncoder, UnitOfWorkFactory


def timestamp(request: bytes, *, uow: UnitOfWorkFactory, encoder: TimestampEncoder, clock: Clock,
              settings: Settings) -> bytes:
    """A DER TimeStampResp: granted, or a rejection with its RFC 3161 failure bit (the protocol's
    own way to refuse, which clients read; HTTP errors are for a TSA that is not set up)."""
    try:
        parsed = encoder.read_request(request)
        if parsed.policy is not None and parsed.policy != settings.tsa_policy:
            raise TimestampRefused(f"this TSA issues under policy {settings.tsa_policy} only",
                                   failure=Failure.UNACCEPTED_POLICY)
    except TimestampRefused as refused:
        return encoder.rejection(refused)
    now = clock.now()
    with uow() as tx:
        _, issuer = pki.authority(tx, CaName.ORGANIZATION)
        _, root = pki.authority(tx, CaName.ROOT)
        usable = [c for c in tx.certificates.of_subject("tsa")
                  if c.profile is Profile.TSA and c.valid_at(now) and c.key_id]
        if not usable:
            raise Conflict("the TSA certificate is revoked or expired; the operator issues a new "
                           "one", code="tsa.unavailable")
        tsa = usable[-1]
        assert tsa.key_id is not None
    return encoder.reply(parsed, policy=settings.tsa_policy, serial=pki.new_serial(), at=now,
                         certificate=tsa.der, chain=[issuer.der, root.der], key_id=tsa.key_id,
                         algorithm=tsa.algorithm)
