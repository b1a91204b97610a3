"""Photographed molds (seed 002 §4.1): cropped, turned, brightened and contrasted, the paper made
transparent and the ink recoloured, trimmed to the impression and fitted to the seal's size."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps

from yunzhang.adapters.seal_images.decoding import Photo, decode
from yunzhang.adapters.seal_images.png import check_dpi, to_png
from yunzhang.domain.seal_images import CropBox, MoldProcessing, SealImageData
from yunzhang.errors import InvalidInput

WORKING_SIDE = 2400  # photos are processed at about this size; the result is ~1000 px
MIN_CONTRAST = 48  # ink must stand this far (of 255) above the paper, else the photo is blank
MIN_INK = 0.002  # and cover at least this share of the picture
_TRANSPOSE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
              270: Image.Transpose.ROTATE_90}  # Pillow's ROTATE_n turns counter-clockwise


def process(data: bytes, processing: MoldProcessing, *, max_bytes: int,
            max_megapixels: float) -> SealImageData:
    check_dpi(processing.dpi)
    target = processing.size.pixels(processing.dpi)
    working = max(WORKING_SIDE, round(max(target) * 1.25))
    photo = decode(data, max_bytes=max_bytes, max_megapixels=max_megapixels,
                   working_side=working)
    image = _crop(photo, processing.crop)
    if processing.rotate:
        image = image.transpose(_TRANSPOSE[processing.rotate])
    image.thumbnail((working, working), Image.Resampling.LANCZOS)
    image = ImageEnhance.Brightness(image).enhance(processing.brightness)
    image = ImageEnhance.Contrast(image).enhance(processing.contrast)
    mask = fit(ink_alpha(image), target, "no seal impression is visible on the photo")
    return SealImageData(png=to_png(mask, target, processing.colour.rgb, processing.dpi),
                         width_px=target[0], height_px=target[1], dpi=processing.dpi,
                         shape=processing.shape, size=processing.size, colour=processing.colour)


def fit(alpha: Image.Image, target: tuple[int, int], blank: str) -> Image.Image:
    """The ink trimmed to its bounds and scaled, centred, into a ``target`` sized mask."""
    bounds = alpha.point(lambda v: 255 if v >= 128 else 0).getbbox()
    if bounds is None:
        raise InvalidInput(blank, code="image.blank")
    alpha = alpha.crop(bounds)
    scale = min(target[0] / alpha.width, target[1] / alpha.height)
    fitted = alpha.resize((max(round(alpha.width * scale), 1), max(round(alpha.height * scale), 1)),
                          Image.Resampling.LANCZOS)
    mask = Image.new("L", target, 0)
    mask.paste(fitted, ((target[0] - fitted.width) // 2, (target[1] - fitted.height) // 2))
    return mask


def _crop(photo: Photo, box: CropBox | None) -> Image.Image:
    """The crop box is in pixels of the upright photo as taken; the decoded image may be smaller
    (a large JPEG is decoded at a reduced scale), so the box is scaled to it."""
    image = photo.image
    if box is None:
        return image
    full_width, full_height = photo.full_size
    if box.left + box.width > full_width or box.top + box.height > full_height:
        raise InvalidInput(f"the crop box goes beyond the photo ({full_width}x{full_height} "
                           f"pixels once upright)", code="image.crop")
    sx, sy = image.width / full_width, image.height / full_height
    left, top = int(box.left * sx), int(box.top * sy)
    right = max(min(round((box.left + box.width) * sx), image.width), left + 1)
    bottom = max(min(round((box.top + box.height) * sy), image.height), top + 1)
    return image.crop((left, top, right, bottom))


def ink_alpha(image: Image.Image) -> Image.Image:
    """How much each pixel is ink (mode L, 255 = ink, 0 = paper).

    Inkness is the larger of darkness (255 - luminance: black and blue ink) and chroma (max - min
    of R, G, B: red ink, which is not very dark, on white or greyish paper), median-filtered
    against JPEG noise. Otsu's threshold (1979) splits the picture into paper and ink; alpha rises
    linearly from halfway between the paper's mean and the threshold to halfway between the
    threshold and the ink's mean, which keeps the edges smooth and faint ink partly visible."""
    red, green, blue = image.convert("RGB").split()
    highest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    lowest = ImageChops.darker(ImageChops.darker(red, green), blue)
    darkness = ImageOps.invert(image.convert("L"))
    inkness = ImageChops.lighter(darkness, ImageChops.subtract(highest, lowest))
    inkness = inkness.filter(ImageFilter.MedianFilter(3))
    split = otsu(inkness.histogram())
    if split is None:
        raise InvalidInput("no seal impression is visible on the photo", code="image.blank")
    threshold, paper, ink, share = split
    if ink - paper < MIN_CONTRAST or share < MIN_INK:
        raise InvalidInput("no seal impression is visible on the photo (nothing stands out "
                           "from the paper)", code="image.blank")
    low, high = (paper + threshold) / 2, (threshold + ink) / 2
    ramp = [0 if v <= low else 255 if v >= high else round(255 * (v - low) / (high - low))
            for v in range(256)]
    return inkness.point(ramp)


def otsu(histogram: list[int]) -> tuple[int, float, float, float] | None:
    """Otsu's threshold of a 256-bin histogram: the level that best splits it in two, the mean
    of each side (at or below, above) and the share of the upper side; None for a single level."""
    total = sum(histogram)
    weighted = sum(level * count for level, count in enumerate(histogram))
    best: tuple[float, int, float, float, float] | None = None
    below = 0
    below_weighted = 0.0
    for level, count in enumerate(histogram[:-1]):
        below += count
        below_weighted += level * count
        above = total - below
        if below == 0 or above == 0:
            continue
        mean_below = below_weighted / below
        mean_above = (weighted - below_weighted) / above
        spread = below * above * (mean_above - mean_below) ** 2
        if best is None or spread > best[0]:
            best = (spread, level, mean_below, mean_above, above / total)
    return None if best is None else best[1:]
