"""What a seal image is made of: generated templates and the processing of a photographed mold.

Pure descriptions; the drawing is done by an adapter (Pillow) behind ``services.ports.SealArtist``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from yunzhang.errors import InvalidInput

MIN_DPI = 600  # issue 4: transparent PNG at >= 600 dpi
MM_PER_INCH = 25.4


class SealShape(StrEnum):
    ROUND = "round"  # 公章, 合同专用章
    OVAL = "oval"  # 财务专用章, 发票专用章
    SQUARE = "square"  # 法定代表人名章 (a person's name seal)


class SealColour(StrEnum):
    """Seed 002 §4.1 ②: four colours to choose from when processing a mold."""

    RED = "red"
    BLUE = "blue"
    BLACK = "black"
    PURPLE = "purple"

    @property
    def rgb(self) -> tuple[int, int, int]:
        return _RGB[self]


_RGB = {
    SealColour.RED: (230, 0, 18),
    SealColour.BLUE: (0, 64, 200),
    SealColour.BLACK: (20, 20, 20),
    SealColour.PURPLE: (120, 30, 160),
}


@dataclass(frozen=True)
class SealSize:
    """Physical size in millimetres (width x height; equal for round and square seals)."""

    width_mm: float
    height_mm: float

    @classmethod
    def of(cls, width_mm: float, height_mm: float | None = None) -> SealSize:
        height = width_mm if height_mm is None else height_mm
        for value in (width_mm, height):
            if not 10 <= value <= 80:
                raise InvalidInput("seal sizes are between 10 mm and 80 mm", code="seal.size")
        return cls(float(width_mm), float(height))

    def pixels(self, dpi: int = MIN_DPI) -> tuple[int, int]:
        return (round(self.width_mm / MM_PER_INCH * dpi), round(self.height_mm / MM_PER_INCH * dpi))


@dataclass(frozen=True)
class TemplateSpec:
    """A generated seal image.

    round: ``upper_text`` along the upper arc, a five-pointed star in the centre, ``lower_text``
    horizontally below the star, ``code`` (13 digits, optional) along the lower arc.
    oval: ``upper_text`` along the upper arc, ``middle_text`` (the invoice seal's tax number)
    across the centre, ``lower_text`` below it.
    square: ``upper_text`` is a person's name, drawn in columns right to left, with 印 added
    to fill the square when the name has two or three characters.
    """

    shape: SealShape
    size: SealSize
    upper_text: str
    lower_text: str = ""
    middle_text: str = ""
    code: str = ""
    colour: SealColour = SealColour.RED
    dpi: int = MIN_DPI


@dataclass(frozen=True)
class CropBox:
    """In pixels of the photo after its EXIF orientation is applied."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class MoldProcessing:
    """Seed 002 §4.1 ①-③: crop, rotate by 90° steps, brightness and contrast, transparent
    background, one of four colours; the seal's shape and physical size are recorded."""

    shape: SealShape
    size: SealSize
    crop: CropBox | None = None
    rotate: int = 0  # degrees clockwise: 0, 90, 180 or 270
    brightness: float = 1.0  # 1.0 leaves it unchanged; 0.2 .. 3.0
    contrast: float = 1.0  # 0.2 .. 3.0
    colour: SealColour = SealColour.RED
    dpi: int = MIN_DPI

    def __post_init__(self) -> None:
        if self.rotate not in (0, 90, 180, 270):
            raise InvalidInput("rotate must be 0, 90, 180 or 270 degrees", code="image.rotate")
        for name in ("brightness", "contrast"):
            if not 0.2 <= getattr(self, name) <= 3.0:
                raise InvalidInput(f"{name} must be between 0.2 and 3.0", code=f"image.{name}")
        if self.crop is not None and (self.crop.width < 1 or self.crop.height < 1
                                      or self.crop.left < 0 or self.crop.top < 0):
            raise InvalidInput("the crop box must lie inside the photo", code="image.crop")


@dataclass(frozen=True)
class SealImageData:
    """A finished seal image: transparent PNG bytes and what they measure."""

    png: bytes
    width_px: int
    height_px: int
    dpi: int
    shape: SealShape
    size: SealSize
    colour: SealColour
