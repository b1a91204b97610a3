"""Electronic seals (电子印章): types, the lifecycle from application to revocation, and molds.

Seed 000 §4.4 and 002 §4: apply (name, type, image) -> review -> SMS -> claim -> use; seed 004 §2:
a claimed seal shows red (usable), one still to be claimed grey; the official seal must match a
physical seal filed with the police (备案). Seed 002 §4.1 step 5: every uploaded mold is kept,
valid (the approved one in use) or not (superseded or rejected).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from yunzhang.domain.enterprises import EnterpriseKind
from yunzhang.domain.seal_images import SealColour, SealShape, SealSize, TemplateSpec
from yunzhang.errors import Conflict, InvalidInput


class SealStatus(StrEnum):
    PENDING_REVIEW = "pending_review"  # applied, mold waiting for a reviewer
    REJECTED = "rejected"  # the first mold was rejected; a new one may be uploaded
    APPROVED = "approved"  # grey: may be claimed (申领)
    ACTIVE = "active"  # red: claimed, key and certificate made
    SUSPENDED = "suspended"  # stamping refused until resumed
    REVOKED = "revoked"  # certificate revoked, key destroyed; final

    def can_stamp(self) -> bool:
        return self is SealStatus.ACTIVE

    @property
    def colour(self) -> str:
        """Seed 004 §2: red when usable, grey when it still has to be claimed."""
        return {SealStatus.ACTIVE: "red", SealStatus.APPROVED: "grey"}.get(self, "none")


class ImageStatus(StrEnum):
    PENDING = "pending"  # waiting for review
    VALID = "valid"  # 有效: approved, the seal's current image
    SUPERSEDED = "superseded"  # 无效: replaced by a later approved image
    REJECTED = "rejected"  # 无效: refused by a reviewer


class ImageSource(StrEnum):
    UPLOADED = "uploaded"  # a processed photograph of the physical mold
    GENERATED = "generated"  # drawn from a template


@dataclass(eq=False)
class SealType:
    """A kind of seal: the five built-in ones and any the operator adds."""

    code: str
    name: str  # Chinese name, e.g. 合同专用章
    shape: SealShape
    kinds: list[str]  # enterprise kinds allowed; empty means every kind
    filing_required: bool  # a physical-seal filing number (公安备案号) must be given
    builtin: bool
    created_at: datetime

    def allows(self, kind: EnterpriseKind) -> bool:
        return not self.kinds or kind.value in self.kinds

    @property
    def for_person(self) -> bool:
        return self.shape is SealShape.SQUARE


# Seed 000 §4.4, 004 §2; the issue names these five. The legal representative's name seal is not
# for individual businesses, which have an operator (经营者), not a legal representative.
BUILTIN_TYPES: tuple[tuple[str, str, SealShape, tuple[str, ...], bool], ...] = (
    ("official", "公章", SealShape.ROUND, (), True),
    ("contract", "合同专用章", SealShape.ROUND, (), False),
    ("finance", "财务专用章", SealShape.OVAL, (), False),
    ("invoice", "发票专用章", SealShape.OVAL, (), False),
    ("legal_rep_name", "法定代表人名章", SealShape.SQUARE,
     (EnterpriseKind.COMPANY.value, EnterpriseKind.FARMERS_COOPERATIVE.value,
      EnterpriseKind.SOCIAL_ORGANIZATION.value), False),
)

TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
FILING_NUMBER = re.compile(r"^[0-9A-Za-z-]{6,32}$")
SEAL_CODE = re.compile(r"^[0-9]{13}$")  # GA 241: the 13-digit seal code along the lower arc


def parse_filing_number(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not FILING_NUMBER.fullmatch(text):
        raise InvalidInput("the filing number (备案号) is 6-32 ASCII letters, digits or '-'",
                           code="seal.filing_number")
    return text


def parse_seal_code(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not SEAL_CODE.fullmatch(text):
        raise InvalidInput("the seal code (印章编码) is 13 ASCII digits", code="seal.code")
    return text


@dataclass(eq=False)
class SealImage:
    """One mold of a seal: kept for good, whatever became of it."""

    seal_id: uuid.UUID
    source: ImageSource
    png: bytes
    sha256: str
    shape: SealShape
    width_mm: float
    height_mm: float
    colour: SealColour
    width_px: int
    height_px: int
    dpi: int
    uploaded_by: uuid.UUID
    uploaded_at: datetime
    status: ImageStatus = ImageStatus.PENDING
    reviewed_by: uuid.UUID | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None
    id: int | None = None


@dataclass(eq=False)
class Seal:
    enterprise_id: uuid.UUID
    name: str
    type_code: str
    applied_by: uuid.UUID
    applied_at: datetime
    filing_number: str | None = None
    seal_code: str | None = None
    status: SealStatus = SealStatus.PENDING_REVIEW
    reviewed_by: uuid.UUID | None = None
    reviewed_at: datetime | None = None
    claimed_by: uuid.UUID | None = None
    claimed_at: datetime | None = None
    key_id: str | None = None
    certificate_id: uuid.UUID | None = None
    status_reason: str | None = None
    updated_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def _conflict(self, doing: str) -> Conflict:
        return Conflict(f"seal {self.id} is {self.status.value.replace('_', ' ')}; it cannot be "
                        f"{doing}", code="seal.state")

    def mold_reviewed(self, *, approved: bool, by: uuid.UUID, at: datetime, note: str | None) -> None:
        """A reviewer decided on a pending mold. The seal's state changes only while it waits
        for its first approval; later molds replace the image of a seal in use."""
        if self.status in (SealStatus.PENDING_REVIEW, SealStatus.REJECTED):
            self.status = SealStatus.APPROVED if approved else SealStatus.REJECTED
            self.reviewed_by, self.reviewed_at = by, at
            self.status_reason = None if approved else note
        self.updated_at = at

    def mold_uploaded(self, at: datetime) -> None:
        if self.status is SealStatus.REVOKED:
            raise self._conflict("given a new mold")
        if self.status is SealStatus.REJECTED:
            self.status = SealStatus.PENDING_REVIEW
        self.updated_at = at

    def claim(self, *, by: uuid.UUID, at: datetime, key_id: str, certificate_id: uuid.UUID) -> None:
        self.check_claimable()
        self.status = SealStatus.ACTIVE
        self.claimed_by, self.claimed_at = by, at
        self.key_id, self.certificate_id = key_id, certificate_id
        self.updated_at = at

    def check_claimable(self) -> None:
        if self.status is SealStatus.APPROVED:
            return
        if self.status in (SealStatus.ACTIVE, SealStatus.SUSPENDED):
            raise Conflict(f"seal {self.id} has already been claimed", code="seal.already_claimed")
        if self.status is SealStatus.PENDING_REVIEW:
            raise Conflict(f"seal {self.id} is waiting for review; it can be claimed once a "
                           f"reviewer approves its mold", code="seal.not_approved")
        raise self._conflict("claimed")

    def suspend(self, *, at: datetime, reason: str) -> None:
        if self.status is not SealStatus.ACTIVE:
            raise self._conflict("suspended")
        self.status, self.status_reason, self.updated_at = SealStatus.SUSPENDED, reason, at

    def resume(self, *, at: datetime) -> None:
        if self.status is not SealStatus.SUSPENDED:
            raise self._conflict("resumed")
        self.status, self.status_reason, self.updated_at = SealStatus.ACTIVE, None, at

    def revoke(self, *, at: datetime, reason: str) -> None:
        if self.status is SealStatus.REVOKED:
            raise self._conflict("revoked again")
        self.status, self.status_reason, self.updated_at = SealStatus.REVOKED, reason, at

    def check_can_stamp(self) -> None:
        if not self.status.can_stamp():
            why = f" ({self.status_reason})" if self.status_reason else ""
            raise Conflict(f"seal {self.id} is {self.status.value.replace('_', ' ')}{why}; "
                           f"stamping with it is refused", code="seal.not_usable")


DEFAULT_SIZES = {SealShape.ROUND: (42.0, 42.0), SealShape.OVAL: (40.0, 30.0),
                 SealShape.SQUARE: (20.0, 20.0)}


def default_seal_name(seal_type: SealType, *, enterprise_name: str, legal_rep_name: str) -> str:
    """公章 carries the enterprise name alone; special-purpose seals add their purpose; a name
    seal carries the person's name."""
    if seal_type.for_person:
        return legal_rep_name
    if seal_type.code == "official":
        return enterprise_name
    return f"{enterprise_name}{seal_type.name}"


def template_for(seal_type: SealType, *, enterprise_name: str, uscc: str, legal_rep_name: str,
                 seal_code: str | None, size: SealSize | None,
                 colour: SealColour = SealColour.RED) -> TemplateSpec:
    """The generated image of a seal of this type (GA 241-2000's layout, simplified): the
    enterprise name on the upper arc, the purpose below the star, the seal code on the lower arc;
    the invoice seal carries the taxpayer number (the USCC) across its centre."""
    width, height = DEFAULT_SIZES[seal_type.shape]
    size = size or SealSize.of(width, height)
    if seal_type.shape is SealShape.SQUARE:
        return TemplateSpec(shape=seal_type.shape, size=size, upper_text=legal_rep_name,
                            colour=colour)
    lower = "" if seal_type.code == "official" else seal_type.name
    middle = uscc if seal_type.code == "invoice" else ""
    code = (seal_code or "") if seal_type.shape is SealShape.ROUND else ""
    return TemplateSpec(shape=seal_type.shape, size=size, upper_text=enterprise_name,
                        lower_text=lower, middle_text=middle, code=code, colour=colour)
