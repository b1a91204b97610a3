"""Seal images: generated templates against golden images (and against what a font without
Chinese glyphs would draw: boxes), and photographed molds, good and bad.

Golden images are regenerated with ``YUNZHANG_REGEN_GOLDEN=1 pytest tests/unit/test_seal_images.py``
after a deliberate change of the drawing; look at them before committing.
"""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from yunzhang.adapters.seal_images import PillowSealArtist, templates
from yunzhang.adapters.seal_images.fonts import load_font
from yunzhang.domain.seal_images import (
    CropBox,
    MoldProcessing,
    SealColour,
    SealImageData,
    SealShape,
    SealSize,
    TemplateSpec,
)
from yunzhang.errors import ConfigurationError, InvalidInput, PayloadTooLarge, YunzhangError

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "seal_images"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
NAME = "上海云章示范科技有限公司"
ARTIST = PillowSealArtist(None, max_image_bytes=10 * 1024 * 1024, max_megapixels=40)

TEMPLATES = {
    "official": TemplateSpec(SealShape.ROUND, SealSize.of(42), NAME, code="3101150012345"),
    "contract": TemplateSpec(SealShape.ROUND, SealSize.of(42), NAME, lower_text="合同专用章"),
    "finance": TemplateSpec(SealShape.OVAL, SealSize.of(40, 30), NAME, lower_text="财务专用章"),
    "invoice": TemplateSpec(SealShape.OVAL, SealSize.of(40, 30), NAME, lower_text="发票专用章",
                            middle_text="91310115MA1K4DEM05"),
    "name_2": TemplateSpec(SealShape.SQUARE, SealSize.of(20), "张三"),
    "name_4": TemplateSpec(SealShape.SQUARE, SealSize.of(20), "欧阳明华"),
}


def alpha_of(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.getchannel("A")


def difference(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    """Mean absolute alpha difference over the image (0..1), and the worst 1/16-size block's."""
    assert a.size == b.size
    diff = ImageChops.difference(a, b)
    mean = ImageStat.Stat(diff).mean[0] / 255
    blocks = diff.resize((16, 16), Image.Resampling.BOX)
    worst = max(blocks.get_flattened_data()) / 255  # type: ignore[type-var]
    return mean, worst


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_each_template_matches_its_golden_image(kind: str) -> None:
    spec = TEMPLATES[kind]
    drawn = ARTIST.render(spec)
    path = GOLDEN / f"{kind}.png"
    if os.environ.get("YUNZHANG_REGEN_GOLDEN") == "1":
        path.write_bytes(drawn.png)
    with Image.open(io.BytesIO(drawn.png)) as image:
        assert image.mode == "RGBA" and image.format == "PNG"
        assert image.size == spec.size.pixels(600) == (drawn.width_px, drawn.height_px)
        assert round(image.info["dpi"][0]) >= 600
        assert image.getpixel((0, 0))[3] == 0 and image.getpixel((image.width - 1, 0))[3] == 0
        inked = {p[:3] for p in image.get_flattened_data() if p[3] > 0}  # type: ignore[index]
        assert inked == {SealColour.RED.rgb}
    mean, worst = difference(alpha_of(drawn.png), alpha_of(path.read_bytes()))
    assert mean < 0.01 and worst < 0.08, (mean, worst)


def boxes_font() -> templates.SealFont:
    """DejaVu Sans passed off as covering every character: what drawing without the glyph check
    would produce with a font that has no Chinese glyphs."""
    real = load_font(DEJAVU)
    return dataclasses.replace(real, characters=frozenset(range(0x110000)))


@pytest.mark.parametrize("kind", ["official", "invoice", "name_4"])
def test_a_font_without_chinese_glyphs_is_refused_and_would_have_drawn_boxes(kind: str) -> None:
    spec = TEMPLATES[kind]
    artist = PillowSealArtist(DEJAVU, max_image_bytes=1024, max_megapixels=1.0)
    with pytest.raises(ConfigurationError) as refused:
        artist.render(spec)
    assert refused.value.code == "image.font" and "no glyph" in refused.value.detail
    # Without the guard, the boxes are far from the golden image: the comparison above catches it.
    boxes = templates.render(spec, boxes_font())
    mean, worst = difference(alpha_of(boxes.png), alpha_of((GOLDEN / f"{kind}.png").read_bytes()))
    assert worst > 0.15, (mean, worst)


def test_oversized_or_empty_text_is_refused() -> None:
    for spec, code in ((TemplateSpec(SealShape.ROUND, SealSize.of(42), "字" * 41), "seal.text_too_long"),
                       (TemplateSpec(SealShape.ROUND, SealSize.of(42), "  "), "seal.text_too_long"),
                       (TemplateSpec(SealShape.SQUARE, SealSize.of(20), "张"), "seal.name_seal_text"),
                       (TemplateSpec(SealShape.SQUARE, SealSize.of(20), "张三李四王"), "seal.name_seal_text")):
        with pytest.raises(InvalidInput) as bad:
            ARTIST.render(spec)
        assert bad.value.code == code


# --- photographed molds ----------------------------------------------------------------------

def photo(*, size: tuple[int, int] = (1600, 1200), fmt: str = "JPEG", orientation: int = 1,
          marker: bool = True) -> bytes:
    """A red seal impression on off-white paper, with a mark in its upper-left quarter so that
    turns are visible, saved with an EXIF orientation."""
    image = Image.new("RGB", size, (244, 241, 232))
    draw = ImageDraw.Draw(image)
    cx, cy, r = size[0] // 2, size[1] // 2, min(size) // 3
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(205, 30, 45), width=max(r // 12, 2))
    draw.regular_polygon((cx, cy, r // 3), 5, fill=(205, 30, 45))
    if marker:
        draw.rectangle((cx - r, cy - r, cx - r // 2, cy - r // 2), fill=(205, 30, 45))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(out, format=fmt, exif=exif.tobytes(), **({"quality": 88} if fmt == "JPEG" else {}))
    return out.getvalue()


def processing(**kwargs: object) -> MoldProcessing:
    return MoldProcessing(shape=SealShape.ROUND, size=SealSize.of(40), **kwargs)  # type: ignore[arg-type]


def opened(data: SealImageData) -> Image.Image:
    image = Image.open(io.BytesIO(data.png))
    image.load()
    return image


@pytest.mark.parametrize("colour", list(SealColour))
def test_a_photo_becomes_a_transparent_mold_of_one_colour(colour: SealColour) -> None:
    result = ARTIST.process(photo(marker=False), processing(colour=colour))
    image = opened(result)
    assert image.mode == "RGBA" and image.size == (945, 945) == (result.width_px, result.height_px)
    alpha = image.getchannel("A")
    assert alpha.getpixel((5, 5)) == 0  # the paper is gone
    assert alpha.getbbox() is not None
    box = alpha.point(lambda v: 255 if v > 128 else 0).getbbox()
    assert box is not None and box[2] - box[0] > 900  # trimmed to the impression and sized
    assert {p[:3] for p in image.get_flattened_data() if p[3] > 0} == {colour.rgb}  # type: ignore[index]
    assert image.info.get("exif") is None


def quarter_with_most_ink(image: Image.Image) -> tuple[int, int]:
    alpha = image.getchannel("A")
    w, h = alpha.size
    quarters = {(x, y): ImageStat.Stat(alpha.crop((x * w // 2, y * h // 2, (x + 1) * w // 2,
                                                   (y + 1) * h // 2))).mean[0]
                for x in (0, 1) for y in (0, 1)}
    return max(quarters, key=lambda q: quarters[q])


def test_exif_orientation_crop_and_quarter_turns() -> None:
    assert quarter_with_most_ink(opened(ARTIST.process(photo(), processing()))) == (0, 0)
    # Clockwise by 90°: the mark moves from the upper left to the upper right.
    turned = ARTIST.process(photo(), processing(rotate=90))
    assert quarter_with_most_ink(opened(turned)) == (1, 0)
    assert quarter_with_most_ink(opened(ARTIST.process(photo(), processing(rotate=180)))) == (1, 1)
    # EXIF orientation 6 means "turn 90° clockwise to view": applied before anything else.
    assert quarter_with_most_ink(opened(ARTIST.process(photo(orientation=6), processing()))) == (1, 0)
    cropped = ARTIST.process(photo(), processing(crop=CropBox(300, 100, 1000, 1000),
                                                 brightness=1.2, contrast=1.4))
    assert opened(cropped).size == (945, 945)
    with pytest.raises(InvalidInput) as outside:
        ARTIST.process(photo(), processing(crop=CropBox(1000, 0, 1000, 1000)))
    assert outside.value.code == "image.crop"


def test_png_photos_with_transparency_are_accepted() -> None:
    result = ARTIST.process(photo(fmt="PNG"), processing())
    assert opened(result).size == (945, 945)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


def fifty_megapixel_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("L", (8660, 5774), 255).save(out, format="JPEG", quality=10)
    return out.getvalue()


BAD = {
    "text": (b"this is not an image", InvalidInput, "image.unsupported"),
    "empty": (b"", InvalidInput, "image.unsupported"),
    "svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
            b"</script><circle r='40'/></svg>", InvalidInput, "image.unsupported"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", InvalidInput, "image.unsupported"),
    "truncated_jpeg": (photo()[:4000], InvalidInput, "image.corrupt"),
    "truncated_png": (photo(fmt="PNG")[:3000], InvalidInput, "image.corrupt"),
    "bomb": (png_declaring(30000, 30000), InvalidInput, "image.too_many_pixels"),
    "fifty_megapixels": (fifty_megapixel_jpeg(), InvalidInput, "image.too_many_pixels"),
    "blank": (lambda: _blank(), InvalidInput, "image.blank"),
}


def _blank() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (240, 240, 240)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_photos_get_a_precise_error(case: str) -> None:
    data, error, code = BAD[case]
    raw = data() if callable(data) else data
    with pytest.raises(YunzhangError) as refused:
        ARTIST.process(raw, processing())
    assert isinstance(refused.value, error) and refused.value.code == code, refused.value.detail


def test_the_svg_message_says_why_and_the_size_limit_is_a_413() -> None:
    with pytest.raises(InvalidInput) as svg:
        ARTIST.process(BAD["svg"][0], processing())  # type: ignore[arg-type]
    assert "SVG" in svg.value.detail and "scripts" in svg.value.detail
    small = PillowSealArtist(None, max_image_bytes=10_000, max_megapixels=40)
    with pytest.raises(PayloadTooLarge) as big:
        small.process(photo(), processing())
    assert big.value.code == "image.too_large" and big.value.status == 413
    with pytest.raises(InvalidInput) as many:
        ARTIST.process(fifty_megapixel_jpeg(), processing())
    assert "50.0 megapixels" in many.value.detail
