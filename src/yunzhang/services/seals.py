"""The seal lifecycle (seed 000 §4.4, 002 §4, 004 §2): apply with a mold or a generated image,
review, claim (key and certificate made), suspend, resume, revoke; the mold history."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.authz import Action, Decision, Resource
from yunzhang.domain.enterprises import Enterprise, clean_name
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import CaName, Certificate, DistinguishedName, Profile, RevocationReason
from yunzhang.domain.seal_images import MoldProcessing, SealColour, SealImageData, SealSize
from yunzhang.domain.seals import (
    ImageSource,
    ImageStatus,
    Seal,
    SealImage,
    SealType,
    default_seal_name,
    parse_filing_number,
    parse_seal_code,
    template_for,
)
from yunzhang.errors import Conflict, InvalidInput, NotFound
from yunzhang.domain.ids import Uscc
from yunzhang.services import authorization, pki
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.grants import enterprise_by_uscc, resource_of
from yunzhang.services.notifications import queue_sms
from yunzhang.services.ports import (
    CertificateFactory,
    Clock,
    KeyStore,
    SealArtist,
    UnitOfWork,
    UnitOfWorkFactory,
)


@dataclass(frozen=True)
class Generated:
    """Draw the image from the seal's template."""

    size: SealSize | None = None
    colour: SealColour = SealColour.RED


@dataclass(frozen=True)
class Uploaded:
    """A photograph of the physical mold, processed as seed 002 §4.1 describes."""

    photo: bytes
    processing: MoldProcessing


MoldSource = Generated | Uploaded


@dataclass(frozen=True)
class ApplySeal:
    actor_id: uuid.UUID
    uscc: str
    type_code: str
    mold: MoldSource
    name: str | None = None  # default from the type and the enterprise
    filing_number: str | None = None  # 公安备案号 of the physical seal
    seal_code: str | None = None  # 13-digit seal code


def _seal_type(tx: UnitOfWork, code: str) -> SealType:
    seal_type = tx.seal_types.get(code.strip())
    if seal_type is None:
        codes = ", ".join(t.code for t in tx.seal_types.all())
        raise NotFound(f"no seal type {code!r}; there are {codes}", code="seal_type.not_found")
    return seal_type


def _seal(tx: UnitOfWork, seal_id: uuid.UUID, *, lock: bool = False) -> tuple[Seal, Enterprise]:
    seal = tx.seals.get(seal_id, lock=lock)
    if seal is None:
        raise NotFound(f"no seal {seal_id}", code="seal.not_found")
    enterprise = tx.enterprises.get(seal.enterprise_id)
    assert enterprise is not None
    return seal, enterprise


def _image(seal_id: uuid.UUID, data: SealImageData, source: ImageSource, *, by: uuid.UUID,
           at: datetime) -> SealImage:
    return SealImage(seal_id=seal_id, source=source, png=data.png,
                     sha256=hashlib.sha256(data.png).hexdigest(), shape=data.shape,
                     width_mm=data.size.width_mm, height_mm=data.size.height_mm,
                     colour=data.colour, width_px=data.width_px, height_px=data.height_px,
                     dpi=data.dpi, uploaded_by=by, uploaded_at=at)


def _draw(mold: MoldSource, seal_type: SealType, enterprise: Enterprise, seal_code: str | None,
          artist: SealArtist) -> tuple[SealImageData, ImageSource]:
    if isinstance(mold, Uploaded):
        if mold.processing.shape is not seal_type.shape:
            raise InvalidInput(f"a {seal_type.name} ({seal_type.code}) is {seal_type.shape.value}; "
                               f"the mold was described as {mold.processing.shape.value}",
                               code="seal.shape")
        return artist.process(mold.photo, mold.processing), ImageSource.UPLOADED
    spec = template_for(seal_type, enterprise_name=enterprise.name, uscc=enterprise.uscc,
                        legal_rep_name=enterprise.legal_rep_name, seal_code=seal_code,
                        size=mold.size, colour=mold.colour)
    return artist.render(spec), ImageSource.GENERATED


@refusals_audited(AuditTag.SEAL_APPLY, lambda cmd: f"enterprise:{cmd.uscc}")
def apply_seal(cmd: ApplySeal, *, caller: Caller, uow: UnitOfWorkFactory, artist: SealArtist,
               clock: Clock) -> Seal:
    filing = parse_filing_number(cmd.filing_number)
    seal_code = parse_seal_code(cmd.seal_code)
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc)
        authorization.require(cmd.actor_id, Action.APPLY_SEAL, resource_of(enterprise), now,
                              tx=tx, caller=caller, uow=uow)
        seal_type = _seal_type(tx, cmd.type_code)
        if not seal_type.allows(enterprise.kind):
            raise InvalidInput(f"a {seal_type.name} ({seal_type.code}) is not for a "
                               f"{enterprise.kind.value}", code="seal.type_not_for_kind")
        if seal_type.filing_required and filing is None:
            raise InvalidInput(f"a {seal_type.name} must match a physical seal filed with the "
                               f"police: give its filing number (备案号)",
                               code="seal.filing_required")
        name = clean_name(cmd.name, what="seal name", code="seal.name", max_len=100) if cmd.name \
            else default_seal_name(seal_type, enterprise_name=enterprise.name,
                                   legal_rep_name=enterprise.legal_rep_name)
        data, source = _draw(cmd.mold, seal_type, enterprise, seal_code, artist)
        seal = Seal(enterprise_id=enterprise.id, name=name, type_code=seal_type.code,
                    applied_by=cmd.actor_id, applied_at=now, filing_number=filing,
                    seal_code=seal_code, updated_at=now)
        tx.seals.add(seal)
        image = _image(seal.id, data, source, by=cmd.actor_id, at=now)
        tx.seal_images.add(image)
        tx.audit.record(AuditRecord(AuditTag.SEAL_APPLY, caller.actor,
                                    f"enterprise:{enterprise.uscc}",
                                    details={"seal": str(seal.id), "name": name,
                                             "type": seal_type.code, "image": image.id,
                                             "source": source.value, "sha256": image.sha256}))
        tx.commit()
        return seal


@dataclass(frozen=True)
class UploadMold:
    actor_id: uuid.UUID
    seal_id: uuid.UUID
    mold: MoldSource


@refusals_audited(AuditTag.SEAL_UPLOAD_MOLD, lambda cmd: f"seal:{cmd.seal_id}")
def upload_mold(cmd: UploadMold, *, caller: Caller, uow: UnitOfWorkFactory, artist: SealArtist,
                clock: Clock) -> SealImage:
    """A new mold for a seal: reviewed like the first; until approved the seal keeps its image.
    A mold still waiting for review is replaced (kept in the history as superseded)."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        seal, enterprise = _seal(tx, cmd.seal_id, lock=True)
        authorization.require(cmd.actor_id, Action.APPLY_SEAL, resource_of(enterprise), now,
                              tx=tx, caller=caller, uow=uow)
        seal.mold_uploaded(now)
        seal_type = _seal_type(tx, seal.type_code)
        data, source = _draw(cmd.mold, seal_type, enterprise, seal.seal_code, artist)
        for old in tx.seal_images.of_seal(seal.id):
            if old.status is ImageStatus.PENDING:
                old.status = ImageStatus.SUPERSEDED
        image = _image(seal.id, data, source, by=cmd.actor_id, at=now)
        tx.seal_images.add(image)
        tx.audit.record(AuditRecord(AuditTag.SEAL_UPLOAD_MOLD, caller.actor, f"seal:{seal.id}",
                                    details={"image": image.id, "source": source.value,
                                             "sha256": image.sha256}))
        tx.commit()
        return image


@dataclass(frozen=True)
class ReviewMold:
    reviewer_id: uuid.UUID
    seal_id: uuid.UUID
    approve: bool
    reason: str | None = None  # required when rejecting; sent to the applicant


@refusals_audited(AuditTag.SEAL_REVIEW, lambda cmd: f"seal:{cmd.seal_id}")
def review_mold(cmd: ReviewMold, *, caller: Caller, uow: UnitOfWorkFactory,
                clock: Clock) -> SealImage:
    note = clean_name(cmd.reason, what="reason", code="seal.reason", max_len=500) \
        if (cmd.reason or "").strip() else None
    if not cmd.approve and note is None:
        raise InvalidInput("a rejection needs a reason for the applicant", code="seal.reason")
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        seal, enterprise = _seal(tx, cmd.seal_id, lock=True)
        authorization.require(cmd.reviewer_id, Action.REVIEW_SEAL, resource_of(enterprise), now,
                              tx=tx, caller=caller, uow=uow)
        images = tx.seal_images.of_seal(seal.id)
        pending = [i for i in images if i.status is ImageStatus.PENDING]
        if not pending:
            raise Conflict(f"seal {seal.id} has no mold waiting for review",
                           code="seal.nothing_to_review")
        image = pending[-1]
        if cmd.approve:
            for old in images:
                if old.status is ImageStatus.VALID:
                    old.status = ImageStatus.SUPERSEDED
        image.status = ImageStatus.VALID if cmd.approve else ImageStatus.REJECTED
        image.reviewed_by, image.reviewed_at, image.review_note = cmd.reviewer_id, now, note
        seal.mold_reviewed(approved=cmd.approve, by=cmd.reviewer_id, at=now, note=note)
        tx.audit.record(AuditRecord(AuditTag.SEAL_REVIEW, caller.actor, f"seal:{seal.id}",
                                    details={"image": image.id, "approved": cmd.approve,
                                             "reason": note, "uscc": enterprise.uscc}))
        applicant = tx.persons.get(image.uploaded_by)
        if applicant is not None:
            outcome = ("已通过审核，可以申领" if cmd.approve else f"未通过审核：{note}")
            queue_sms(tx, phone=applicant.phone, at=now,
                      body=f"【云章】{enterprise.name}的电子印章“{seal.name}”的印模{outcome}。")
        tx.commit()
        return image


@dataclass(frozen=True)
class ClaimSeal:
    actor_id: uuid.UUID
    seal_id: uuid.UUID


def seal_subject(seal: Seal, enterprise: Enterprise) -> DistinguishedName:
    """docs/pki.md: the enterprise (O, organizationIdentifier NTRCN-<USCC>), the seal type code
    (OU), the seal's name (CN) and the seal's id (serialNumber)."""
    return (("country_name", "CN"), ("organization_name", enterprise.name),
            ("organization_identifier", f"NTRCN-{enterprise.uscc}"),
            ("organizational_unit_name", seal.type_code), ("common_name", seal.name),
            ("serial_number", str(seal.id)))


@refusals_audited(AuditTag.SEAL_CLAIM, lambda cmd: f"seal:{cmd.seal_id}")
def claim_seal(cmd: ClaimSeal, *, caller: Caller, uow: UnitOfWorkFactory, keys: KeyStore,
               factory: CertificateFactory, clock: Clock, settings: Settings) -> Seal:
    """申领: the seal's key is made in the key store and certified; the seal turns red."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        seal, enterprise = _seal(tx, cmd.seal_id, lock=True)
        authorization.require(cmd.actor_id, Action.CLAIM_SEAL,
                              resource_of(enterprise, seal_id=str(seal.id)), now,
                              tx=tx, caller=caller, uow=uow)
        seal.check_claimable()
        pki.authority(tx, CaName.ORGANIZATION)  # before a key is made for nothing
        algorithm = KeyAlgorithm(settings.key_algorithm)
        with pki.new_key(keys, algorithm, label=f"seal:{seal.id}") as key:
            cert = pki.issue(tx, factory, issuer=CaName.ORGANIZATION,
                             profile=Profile.SEAL, subject=seal_subject(seal, enterprise),
                             public_key=key.public_key, algorithm=algorithm,
                             days=settings.seal_cert_days, subject_ref=f"seal:{seal.id}",
                             key_id=key.key_id, at=now, settings=settings)
            seal.claim(by=cmd.actor_id, at=now, key_id=key.key_id, certificate_id=cert.id)
            tx.audit.record(AuditRecord(AuditTag.SEAL_CLAIM, caller.actor, f"seal:{seal.id}",
                                        details={"certificate": cert.serial,
                                                 "uscc": enterprise.uscc}))
            tx.commit()
        return seal


@dataclass(frozen=True)
class ChangeSeal:
    actor_id: uuid.UUID
    seal_id: uuid.UUID
    reason: str = ""


_CHANGES = {"suspend": AuditTag.SEAL_SUSPEND, "resume": AuditTag.SEAL_RESUME,
            "revoke": AuditTag.SEAL_REVOKE}


@refusals_audited(AuditTag.SEAL_MANAGE, lambda change, cmd: f"seal:{cmd.seal_id}")
def change_seal(change: str, cmd: ChangeSeal, *, caller: Caller, uow: UnitOfWorkFactory,
                keys: KeyStore, factory: CertificateFactory, clock: Clock) -> Seal:
    """Suspend (stamping refused until resumed), resume, or revoke: the certificate is revoked
    and published in the CRL at once, then the key is destroyed. Takes effect on the next stamp."""
    tag = _CHANGES[change]
    reason = clean_name(cmd.reason, what="reason", code="seal.reason", max_len=500) \
        if cmd.reason.strip() else ""
    if change != "resume" and not reason:
        raise InvalidInput(f"say why the seal is to be {change}d", code="seal.reason")
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        seal, enterprise = _seal(tx, cmd.seal_id, lock=True)
        authorization.require(cmd.actor_id, Action.MANAGE_SEAL,
                              resource_of(enterprise, seal_id=str(seal.id)), now,
                              tx=tx, caller=caller, uow=uow)
        key_id = seal.key_id
        if change == "suspend":
            seal.suspend(at=now, reason=reason)
        elif change == "resume":
            seal.resume(at=now)
        else:
            seal.revoke(at=now, reason=reason)
            cert = tx.certificates.get(seal.certificate_id) if seal.certificate_id else None
            if cert is not None and cert.revoked_at is None:
                pki.revoke(tx, factory, cert, reason=RevocationReason.CESSATION_OF_OPERATION,
                           at=now)
        tx.audit.record(AuditRecord(tag, caller.actor, f"seal:{seal.id}",
                                    details={"reason": reason, "uscc": enterprise.uscc}))
        tx.commit()
    if change == "revoke" and key_id:
        keys.destroy(key_id)
    return seal


@dataclass(frozen=True)
class SealView:
    seal: Seal
    seal_type: SealType
    image: SealImage | None  # the valid image, else the latest one
    certificate: Certificate | None


def _view(tx: UnitOfWork, seal: Seal) -> SealView:
    images = tx.seal_images.of_seal(seal.id)
    valid = [i for i in images if i.status is ImageStatus.VALID]
    image = valid[-1] if valid else (images[-1] if images else None)
    cert = tx.certificates.get(seal.certificate_id) if seal.certificate_id else None
    seal_type = tx.seal_types.get(seal.type_code)
    assert seal_type is not None
    return SealView(seal, seal_type, image, cert)


def list_seals(viewer_id: uuid.UUID, uscc: str, *, caller: Caller, uow: UnitOfWorkFactory,
               clock: Clock) -> list[SealView]:
    """我的印章: every seal of the enterprise with its status (red, grey) and current image."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, uscc)
        authorization.require(viewer_id, Action.VIEW, resource_of(enterprise), now, tx=tx,
                              caller=caller, uow=uow)
        return [_view(tx, s) for s in tx.seals.of_enterprise(enterprise.id)]


def _may_see(tx: UnitOfWork, viewer_id: uuid.UUID, enterprise: Enterprise, *, caller: Caller,
             uow: UnitOfWorkFactory, clock: Clock) -> None:
    """Members see their enterprise's seals; seal reviewers see the seals they review."""
    now = clock.now()
    resource = resource_of(enterprise)
    if authorization.decide(viewer_id, Action.REVIEW_SEAL, resource, now, tx=tx).allowed:
        return
    authorization.require(viewer_id, Action.VIEW, resource, now, tx=tx, caller=caller, uow=uow)


def get_seal(viewer_id: uuid.UUID, seal_id: uuid.UUID, *, caller: Caller, uow: UnitOfWorkFactory,
             clock: Clock) -> tuple[SealView, list[SealImage]]:
    """One seal and its mold history (有效/无效上传记录), oldest first."""
    with uow(request_id=caller.request_id) as tx:
        seal, enterprise = _seal(tx, seal_id)
        _may_see(tx, viewer_id, enterprise, caller=caller, uow=uow, clock=clock)
        return _view(tx, seal), tx.seal_images.of_seal(seal.id)


def image_png(viewer_id: uuid.UUID, seal_id: uuid.UUID, image_id: int, *, caller: Caller,
              uow: UnitOfWorkFactory, clock: Clock) -> SealImage:
    with uow(request_id=caller.request_id) as tx:
        seal, enterprise = _seal(tx, seal_id)
        _may_see(tx, viewer_id, enterprise, caller=caller, uow=uow, clock=clock)
        image = tx.seal_images.get(image_id)
        if image is None or image.seal_id != seal.id:
            raise NotFound(f"seal {seal.id} has no image {image_id}", code="seal_image.not_found")
        return image


def pending_reviews(reviewer_id: uuid.UUID, *, caller: Caller, uow: UnitOfWorkFactory,
                    clock: Clock, limit: int = 100) -> list[tuple[SealView, Enterprise]]:
    """The reviewers' queue: seals with a mold waiting, oldest first."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        authorization.require(reviewer_id, Action.REVIEW_SEAL, resource_of_platform(), now,
                              tx=tx, caller=caller, uow=uow)
        seals = tx.seals.with_pending_molds(limit=limit)
        result = []
        for seal in seals:
            enterprise = tx.enterprises.get(seal.enterprise_id)
            assert enterprise is not None
            result.append((_view(tx, seal), enterprise))
        return result


def resource_of_platform() -> Resource:
    return Resource(enterprise_id=uuid.UUID(int=0), enterprise_name="the platform", uscc="platform")


def preview(photo: bytes, processing: MoldProcessing, *, artist: SealArtist) -> SealImageData:
    """The processed mold, not stored: for the upload page's preview (seed 002 §4.1 ②)."""
    return artist.process(photo, processing)


@dataclass(frozen=True)
class StampingKey:
    """What the signing engine needs to stamp with a seal: the key to sign with, the certificate
    and its chain up to the root; and the decision that allowed it."""

    seal: Seal
    key_id: str
    certificate: Certificate
    chain: list[Certificate]
    image: SealImage  # the seal's valid image
    decision: Decision


@dataclass(frozen=True)
class SealUser:
    """Who stamps: a person (seal:use, by seal grant or as legal representative), or a business
    system on its own (seal:auto_stamp, by an auto-stamp grant for ``scope``)."""

    actor_id: uuid.UUID
    business_system: str
    automatic: bool = False
    scope: str | None = None


def seal_id_of(reference: str, *, uow: UnitOfWorkFactory) -> uuid.UUID:
    """A seal named by its id, or as ``<USCC>:<type code>`` (e.g. ``91310115MA1K4DEM05:contract``):
    the enterprise's one usable seal of that type. Naming a seal decides nothing: using it does."""
    text = reference.strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    uscc, colon, type_code = text.partition(":")
    if not colon or not type_code:
        raise InvalidInput(f"{text[:80]!r} is neither a seal id (a UUID) nor <USCC>:<seal type> "
                           f"(e.g. 91310115MA1K4DEM05:contract)", code="seal.reference")
    with uow() as tx:
        enterprise = tx.enterprises.by_uscc(Uscc.parse(uscc).value)
        found = [s for s in tx.seals.of_enterprise(enterprise.id) if s.type_code == type_code
                 and s.status.can_stamp()] if enterprise else []
    if len(found) != 1:
        what = "no usable" if not found else f"{len(found)} usable"
        raise NotFound(f"{what} {type_code} seals at {uscc}; name the seal by its id",
                       code="seal.not_found")
    return found[0].id


def stamping_key(user: SealUser, seal_id: uuid.UUID, *, caller: Caller, uow: UnitOfWorkFactory,
                 clock: Clock) -> StampingKey:
    """May this person or system stamp with this seal in this business system now? The decision
    function first, then the seal itself: suspended or revoked seals and expired or revoked
    certificates are refused."""
    now = clock.now()
    action = Action.AUTO_STAMP if user.automatic else Action.USE_SEAL
    with uow(request_id=caller.request_id) as tx:
        seal, enterprise = _seal(tx, seal_id)
        decision = authorization.require(
            user.actor_id, action, resource_of(enterprise, seal_id=str(seal.id),
                                               business_system=user.business_system,
                                               scope=user.scope),
            now, tx=tx, caller=caller, uow=uow)
        seal.check_can_stamp()
        cert = tx.certificates.get(seal.certificate_id) if seal.certificate_id else None
        if cert is None or seal.key_id is None or not cert.valid_at(now):
            raise Conflict(f"the certificate of seal {seal.id} is not valid now; claim a new "
                           f"seal", code="seal.certificate_invalid")
        chain = [pki.authority(tx, CaName.ORGANIZATION)[1], pki.authority(tx, CaName.ROOT)[1]]
        valid = [i for i in tx.seal_images.of_seal(seal.id) if i.status is ImageStatus.VALID]
        assert valid, "an active seal has an approved image"
        return StampingKey(seal, seal.key_id, cert, chain, valid[-1], decision)
