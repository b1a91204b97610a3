"""Photographed molds (seed 002 §4.1): decoded defensively, then cropped, turned, brightened,
contrasted, the paper made transparent and the ink recoloured, trimmed and sized."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageEnhance, ImageFile, ImageOps

from yunzhang.adapters.seal_images.templates import to_png
from yunzhang.domain.seal_images import MoldProcessing, SealImageData
from yunzhang.errors import InvalidInput, PayloadTooLarge

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated upload is an error, never half an image
WORKING_SIDE = 2400  # photos are processed at most this large; the result is ~1000 px
_TRANSPOSE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
              270: Image.Transpose.ROTATE_90}


def _kind(data: bytes) -> str | None:
    """PNG or JPEG by their signatures; anything else named for the message."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    return None


def _what(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if not data:
        return "an empty file"
    if b"<svg" in head or head.startswith(b"<?xml"):
        return "SVG (vector images, which may carry scripts, are not accepted)"
    for magic, label in ((b"gif8", "GIF"), (b"ii*\x00", "TIFF"), (b"mm\x00*", "TIFF"),
                         (b"%pdf", "PDF"), (b"riff", "RIFF/WebP"), (b"bm", "BMP")):
        if head.startswith(magic):
            return label
    return "not an image"


def decode(photo: bytes, *, max_bytes: int, max_megapixels: float) -> Image.Image:
    if len(photo) > max_bytes:
        raise PayloadTooLarge(f"the photo has {len(photo)} bytes; the limit is {max_bytes}",
                              code="image.too_large")
    kind = _kind(photo)
    if kind is None:
        raise InvalidInput(f"upload a PNG or JPEG photo of the mold; this is {_what(photo)}",
                           code="image.unsupported")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(photo), formats=[kind])
            width, height = image.size  # from the header: nothing is decoded yet
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidInput(f"the {kind} declares more pixels than any photo of a seal has "
                               f"(a decompression bomb?)", code="image.too_many_pixels") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise InvalidInput(f"the {kind} file is damaged and cannot be read",
                               code="image.corrupt") from None
        megapixels = width * height / 1e6
        if megapixels > max_megapixels:
            raise InvalidInput(f"the photo has {megapixels:.1f} megapixels; the limit is "
                               f"{max_megapixels:g}: take it at a lower resolution or crop it",
                               code="image.too_many_pixels")
        try:
            if kind == "JPEG" and max(width, height) > WORKING_SIDE:
                image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))  # decode at a reduced scale
            image.load()
            return ImageOps.exif_transpose(image) or image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidInput("the image decompresses to too many pixels",
                               code="image.too_many_pixels") from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise InvalidInput(f"the {kind} file is damaged or truncated and cannot be read "
                               f"({type(exc).__name__})", code="image.corrupt") from None


def _otsu(histogram: list[int]) -> int:
    """The threshold that best splits the histogram in two (Otsu, 1979)."""
    total = sum(histogram)
    weighted = sum(i * h for i, h in enumerate(histogram))
    best, threshold, below, below_weighted = -1.0, 128, 0, 0.0
    for i, count in enumerate(histogram):
        below += count
        if below == 0:
            continue
        above = total - below
        if above == 0:
            break
        below_weighted += i * count
        mean_below = below_weighted / below
        mean_above = (weighted - below_weighted) / above
        spread = below * above * (mean_below - mean_above) ** 2
        if spread > best:
            best, threshold = spread, i
    return threshold


def process(photo: bytes, processing: MoldProcessing, *, max_bytes: int,
            max_megapixels: float) -> SealImageData:
    image = decode(photo, max_bytes=max_bytes, max_megapixels=max_megapixels)
    if image.mode in ("RGBA", "LA", "P"):
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = flat
    image = image.convert("RGB")
    if processing.crop is not None:
        box = processing.crop
        if box.left + box.width > image.width or box.top + box.height > image.height:
            raise InvalidInput(f"the crop box goes beyond the photo ({image.width}x{image.height} "
                               f"pixels after its orientation)", code="image.crop")
        image = image.crop((box.left, box.top, box.left + box.width, box.top + box.height))
    if processing.rotate:
        image = image.transpose(_TRANSPOSE[processing.rotate])
    image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
    image = ImageEnhance.Brightness(image).enhance(processing.brightness)
    image = ImageEnhance.Contrast(image).enhance(processing.contrast)
    # Ink is what is darker than the paper: red ink has a low luminance on white paper.
    darkness = ImageOps.invert(image.convert("L"))
    threshold = _otsu(darkness.histogram())
    low, high = max(threshold - 12, 0), min(threshold + 24, 255)
    alpha = darkness.point(lambda v: 0 if v <= low else 255 if v >= high
                           else int(255 * (v - low) / (high - low)))
    solid = alpha.point(lambda v: 255 if v > 128 else 0)
    inked = solid.histogram()[255]
    extrema = darkness.getextrema()
    spread = int(extrema[1]) - int(extrema[0])  # type: ignore[arg-type]
    if high - low < 8 or inked < 0.002 * alpha.width * alpha.height or spread < 40:
        raise InvalidInput("no seal impression is visible on the photo", code="image.blank")
    bounds = solid.getbbox()
    assert bounds is not None
    alpha = alpha.crop(bounds)
    target = processing.size.pixels(processing.dpi)
    scale = min(target[0] / alpha.width, target[1] / alpha.height)
    fitted = alpha.resize((max(int(alpha.width * scale), 1), max(int(alpha.height * scale), 1)),
                          Image.Resampling.LANCZOS)
    mask = Image.new("L", target, 0)
    mask.paste(fitted, ((target[0] - fitted.width) // 2, (target[1] - fitted.height) // 2))
    return SealImageData(png=to_png(mask, target, processing.colour.rgb, processing.dpi),
                         width_px=target[0], height_px=target[1], dpi=processing.dpi,
                         shape=processing.shape, size=processing.size, colour=processing.colour)
