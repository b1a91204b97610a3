"""Where and how a seal goes on a document: PAdES profile and visible placement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from yunzhang.errors import InvalidInput

MM_TO_PT = 72 / 25.4


class PadesProfile(StrEnum):
    """ETSI EN 319 142-1 baseline levels."""

    B_B = "B-B"
    B_T = "B-T"  # with a signature time-stamp from the platform TSA (the default)
    B_LT = "B-LT"  # B-T plus the certificates and CRLs to validate it later (the DSS)


MAX_KEYWORD = 50


@dataclass(frozen=True)
class Placement:
    """Where the seal goes, one of three ways:

    - at ``page`` (from 1), ``x_mm``/``y_mm`` from the page's top-left corner to the seal's
      top-left corner (as people measure a printed page);
    - on a ``keyword`` of the page text (e.g. "盖章处"): the seal centred on its first occurrence,
      searching from ``page`` on;
    - ``cross_page`` (骑缝章): the seal cut into one vertical strip per page, each strip on the
      right edge of its page, ``y_mm`` from the top, so the pages laid edge to edge show it whole.
    """

    page: int = 1
    x_mm: float = 20.0
    y_mm: float = 20.0
    keyword: str | None = None
    cross_page: bool = False

    def __post_init__(self) -> None:
        if self.page < 1:
            raise InvalidInput("pages count from 1", code="stamp.page")
        if not (0 <= self.x_mm <= 2000 and 0 <= self.y_mm <= 2000):
            raise InvalidInput("the position is in millimetres within the page", code="stamp.position")
        if self.keyword is not None:
            if not self.keyword.strip() or len(self.keyword) > MAX_KEYWORD or \
                    not self.keyword.isprintable():
                raise InvalidInput(f"a keyword is 1 to {MAX_KEYWORD} printable characters",
                                   code="stamp.keyword")
            if self.cross_page:
                raise InvalidInput("a cross-page seal (骑缝章) is not anchored to a keyword",
                                   code="stamp.placement")

    def describe(self) -> str:
        if self.cross_page:
            return f"cross-page seal {self.y_mm:g} mm from the top"
        if self.keyword is not None:
            return f"on the keyword {self.keyword!r} (from page {self.page})"
        return f"page {self.page} at {self.x_mm:g}, {self.y_mm:g} mm"


@dataclass(frozen=True)
class PreparedSignature:
    """A document made ready for a signature whose key is elsewhere (the person's phone): the
    device signs ``to_sign`` (the DER of the CMS signed attributes, which bind the document's
    digest and the signer's certificate); ``prepared`` and the reserved range are what the
    signature is then embedded into. The caller keeps this between the two steps."""

    prepared: bytes = field(repr=False)
    to_sign: bytes
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    certificate: bytes = field(repr=False)
    chain: tuple[bytes, ...] = field(repr=False)


@dataclass(eq=False)
class StampRecord:
    """One stamp made: who (a person or a business system), with which seal, on which document
    (its SHA-256 before and after). A business system's idempotency key is unique per system."""

    seal_id: uuid.UUID
    enterprise_id: uuid.UUID
    actor: str  # "person:<id>" or "system:<client id>"
    business_system: str
    document_name: str
    sha256_in: str
    sha256_out: str
    profile: PadesProfile
    created_at: datetime
    auto_stamp_grant_id: int | None = None
    idempotency_key: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
