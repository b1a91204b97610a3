"""Where and how a seal goes on a document: PAdES profile and visible placement."""

from __future__ import annotations

from dataclasses import dataclass
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
