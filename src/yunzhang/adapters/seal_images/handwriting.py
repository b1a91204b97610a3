"""A handwritten signature drawn on the phone or photographed on paper: the paper made
transparent, the ink made black, trimmed and fitted into the signature box."""

from __future__ import annotations

from PIL import Image

from yunzhang.adapters.seal_images.decoding import decode
from yunzhang.adapters.seal_images.molds import ink_alpha
from yunzhang.adapters.seal_images.png import to_png
from yunzhang.domain.handwriting import BOX_MM, DPI, HandwritingData
from yunzhang.errors import InvalidInput

BLACK = (20, 20, 20)
WORKING_SIDE = 2400


def handwriting(data: bytes, *, max_bytes: int, max_megapixels: float) -> HandwritingData:
    box = (round(BOX_MM[0] / 25.4 * DPI), round(BOX_MM[1] / 25.4 * DPI))
    photo = decode(data, max_bytes=max_bytes, max_megapixels=max_megapixels,
                   working_side=WORKING_SIDE)
    alpha = ink_alpha(photo.image)  # image.blank when nothing stands out from the paper
    bounds = alpha.point(lambda v: 255 if v >= 128 else 0).getbbox()
    if bounds is None:
        raise InvalidInput("no handwriting is visible on the picture", code="image.blank")
    alpha = alpha.crop(bounds)
    scale = min(box[0] / alpha.width, box[1] / alpha.height)
    fitted = alpha.resize((max(round(alpha.width * scale), 1), max(round(alpha.height * scale), 1)),
                          Image.Resampling.LANCZOS)
    mask = Image.new("L", box, 0)
    mask.paste(fitted, ((box[0] - fitted.width) // 2, (box[1] - fitted.height) // 2))
    return HandwritingData(png=to_png(mask, box, BLACK, DPI), width_px=box[0], height_px=box[1])
