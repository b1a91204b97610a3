"""The finished seal image: an ink mask coloured in one colour on a transparent PNG with its dpi."""

from __future__ import annotations

import io
import math

from PIL import Image

from yunzhang.domain.seal_images import MIN_DPI
from yunzhang.errors import InvalidInput

MAX_DPI = 1200  # an 80 mm seal at 1200 dpi is 3780 px square; beyond that only memory grows
_METRES_PER_INCH = 0.0254


def check_dpi(dpi: int) -> None:
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise InvalidInput(f"seal images are made at {MIN_DPI} to {MAX_DPI} dpi, not {dpi}",
                           code="image.dpi")


def to_png(mask: Image.Image, size: tuple[int, int], colour: tuple[int, int, int],
           dpi: int) -> bytes:
    """The ink mask (mode L, 255 = ink) scaled to ``size`` and coloured: every pixel has the
    colour's RGB, the mask is the alpha. No metadata but the resolution."""
    alpha = mask if mask.size == size else mask.resize(size, Image.Resampling.LANCZOS)
    image = Image.new("RGBA", size, (*colour, 0))
    image.putalpha(alpha)
    # PNG stores pixels per metre as an integer; rounding up means the file never reads as less
    # than the dpi asked for (600 dpi is 23623 px/m, read back as 600.02 dpi, not 599.9988).
    per_metre = math.ceil(dpi / _METRES_PER_INCH)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(per_metre * _METRES_PER_INCH,) * 2, optimize=True)
    return out.getvalue()
