"""用印: a seal applied to a PDF as a PAdES signature with the seal's image, by a person the
decision function allows to use that seal in that business system, now."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import PayloadTooLarge
from yunzhang.services import seals
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import Clock, PdfStamper, UnitOfWorkFactory


@dataclass(frozen=True)
class StampDocument:
    actor_id: uuid.UUID
    seal_id: uuid.UUID
    business_system: str
    document: bytes = field(repr=False)
    placement: Placement = Placement()
    profile: PadesProfile = PadesProfile.B_T
    name: str = "document.pdf"


@refusals_audited(AuditTag.SEAL_USE, lambda cmd: f"seal:{cmd.seal_id}")
def stamp_document(cmd: StampDocument, *, caller: Caller, uow: UnitOfWorkFactory,
                   stamper: PdfStamper, clock: Clock, settings: Settings) -> bytes:
    if len(cmd.document) > settings.max_document_bytes:
        raise PayloadTooLarge(f"the document has {len(cmd.document)} bytes; the limit is "
                              f"{settings.max_document_bytes}", code="stamp.too_large")
    key = seals.stamping_key(cmd.actor_id, cmd.seal_id, cmd.business_system, caller=caller,
                             uow=uow, clock=clock)
    image = key.image
    signed = stamper.stamp(
        cmd.document, key_id=key.key_id, algorithm=key.certificate.algorithm,
        certificate=key.certificate.der, chain=[c.der for c in key.chain], image_png=image.png,
        size_mm=(image.width_mm, image.height_mm), placement=cmd.placement, profile=cmd.profile,
        field_name=f"yunzhang-seal-{secrets.token_hex(6)}")
    with uow(request_id=caller.request_id) as tx:
        tx.audit.record(AuditRecord(AuditTag.SEAL_USE, caller.actor, f"seal:{key.seal.id}", details={
            "business_system": cmd.business_system, "document": cmd.name[:200],
            "sha256_in": hashlib.sha256(cmd.document).hexdigest(),
            "sha256_out": hashlib.sha256(signed).hexdigest(), "profile": cmd.profile.value,
            "page": cmd.placement.page, "certificate": key.certificate.serial}))
        tx.commit()
    return signed
