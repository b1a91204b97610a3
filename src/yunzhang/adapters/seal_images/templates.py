"""Generated seal images: round (公章, 合同专用章), oval (财务/发票专用章), square (name seal).

Drawn as an ink mask at up to three times the size and scaled down (antialiased edges), then
coloured: a transparent PNG at the asked dpi. The layout follows the usual specimens, simplified:
a 1.2 mm ring; the enterprise name along the upper arc, upright along the radius and condensed
when long; a five-pointed star a quarter of the diameter wide; the purpose (合同专用章) below it;
the 13-digit seal code along the lower arc. The oval invoice seal carries the taxpayer number
across its centre. Measurements are in millimetres of the seal (docs/seal-images.md).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from yunzhang.adapters.seal_images.fonts import SealFont
from yunzhang.adapters.seal_images.png import check_dpi, to_png
from yunzhang.domain.seal_images import MM_PER_INCH, SealImageData, SealShape, TemplateSpec
from yunzhang.errors import InvalidInput

MAX_ARC_CHARS = 40
MIN_GLYPH_MM = 1.5  # smaller lettering is not legible on a printed seal
MIN_SQUEEZE = 0.5  # a line may be condensed to half its natural width, not more
MARGIN_MM = 0.25  # between the ring and the image's edge, so the antialiasing is not cut
GAP_MM = 0.5  # between the ring and the lettering
_ARC_SAMPLES = 1440


@dataclass(frozen=True)
class _Sheet:
    image: Image.Image  # mode L, 255 = ink
    draw: ImageDraw.ImageDraw
    px: float  # pixels per millimetre
    width_mm: float
    height_mm: float


def render(spec: TemplateSpec, font: SealFont) -> SealImageData:
    check_dpi(spec.dpi)
    upper = spec.upper_text.strip()
    if not upper:
        raise InvalidInput("a seal needs its text: the enterprise or the person's name",
                           code="seal.text_empty")
    if len(upper) > MAX_ARC_CHARS:
        raise InvalidInput(f"{len(upper)} characters do not fit on a seal (at most "
                           f"{MAX_ARC_CHARS})", code="seal.text_too_long")
    final = spec.size.pixels(spec.dpi)
    factor = max(1, min(3, 6000 // max(final)))  # supersampling, bounded in memory
    image = Image.new("L", (final[0] * factor, final[1] * factor), 0)
    sheet = _Sheet(image, ImageDraw.Draw(image), spec.dpi / MM_PER_INCH * factor,
                   spec.size.width_mm, spec.size.height_mm)
    if spec.shape is SealShape.SQUARE:
        _name_seal(sheet, font, upper)
    else:
        font.require(upper + spec.lower_text + spec.middle_text + spec.code)
        _ringed(sheet, font, spec, upper)
    return SealImageData(png=to_png(image, final, spec.colour.rgb, spec.dpi),
                         width_px=final[0], height_px=final[1], dpi=spec.dpi, shape=spec.shape,
                         size=spec.size, colour=spec.colour)


def _border_mm(sheet: _Sheet) -> float:
    return 1.2 * min(1.0, min(sheet.width_mm, sheet.height_mm) / 30)


def _ringed(sheet: _Sheet, font: SealFont, spec: TemplateSpec, upper: str) -> None:
    """Round and oval seals."""
    w, h, px = sheet.width_mm, sheet.height_mm, sheet.px
    border = _border_mm(sheet)
    sheet.draw.ellipse((MARGIN_MM * px, MARGIN_MM * px, (w - MARGIN_MM) * px,
                        (h - MARGIN_MM) * px), outline=255, width=max(round(border * px), 1))
    ia, ib = w / 2 - MARGIN_MM - border, h / 2 - MARGIN_MM - border  # inside the ring
    round_seal = spec.shape is SealShape.ROUND
    n = len(upper)
    span = min(max(150 + 7.5 * n, 210), 240) if round_seal else min(max(140 + 7.5 * n, 190), 220)
    aspect = 1.0 if n <= 8 else 0.8  # long names are condensed, as seal lettering is
    size = 0.3 * min(ia, ib)
    for _ in range(3):  # the lettering's size and the radius it runs at depend on each other
        inset = GAP_MM + size / 2
        advance = _arc_length(ia - inset, ib - inset, span) / n
        size = min(0.3 * min(ia, ib), advance * 0.9 / aspect)
    if size < MIN_GLYPH_MM:
        raise InvalidInput(f"{n} characters do not fit on a {w:g} x {h:g} mm seal",
                           code="seal.text_too_long")
    inset = GAP_MM + size / 2
    _arc(sheet, font, upper, (ia - inset, ib - inset), span, size, aspect, lower=False)
    d = min(w, h)
    if round_seal:
        _star(sheet, d / 8)
        _line(sheet, font, spec.lower_text, "lower_text", y=0.52 * ib, size=0.11 * d,
              max_width=0.62 * 2 * math.sqrt(max(ia**2 - (0.52 * ib) ** 2, 0)))
        if spec.code:
            digit = 0.055 * d
            radii = (ia - GAP_MM - digit / 2, ib - GAP_MM - digit / 2)
            code_span = math.degrees(len(spec.code) * digit * 0.72 / min(radii))
            if code_span > 150:
                raise InvalidInput(f"the seal code ({len(spec.code)} characters) does not fit "
                                   f"along the lower arc", code="seal.text_too_long")
            _arc(sheet, font, spec.code, radii, code_span, digit, 0.8, lower=True)
    else:
        _line(sheet, font, spec.middle_text, "middle_text", y=0.0, size=0.1 * h,
              max_width=0.65 * 2 * ia)
        y = 0.5 * ib
        _line(sheet, font, spec.lower_text, "lower_text", y=y, size=0.14 * h,
              max_width=0.6 * 2 * ia * math.sqrt(max(1 - (y / ib) ** 2, 0)))


def _arc_length(a: float, b: float, span: float) -> float:
    return _arc_table(a, b, span)[1][-1]


def _arc_table(a: float, b: float, span: float) -> tuple[list[float], list[float]]:
    """Parameters t (radians, 0 = top) over ``span`` degrees, and the path length up to each."""
    start = math.radians(-span / 2)
    step = math.radians(span) / _ARC_SAMPLES
    ts = [start + step * i for i in range(_ARC_SAMPLES + 1)]
    lengths = [0.0]
    for t0, t1 in zip(ts, ts[1:]):
        lengths.append(lengths[-1] + math.hypot(a * (math.sin(t1) - math.sin(t0)),
                                                b * (math.cos(t1) - math.cos(t0))))
    return ts, lengths


def _arc(sheet: _Sheet, font: SealFont, text: str, radii: tuple[float, float], span: float,
         size: float, aspect: float, *, lower: bool) -> None:
    """Characters spread evenly by path length over ``span`` degrees of the upper (or lower)
    half of an ellipse with semi-axes ``radii`` (mm), centred on the sheet, each turned so that
    its top points out (upper arc) or in (lower arc); both read left to right."""
    a, b = radii
    ts, lengths = _arc_table(a, b, span)
    cx, cy = sheet.width_mm / 2, sheet.height_mm / 2
    for i, ch in enumerate(text):
        at = lengths[-1] * (i + 0.5) / len(text)
        t = ts[min(bisect.bisect_left(lengths, at), len(ts) - 1)]
        x, y = a * math.sin(t), -b * math.cos(t)
        turn = math.degrees(math.atan2(math.sin(t) / a, math.cos(t) / b))  # from up, clockwise
        if lower:
            y, turn = -y, -turn
        glyph = _glyph(font, ch, size * sheet.px, aspect)
        if glyph is not None:
            _paste(sheet, glyph.rotate(-turn, resample=Image.Resampling.BICUBIC, expand=True),
                   (cx + x, cy + y))


def _glyph(font: SealFont, text: str, pixels: float, aspect: float) -> Image.Image | None:
    """The text's ink, cropped to it, narrowed to ``aspect`` of its width; None if it has none."""
    face = font.sized(round(pixels))
    left, top, right, bottom = face.getbbox(text)
    if right <= left or bottom <= top:
        return None
    ink = Image.new("L", (int(right - left) + 2, int(bottom - top) + 2), 0)
    ImageDraw.Draw(ink).text((1 - left, 1 - top), text, font=face, fill=255)
    box = ink.getbbox()
    if box is None:
        return None
    ink = ink.crop(box)
    if aspect != 1.0:
        ink = ink.resize((max(round(ink.width * aspect), 1), ink.height),
                         Image.Resampling.LANCZOS)
    return ink


def _paste(sheet: _Sheet, ink: Image.Image, centre_mm: tuple[float, float]) -> None:
    x, y = centre_mm[0] * sheet.px, centre_mm[1] * sheet.px
    sheet.image.paste(255, (round(x - ink.width / 2), round(y - ink.height / 2)), ink)


def _star(sheet: _Sheet, radius_mm: float) -> None:
    """A solid five-pointed star, one point up, centred."""
    cx, cy, px = sheet.width_mm / 2 * sheet.px, sheet.height_mm / 2 * sheet.px, sheet.px
    inner = radius_mm * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        r = (radius_mm if k % 2 == 0 else inner) * px
        angle = math.radians(-90 + 36 * k)
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    sheet.draw.polygon(points, fill=255)


def _line(sheet: _Sheet, font: SealFont, text: str, field: str, *, y: float, size: float,
          max_width: float) -> None:
    """A horizontal line centred ``y`` mm below the centre, condensed to ``max_width`` mm."""
    if not text.strip():
        return
    ink = _glyph(font, text.strip(), size * sheet.px, 1.0)
    if ink is None:
        return
    limit = max_width * sheet.px
    if ink.width > limit:
        if limit / ink.width < MIN_SQUEEZE:
            raise InvalidInput(f"{field} ({len(text)} characters) does not fit on the seal",
                               code="seal.text_too_long")
        ink = ink.resize((round(limit), ink.height), Image.Resampling.LANCZOS)
    _paste(sheet, ink, (sheet.width_mm / 2, sheet.height_mm / 2 + y))


def _name_seal(sheet: _Sheet, font: SealFont, person: str) -> None:
    """A name seal: four characters in two columns, read top to bottom, right column first.
    A two-character name takes 之印 (张三之印), a three-character one 印 (王小明印)."""
    cells = {2: person + "之印", 3: person + "印", 4: person}.get(len(person))
    if cells is None:
        raise InvalidInput("a name seal carries a name of 2 to 4 characters",
                           code="seal.name_seal_text")
    font.require(cells)
    w, h, px = sheet.width_mm, sheet.height_mm, sheet.px
    border = _border_mm(sheet)
    sheet.draw.rectangle((MARGIN_MM * px, MARGIN_MM * px, (w - MARGIN_MM) * px - 1,
                          (h - MARGIN_MM) * px - 1), outline=255, width=max(round(border * px), 1))
    inset = MARGIN_MM + border + GAP_MM
    cell_w, cell_h = (w - 2 * inset) / 2, (h - 2 * inset) / 2
    order = ((1, 0), (1, 1), (0, 0), (0, 1))  # (column, row): the right column first
    size = round(min(cell_w, cell_h) * px)
    for ch, (column, row) in zip(cells, order, strict=True):
        # Placed by its em box, not its ink, so 一 or 三 keep their place and proportions.
        em = Image.new("L", (size, size), 0)
        ImageDraw.Draw(em).text((size / 2, size / 2), ch, font=font.sized(size), fill=255,
                                anchor="mm")
        if cell_w != cell_h:
            em = em.resize((round(cell_w * px), round(cell_h * px)), Image.Resampling.LANCZOS)
        _paste(sheet, em, (inset + cell_w * (column + 0.5), inset + cell_h * (row + 0.5)))
