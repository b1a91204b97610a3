"""The person's handwritten signature (手写签名): uploaded from the wallet, made transparent, and kept
only when the person-signing key of a current certificate signed the picture's digest."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.handwriting import BOX_MM, SignatureImage, binding_message
from yunzhang.domain.pki import CertStatus, Profile
from yunzhang.errors import Conflict, NotFound, PermissionDenied
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    DeviceKeys,
    SealArtist,
    UnitOfWorkFactory,
)


@dataclass(frozen=True)
class SetHandwriting:
    person_id: uuid.UUID
    picture: bytes = field(repr=False)  # PNG or JPEG, drawn or photographed
    certificate_serial: str
    proof: bytes = field(repr=False)  # binding_message(serial, sha256 of picture), signing key


@refusals_audited(AuditTag.HANDWRITING_SET, lambda cmd: f"person:{cmd.person_id}")
def set_handwriting(cmd: SetHandwriting, *, caller: Caller, uow: UnitOfWorkFactory,
                    clock: Clock, artist: SealArtist, factory: CertificateFactory,
                    device_keys: DeviceKeys) -> SignatureImage:
    now = clock.now()
    serial = cmd.certificate_serial.strip().lower()[:64]
    with uow() as tx:
        cert = next((c for c in tx.certificates.of_subject(f"person:{cmd.person_id}")
                     if c.serial.lower() == serial and c.profile is Profile.PERSON), None)
    if cert is None:
        raise NotFound(f"you have no personal certificate {serial}",
                       code="certificate.not_found")
    if cert.status is not CertStatus.GOOD or not cert.valid_at(now):
        raise Conflict(f"certificate {cert.serial} is not valid now",
                       code="certificate.revoked")
    digest = hashlib.sha256(cmd.picture).hexdigest()
    if not device_keys.verify(factory.public_key(cert.der), binding_message(cert.serial, digest),
                              cmd.proof):
        raise PermissionDenied("the proof is not this certificate's key's signature of the "
                               "picture", code="handwriting.proof")
    data = artist.handwriting(cmd.picture)
    image = SignatureImage(person_id=cmd.person_id, certificate_serial=cert.serial, png=data.png,
                           sha256=digest, proof=cmd.proof, width_mm=BOX_MM[0],
                           height_mm=BOX_MM[1], created_at=now)
    with uow(request_id=caller.request_id) as tx:
        tx.signature_images.add(image)
        tx.audit.record(AuditRecord(AuditTag.HANDWRITING_SET, caller.actor,
                                    f"person:{cmd.person_id}",
                                    details={"certificate": cert.serial, "sha256": digest}))
        tx.commit()
    return image


def current_handwriting(person_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> SignatureImage:
    with uow() as tx:
        image = tx.signature_images.current(person_id)
    if image is None:
        raise NotFound("no handwritten signature yet", code="handwriting.not_found")
    return image
