"""Generated seal images: round (公章, 合同专用章), oval (财务/发票专用章), square (name seal).

Drawn as an ink mask at twice the size and scaled down (antialiased edges), then coloured: a
transparent PNG at the asked dpi. Layout after GA 241-2000's seal specimens, simplified: the
enterprise name along the upper arc, a five-pointed star, the purpose below it, the 13-digit
seal code along the lower arc; the oval invoice seal carries the taxpayer number.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw

from yunzhang.adapters.seal_images.fonts import SealFont
from yunzhang.domain.seal_images import (
    MM_PER_INCH,
    SealImageData,
    SealShape,
    TemplateSpec,
)
from yunzhang.errors import InvalidInput

SUPERSAMPLE = 2
MAX_ARC_CHARS = 40


def to_png(mask: Image.Image, spec_size: tuple[int, int], colour: tuple[int, int, int],
           dpi: int) -> bytes:
    """The ink mask (L) scaled to the final size and coloured, as a transparent PNG."""
    alpha = mask.resize(spec_size, Image.Resampling.LANCZOS) if mask.size != spec_size else mask
    image = Image.new("RGBA", spec_size, (*colour, 0))
    image.putalpha(alpha)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


def _glyph(font: SealFont, ch: str, size: int, squeeze: float = 1.0) -> Image.Image:
    """One character as an ink mask, its box centred, optionally narrowed (seal lettering is
    often condensed so long names fit)."""
    face = font.sized(size)
    box = face.getbbox(ch)
    width, height = max(box[2] - box[0], 1), max(box[3] - box[1], 1)
    cell = Image.new("L", (int(size * 1.2), int(size * 1.2)), 0)
    ImageDraw.Draw(cell).text(((cell.width - width) / 2 - box[0], (cell.height - height) / 2 - box[1]),
                              ch, font=face, fill=255)
    if squeeze != 1.0:
        cell = cell.resize((max(int(cell.width * squeeze), 1), cell.height),
                           Image.Resampling.LANCZOS)
    return cell


def _place(canvas: Image.Image, glyph: Image.Image, centre: tuple[float, float],
           clockwise_degrees: float) -> None:
    turned = glyph.rotate(-clockwise_degrees, resample=Image.Resampling.BICUBIC, expand=True)
    x, y = centre
    canvas.paste(255, (int(x - turned.width / 2), int(y - turned.height / 2)), turned)


def _arc(canvas: Image.Image, font: SealFont, text: str, *, centre: tuple[float, float],
         radii: tuple[float, float], span: float, size: int, lower: bool = False,
         squeeze: float = 1.0) -> None:
    """Characters spread evenly (by arc length) over ``span`` degrees of the upper (or lower)
    part of an ellipse with semi-axes ``radii``, each upright along the normal."""
    a, b = radii
    n = len(text)
    samples = 720
    start = -span / 2
    angles = [math.radians(start + span * i / samples) for i in range(samples + 1)]
    points = [(a * math.sin(t), -b * math.cos(t)) for t in angles]
    lengths = [0.0]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        lengths.append(lengths[-1] + math.hypot(x1 - x0, y1 - y0))
    total = lengths[-1]
    for i, ch in enumerate(text):
        target = total * (i + 0.5) / n
        j = min(range(len(lengths)), key=lambda k: abs(lengths[k] - target))
        t = angles[j]
        # Outward normal of the ellipse at t, as a clockwise angle from "up".
        turn = math.degrees(math.atan2(math.sin(t) / a, math.cos(t) / b))
        x, y = a * math.sin(t), -b * math.cos(t)
        if lower:  # mirrored to the bottom; read left to right, tops towards the centre
            y, turn = -y, -turn
        _place(canvas, _glyph(font, ch, size, squeeze), (centre[0] + x, centre[1] + y), turn)


def _star(draw: ImageDraw.ImageDraw, centre: tuple[float, float], radius: float) -> None:
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else inner
        angle = math.radians(-90 + 36 * k)
        points.append((centre[0] + r * math.cos(angle), centre[1] + r * math.sin(angle)))
    draw.polygon(points, fill=255)


def _text(canvas: Image.Image, font: SealFont, text: str, centre: tuple[float, float],
          size: int, max_width: float) -> None:
    """A horizontal line of text, narrowed to fit ``max_width``."""
    if not text:
        return
    face = font.sized(size)
    box = face.getbbox(text)
    width, height = box[2] - box[0], box[3] - box[1]
    line = Image.new("L", (int(width) + 4, int(height) + 4), 0)
    ImageDraw.Draw(line).text((2 - box[0], 2 - box[1]), text, font=face, fill=255)
    if line.width > max_width:
        line = line.resize((int(max_width), line.height), Image.Resampling.LANCZOS)
    canvas.paste(255, (int(centre[0] - line.width / 2), int(centre[1] - line.height / 2)), line)


def render(spec: TemplateSpec, font: SealFont) -> SealImageData:
    upper = spec.upper_text.strip()
    if not upper:
        raise InvalidInput("a seal needs its text (the enterprise or person name)",
                           code="seal.text_too_long")
    if len(upper) > MAX_ARC_CHARS:
        raise InvalidInput(f"{len(upper)} characters do not fit on a seal (at most "
                           f"{MAX_ARC_CHARS})", code="seal.text_too_long")
    font.require(upper + spec.lower_text + spec.middle_text + spec.code)
    final = spec.size.pixels(spec.dpi)
    width, height = final[0] * SUPERSAMPLE, final[1] * SUPERSAMPLE
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    mm = spec.dpi / MM_PER_INCH * SUPERSAMPLE
    border = max(int(1.2 * mm), 2)
    centre = (width / 2, height / 2)
    if spec.shape is SealShape.SQUARE:
        _square(canvas, draw, font, upper, border, mm)
    else:
        a, b = width / 2 - border, height / 2 - border
        draw.ellipse((centre[0] - a - border / 2, centre[1] - b - border / 2,
                      centre[0] + a + border / 2, centre[1] + b + border / 2),
                     outline=255, width=border)
        n = len(upper)
        size = int(min(b * 0.30, 2 * math.pi * min(a, b) * 0.62 / max(n, 1)))
        span = min(250.0, max(140.0, n * 19.0)) if spec.shape is SealShape.ROUND else \
            min(220.0, max(120.0, n * 16.0))
        reach = (a - border * 0.9 - size * 0.62, b - border * 0.9 - size * 0.62)
        _arc(canvas, font, upper, centre=centre, radii=reach, span=span, size=size,
             squeeze=0.82 if n > 10 else 1.0)
        if spec.shape is SealShape.ROUND:
            _star(draw, centre, b * 0.27)
            _text(canvas, font, spec.lower_text, (centre[0], centre[1] + b * 0.48),
                  int(b * 0.17), a * 1.1)
            if spec.code:
                small = int(b * 0.085)
                code_reach = (a - border * 1.4 - small * 0.6, b - border * 1.4 - small * 0.6)
                _arc(canvas, font, spec.code, centre=centre, radii=code_reach, span=70.0,
                     size=small, lower=True)
        else:
            _text(canvas, font, spec.middle_text, (centre[0], centre[1] + b * 0.05),
                  int(b * 0.17), a * 1.3)
            _text(canvas, font, spec.lower_text, (centre[0], centre[1] + b * 0.50),
                  int(b * 0.20), a * 1.0)
    return SealImageData(png=to_png(canvas, final, spec.colour.rgb, spec.dpi),
                         width_px=final[0], height_px=final[1], dpi=spec.dpi, shape=spec.shape,
                         size=spec.size, colour=spec.colour)


def _square(canvas: Image.Image, draw: ImageDraw.ImageDraw, font: SealFont, person: str,
            border: int, mm: float) -> None:
    """A name seal: four characters in two columns, read top to bottom, right column first.
    Two-character names take 之印, three-character names 印, to fill the square."""
    if len(person) == 2:
        cells = person + "之印"
    elif len(person) == 3:
        cells = person + "印"
    elif len(person) == 4:
        cells = person
    else:
        raise InvalidInput("a name seal carries a name of 2 to 4 characters",
                           code="seal.name_seal_text")
    font.require(cells)
    width, height = canvas.size
    draw.rectangle((border / 2, border / 2, width - border / 2, height - border / 2),
                   outline=255, width=border)
    inner = width - 3 * border
    size = int(inner / 2 * 0.92)
    order = ((1, 0), (1, 1), (0, 0), (0, 1))  # (column, row): right column first
    for ch, (column, row) in zip(cells, order, strict=True):
        x = 1.5 * border + inner * (column + 0.5) / 2
        y = 1.5 * border + inner * (row + 0.5) / 2
        _place(canvas, _glyph(font, ch, size), (x, y), 0.0)
