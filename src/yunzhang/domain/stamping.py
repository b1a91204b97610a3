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


@dataclass(frozen=True)
class Placement:
    """The seal's position on a page, in millimetres from the page's top-left corner (as people
    measure a printed page); ``page`` counts from 1."""

    page: int = 1
    x_mm: float = 20.0
    y_mm: float = 20.0

    def __post_init__(self) -> None:
        if self.page < 1:
            raise InvalidInput("pages count from 1", code="stamp.page")
        if not (0 <= self.x_mm <= 2000 and 0 <= self.y_mm <= 2000):
            raise InvalidInput("the position is in millimetres within the page", code="stamp.position")


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
