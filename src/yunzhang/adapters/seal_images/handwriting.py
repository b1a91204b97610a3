"""A handwritten signature drawn on the phone or photographed on paper: the paper made
transparent, the ink made black, trimmed and fitted into the signature box."""

from __future__ import annotations

from yunzhang.adapters.seal_images.decoding import decode
from yunzhang.adapters.seal_images.molds import fit, ink_alpha
from yunzhang.adapters.seal_images.png import to_png
from yunzhang.domain.handwriting import BOX_MM, DPI, HandwritingData

BLACK = (20, 20, 20)
WORKING_SIDE = 2400


def handwriting(data: bytes, *, max_bytes: int, max_megapixels: float) -> HandwritingData:
    box = (round(BOX_MM[0] / 25.4 * DPI), round(BOX_MM[1] / 25.4 * DPI))
    photo = decode(data, max_bytes=max_bytes, max_megapixels=max_megapixels,
                   working_side=WORKING_SIDE)
    # ink_alpha refuses a picture where nothing stands out from the paper (image.blank).
    mask = fit(ink_alpha(photo.image), box, "no handwriting is visible on the picture")
    return HandwritingData(png=to_png(mask, box, BLACK, DPI), width_px=box[0], height_px=box[1])
