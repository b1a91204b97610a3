"""用印: a seal applied to a PDF as a PAdES signature with the seal's image, by a person the
decision function allows to use that seal in that business system, or by a business system
under an auto-stamp grant (平台自动签). Every stamp is decided, recorded and audited."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from dataclasses import dataclass, field
from typing import BinaryIO

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.domain.grants import show_time
from yunzhang.domain.stamping import PadesProfile, Placement, StampRecord
from yunzhang.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from yunzhang.domain.pki import CaName
from yunzhang.services import pki, seals
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    PdfStamper,
    UnitOfWork,
    UnitOfWorkFactory,
)

MAX_IDEMPOTENCY_KEY = 100


@dataclass(frozen=True)
class StampDocument:
    """A person stamps (seal:use). ``document`` is a seekable binary file (a BytesIO of an
    uploaded body, or an open file: it is read in chunks, never whole)."""

    actor_id: uuid.UUID
    seal_id: uuid.UUID
    business_system: str
    document: BinaryIO = field(repr=False)
    placement: Placement = Placement()
    profile: PadesProfile = PadesProfile.B_T
    name: str = "document.pdf"


@dataclass(frozen=True)
class SystemStamp:
    """A business system stamps by itself (seal:auto_stamp) for business in ``scope``."""

    system: BusinessSystem
    seal_id: uuid.UUID
    scope: str
    document: BinaryIO = field(repr=False)
    placement: Placement = Placement()
    profile: PadesProfile = PadesProfile.B_T
    name: str = "document.pdf"
    idempotency_key: str | None = None


CHUNK = 1 << 20


def _digest(file: BinaryIO) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    while chunk := file.read(CHUNK):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


@refusals_audited(AuditTag.SEAL_USE, lambda cmd: f"seal:{cmd.seal_id}")
def stamp_document(cmd: StampDocument, *, output: BinaryIO, caller: Caller,
                   uow: UnitOfWorkFactory, stamper: PdfStamper, clock: Clock, settings: Settings,
                   factory: CertificateFactory) -> StampRecord:
    """The stamped document is written to ``output`` (seekable, empty)."""
    user = seals.SealUser(cmd.actor_id, cmd.business_system)
    return _stamp(user, cmd.seal_id, cmd.document, output, cmd.placement, cmd.profile, cmd.name,
                  None, caller=caller, uow=uow, stamper=stamper, clock=clock, settings=settings,
                  factory=factory)


@refusals_audited(AuditTag.SEAL_AUTO_STAMP, lambda cmd: f"seal:{cmd.seal_id}")
def stamp_as_system(cmd: SystemStamp, *, output: BinaryIO, caller: Caller,
                    uow: UnitOfWorkFactory, stamper: PdfStamper, clock: Clock,
                    settings: Settings, factory: CertificateFactory) -> StampRecord:
    """The stamped document is written to ``output`` (seekable, empty)."""
    key = cmd.idempotency_key
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
        raise InvalidInput(f"an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} printable "
                           f"characters", code="stamp.idempotency_key")
    if key is not None:
        with uow() as tx:
            earlier = tx.stamps.by_idempotency_key(cmd.system.client_id, key)
        if earlier is not None:
            same = earlier.sha256_in == _digest(cmd.document)
            raise Conflict(
                f"idempotency key {key!r} was used at {show_time(earlier.created_at)} for stamp "
                f"{earlier.id} ({'the same document' if same else 'a different document'}; its "
                f"result has SHA-256 {earlier.sha256_out}); nothing was stamped again",
                code="stamp.replayed" if same else "stamp.idempotency_key_reused")
    user = seals.SealUser(cmd.system.id, cmd.system.client_id, automatic=True, scope=cmd.scope)
    return _stamp(user, cmd.seal_id, cmd.document, output, cmd.placement, cmd.profile, cmd.name,
                  key, caller=caller, uow=uow, stamper=stamper, clock=clock, settings=settings,
                  factory=factory)


def stamp_of(system: BusinessSystem, stamp_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> StampRecord:
    """A stamp the business system made by itself (any other is not found)."""
    with uow() as tx:
        record = tx.stamps.get(stamp_id)
    if record is None or record.actor != f"system:{system.client_id}":
        raise NotFound(f"no stamp {stamp_id} made by {system.client_id}", code="stamp.not_found")
    return record


def _stamp(user: seals.SealUser, seal_id: uuid.UUID, document: BinaryIO, output: BinaryIO,
           placement: Placement, profile: PadesProfile, name: str, idempotency_key: str | None,
           *, caller: Caller, uow: UnitOfWorkFactory, stamper: PdfStamper, clock: Clock,
           settings: Settings, factory: CertificateFactory) -> StampRecord:
    sealed = seal_document(user, seal_id, document, output, placement, profile, caller=caller,
                           uow=uow, stamper=stamper, clock=clock, settings=settings,
                           factory=factory)
    with uow(request_id=caller.request_id) as tx:
        record = record_stamp(tx, user, sealed, name, idempotency_key, caller=caller, clock=clock)
        tx.commit()
    return record


@dataclass(frozen=True)
class Sealed:
    """A document stamped but not yet recorded: the caller records it in its own transaction,
    with whatever else the stamp completes."""

    key: seals.StampingKey
    placement: Placement
    profile: PadesProfile
    sha256_in: str
    sha256_out: str


def seal_document(user: seals.SealUser, seal_id: uuid.UUID, document: BinaryIO,
                  output: BinaryIO, placement: Placement, profile: PadesProfile, *,
                  caller: Caller, uow: UnitOfWorkFactory, stamper: PdfStamper, clock: Clock,
                  settings: Settings, factory: CertificateFactory) -> Sealed:
    """Decide, then stamp ``document`` into ``output`` (both seekable files)."""
    size = document.seek(0, io.SEEK_END)
    if size > settings.max_document_bytes:
        raise PayloadTooLarge(f"the document has {size} bytes; the limit is "
                              f"{settings.max_document_bytes}", code="stamp.too_large")
    key = seals.stamping_key(user, seal_id, caller=caller, uow=uow, clock=clock)
    image = key.image
    crls = ([pki.current_crl(ca.value, uow=uow, factory=factory, clock=clock)
             for ca in (CaName.ORGANIZATION, CaName.ROOT)] if profile is PadesProfile.B_LT else [])
    sha256_in = _digest(document)
    stamper.stamp_stream(
        document, output, key_id=key.key_id, algorithm=key.certificate.algorithm,
        certificate=key.certificate.der, chain=[c.der for c in key.chain], image_png=image.png,
        size_mm=(image.width_mm, image.height_mm), placement=placement, profile=profile,
        field_name=f"yunzhang-seal-{secrets.token_hex(6)}", crls=crls)
    return Sealed(key, placement, profile, sha256_in, _digest(output))


def record_stamp(tx: UnitOfWork, user: seals.SealUser, sealed: Sealed, name: str,
                 idempotency_key: str | None = None, *, caller: Caller,
                 clock: Clock) -> StampRecord:
    """Record and audit a stamp inside the caller's unit of work."""
    key = sealed.key
    grant_id = None
    if user.automatic:
        # The count is taken after signing and only while the grant is active and not used
        # up, so concurrent stamps never exceed the maximum and a revocation made meanwhile
        # wins; the signed document is then dropped, never returned.
        grant_id = next((g for g in key.decision.grant_ids if tx.auto_stamp_grants.use_one(g)),
                        None)
        if grant_id is None:
            raise Conflict("the auto-stamp grant was used up or revoked while the document "
                           "was being stamped; nothing was stamped", code="grant.used_up")
    record = StampRecord(
        seal_id=key.seal.id, enterprise_id=key.seal.enterprise_id, actor=caller.actor,
        business_system=user.business_system, document_name=name[:200],
        sha256_in=sealed.sha256_in, sha256_out=sealed.sha256_out, profile=sealed.profile,
        created_at=clock.now(), auto_stamp_grant_id=grant_id, idempotency_key=idempotency_key)
    tx.stamps.add(record)
    tag = AuditTag.SEAL_AUTO_STAMP if user.automatic else AuditTag.SEAL_USE
    tx.audit.record(AuditRecord(tag, caller.actor, f"seal:{key.seal.id}", details={
        "stamp": str(record.id), "business_system": user.business_system,
        "document": record.document_name, "sha256_in": record.sha256_in,
        "sha256_out": record.sha256_out, "profile": sealed.profile.value,
        "placement": sealed.placement.describe(),
        "certificate": key.certificate.serial, "decision": key.decision.reason,
        **({"scope": user.scope, "auto_stamp_grant": grant_id} if user.automatic else {})}))
    return record
