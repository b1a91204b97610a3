"""Seal images: generated templates against golden images (and against what a font without
Chinese glyphs would draw: boxes), and photographed molds, good and bad.

The golden images in tests/golden/seal_images/ are regenerated after a deliberate change of the
drawing with ``YUNZHANG_REGEN_GOLDEN=1 .venv/bin/pytest tests/unit/test_seal_images.py``; look at
them before committing.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFile, ImageFilter, ImageFont, ImageStat

from yunzhang.adapters.seal_images import PillowSealArtist, fonts, templates
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
UMING = Path("/usr/share/fonts/truetype/arphic/uming.ttc")
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
SIZES = {"official": (992, 992), "contract": (992, 992), "finance": (945, 709),
         "invoice": (945, 709), "name_2": (472, 472), "name_4": (472, 472)}


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


def matches(a: Image.Image, b: Image.Image) -> bool:
    """The golden-image tolerance: antialiasing and Pillow versions may move edges a little."""
    mean, worst = difference(a, b)
    return mean < 0.01 and worst < 0.08


def golden(kind: str) -> Image.Image:
    return alpha_of((GOLDEN / f"{kind}.png").read_bytes())


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_each_template_matches_its_golden_image(kind: str) -> None:
    spec = TEMPLATES[kind]
    drawn = ARTIST.render(spec)
    path = GOLDEN / f"{kind}.png"
    if os.environ.get("YUNZHANG_REGEN_GOLDEN") == "1":
        path.write_bytes(drawn.png)
    with Image.open(io.BytesIO(drawn.png)) as image:
        image.load()
        assert image.mode == "RGBA" and image.format == "PNG"
        assert image.size == SIZES[kind] == (drawn.width_px, drawn.height_px)
        assert image.size == spec.size.pixels(600)
        assert drawn.dpi == 600 and min(image.info["dpi"]) >= 600
        w, h = image.size
        for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
            assert image.getpixel(corner)[3] == 0  # type: ignore[index]
        inked = {p[:3] for p in image.get_flattened_data() if p[3] > 0}  # type: ignore[index]
        assert inked == {SealColour.RED.rgb}
        assert set(image.info) <= {"dpi"}  # no metadata but the resolution
    assert matches(alpha_of(drawn.png), golden(kind)), difference(alpha_of(drawn.png), golden(kind))
    assert (drawn.shape, drawn.size, drawn.colour) == (spec.shape, spec.size, spec.colour)


def test_the_golden_comparison_catches_a_small_change_of_the_drawing() -> None:
    """The tolerance is not so loose that it passes anything: the official seal (code, no
    purpose) and the contract seal (purpose, no code) share the ring, star and name."""
    assert not matches(golden("official"), golden("contract"))
    assert not matches(golden("finance"), golden("invoice"))  # only the tax number differs
    other = ARTIST.render(TemplateSpec(SealShape.ROUND, SealSize.of(42), "上海云章示范科技有限公同",
                                       code="3101150012345"))
    assert not matches(alpha_of(other.png), golden("official"))  # one character of twelve


def test_colours_and_higher_dpi() -> None:
    spec = TEMPLATES["contract"]
    blue = ARTIST.render(TemplateSpec(spec.shape, spec.size, spec.upper_text,
                                      lower_text=spec.lower_text, colour=SealColour.BLUE))
    with Image.open(io.BytesIO(blue.png)) as image:
        assert {p[:3] for p in image.get_flattened_data() if p[3] > 0} == {SealColour.BLUE.rgb}  # type: ignore[index]
    assert matches(alpha_of(blue.png), golden("contract"))
    fine = ARTIST.render(TemplateSpec(spec.shape, spec.size, spec.upper_text, dpi=1200))
    assert (fine.width_px, fine.height_px, fine.dpi) == (1984, 1984, 1200)
    for dpi in (300, 599, 1201):
        with pytest.raises(InvalidInput) as refused:
            ARTIST.render(TemplateSpec(spec.shape, spec.size, spec.upper_text, dpi=dpi))
        assert refused.value.code == "image.dpi"


# --- fonts and missing glyphs ------------------------------------------------------------------

def test_the_default_font_is_the_simplified_chinese_face_of_ar_pl_uming() -> None:
    font = load_font(None)
    assert (font.path, font.index, font.name) == (UMING, 0, "AR PL UMing CN")
    assert ImageFont.truetype(str(UMING), 20, index=font.index).getname()[0] == "AR PL UMing CN"
    configured = load_font(UMING)  # a configured collection also gets its Simplified face
    assert configured.index == 0


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_a_font_without_chinese_glyphs_is_refused_and_would_have_drawn_boxes(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = TEMPLATES[kind]
    artist = PillowSealArtist(DEJAVU, max_image_bytes=1024, max_megapixels=1.0)
    with pytest.raises(ConfigurationError) as refused:
        artist.render(spec)
    assert refused.value.code == "image.font" and "no glyph" in refused.value.detail
    assert "DejaVu Sans" in refused.value.detail and "ensure-packages.sh" in refused.value.detail
    # Bypassing the guard, DejaVu Sans draws the same layout with boxes (.notdef) for every
    # Chinese character: far from the golden image, so the comparison would catch it too.
    monkeypatch.setattr(fonts.SealFont, "require", lambda self, text: None)
    boxes = templates.render(spec, load_font(DEJAVU))
    mean, worst = difference(alpha_of(boxes.png), golden(kind))
    assert not matches(alpha_of(boxes.png), golden(kind))
    assert worst > 0.15, (mean, worst)


def test_the_glyph_check_does_not_trust_the_character_map_alone() -> None:
    """A font whose map claims a character but draws its .notdef box (or nothing) is refused by
    the second check, which compares renderings."""
    dejavu = load_font(DEJAVU)
    claiming = fonts.SealFont(dejavu.path, dejavu.index, dejavu.name,
                              frozenset(range(0x110000)))
    claiming.require("Seal 123")  # real glyphs pass
    with pytest.raises(ConfigurationError) as refused:
        claiming.require("公章")
    assert refused.value.code == "image.font" and "U+516C" in refused.value.detail
    load_font(None).require(NAME + "合同专用章财务发票之印欧阳明华张三 91310115MA1K4DEM05")


def test_without_any_chinese_font_the_message_says_how_to_install_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    load_font.cache_clear()
    try:
        monkeypatch.setattr(fonts, "KNOWN_FONTS", ("/nonexistent/font.ttc",))
        monkeypatch.setattr(fonts, "_fontconfig_pick", lambda: (DEJAVU, 0))  # fontconfig's fallback
        with pytest.raises(ConfigurationError) as none:
            PillowSealArtist(None, max_image_bytes=1024, max_megapixels=1).render(
                TEMPLATES["official"])
        assert none.value.code == "image.font"
        assert "bash scripts/ensure-packages.sh runtime" in none.value.detail
        assert "YUNZHANG_SEAL_FONT" in none.value.detail
    finally:
        load_font.cache_clear()
    with pytest.raises(ConfigurationError) as missing:
        load_font(Path("/nonexistent/seal-font.ttf"))
    assert missing.value.code == "image.font"
    with pytest.raises(ConfigurationError) as unreadable:
        load_font(Path(__file__))
    assert unreadable.value.code == "image.font"


# --- text rules --------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "code"), [
    (TemplateSpec(SealShape.ROUND, SealSize.of(42), "字" * 41), "seal.text_too_long"),
    (TemplateSpec(SealShape.ROUND, SealSize.of(15), "字" * 40), "seal.text_too_long"),
    (TemplateSpec(SealShape.ROUND, SealSize.of(42), NAME, lower_text="合同专用章" * 5),
     "seal.text_too_long"),
    (TemplateSpec(SealShape.ROUND, SealSize.of(42), NAME, code="1" * 60), "seal.text_too_long"),
    (TemplateSpec(SealShape.OVAL, SealSize.of(40, 30), NAME, middle_text="9" * 60),
     "seal.text_too_long"),
    (TemplateSpec(SealShape.ROUND, SealSize.of(42), "  "), "seal.text_empty"),
    (TemplateSpec(SealShape.SQUARE, SealSize.of(20), "张"), "seal.name_seal_text"),
    (TemplateSpec(SealShape.SQUARE, SealSize.of(20), "张三李四王"), "seal.name_seal_text"),
])
def test_text_that_does_not_fit_is_refused(spec: TemplateSpec, code: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        ARTIST.render(spec)
    assert bad.value.code == code


def test_forty_characters_fit_on_an_official_seal() -> None:
    drawn = ARTIST.render(TemplateSpec(SealShape.ROUND, SealSize.of(42), "云" * 40,
                                       code="3101150012345"))
    assert (drawn.width_px, drawn.height_px) == (992, 992)


def quadrants(png: bytes) -> dict[str, Image.Image]:
    alpha = alpha_of(png)
    w, h = alpha.width // 2, alpha.height // 2
    return {"top right": alpha.crop((w, 0, 2 * w, h)), "bottom right": alpha.crop((w, h, 2 * w, 2 * h)),
            "top left": alpha.crop((0, 0, w, h)), "bottom left": alpha.crop((0, h, w, 2 * h))}


def changed_quadrants(a: str, b: str) -> set[str]:
    first = quadrants(ARTIST.render(TemplateSpec(SealShape.SQUARE, SealSize.of(20), a)).png)
    second = quadrants(ARTIST.render(TemplateSpec(SealShape.SQUARE, SealSize.of(20), b)).png)
    return {q for q in first if difference(first[q], second[q])[0] > 0.01}


def test_name_seals_read_top_to_bottom_right_column_first() -> None:
    # 张三之印: 张 top right, 三 below it, 之 top left, 印 bottom left.
    assert changed_quadrants("张三", "李三") == {"top right"}
    assert changed_quadrants("张三", "张四") == {"bottom right"}
    assert changed_quadrants("张三", "王小明") == {"top right", "bottom right", "top left"}  # 王小明印
    assert changed_quadrants("欧阳明华", "欧阳明月") == {"bottom left"}


# --- photographed molds ------------------------------------------------------------------------

def photo(*, size: tuple[int, int] = (1600, 1200), fmt: str = "JPEG", orientation: int = 1,
          marker: bool = True, ink: tuple[int, int, int] = (205, 30, 45)) -> bytes:
    """A red seal impression (ring, star, name in the CJK font) on noisy off-white paper, turned
    slightly and blurred like a photograph, with a mark in its upper-left quarter so that turns
    are visible, saved with an EXIF orientation."""
    rng = random.Random(size[0] * 7 + orientation)
    image = Image.new("RGB", size, (244, 241, 232))
    draw = ImageDraw.Draw(image)
    cx, cy, r = size[0] // 2, size[1] // 2, min(size) // 3
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=max(r // 12, 2))
    draw.regular_polygon((cx, cy, r // 4), 5, fill=ink)
    face = ImageFont.truetype(str(UMING), max(r // 5, 8))
    draw.text((cx, cy - r // 2), "云章科技", font=face, fill=ink, anchor="mm")
    draw.text((cx, cy + r // 2), "合同专用章", font=face, fill=ink, anchor="mm")
    if marker:
        draw.rectangle((cx - r, cy - r, cx - r // 2, cy - r // 2), fill=ink)
    image = image.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BICUBIC,
                         fillcolor=(244, 241, 232))
    noise = Image.effect_noise(size, 12).convert("RGB")
    image = ImageChops.add(image, noise, 1.0, -128).filter(ImageFilter.GaussianBlur(1.2))
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


def solid(image: Image.Image) -> Image.Image:
    return image.getchannel("A").point(lambda v: 255 if v >= 128 else 0)


@pytest.mark.parametrize("colour", list(SealColour))
def test_a_photo_becomes_a_transparent_mold_of_one_colour(colour: SealColour) -> None:
    result = ARTIST.process(photo(marker=False), processing(colour=colour))
    image = opened(result)
    assert image.mode == "RGBA" and image.size == (945, 945) == (result.width_px, result.height_px)
    assert min(image.info["dpi"]) >= 600 and set(image.info) <= {"dpi"}  # EXIF and all dropped
    alpha = image.getchannel("A")
    for paper in ((5, 5), (940, 5), (472, 300), (250, 700)):  # outside and inside the ring
        assert alpha.getpixel(paper) == 0, paper
    assert alpha.getpixel((472, 472)) == 255  # the star's ink is opaque
    ring = alpha.crop((0, 400, 80, 560))
    assert max(ring.get_flattened_data()) == 255  # type: ignore[type-var]
    box = solid(image).getbbox()
    assert box is not None and box[2] - box[0] > 930 and box[3] - box[1] > 930  # trimmed, sized
    assert {p[:3] for p in image.get_flattened_data() if p[3] > 0} == {colour.rgb}  # type: ignore[index]
    share = ImageStat.Stat(solid(image)).mean[0] / 255
    assert 0.1 < share < 0.4  # ink, not paper, was kept


def quarter_with_most_ink(image: Image.Image) -> tuple[int, int]:
    alpha = image.getchannel("A")
    w, h = alpha.size
    quarters = {(x, y): ImageStat.Stat(alpha.crop((x * w // 2, y * h // 2, (x + 1) * w // 2,
                                                   (y + 1) * h // 2))).mean[0]
                for x in (0, 1) for y in (0, 1)}
    return max(quarters, key=lambda q: quarters[q])


def test_exif_orientation_crop_and_quarter_turns() -> None:
    picture = photo()
    assert quarter_with_most_ink(opened(ARTIST.process(picture, processing()))) == (0, 0)
    # Clockwise by 90°: the mark moves from the upper left to the upper right, and so on.
    for rotate, quarter in ((90, (1, 0)), (180, (1, 1)), (270, (0, 1))):
        turned = ARTIST.process(picture, processing(rotate=rotate))
        assert quarter_with_most_ink(opened(turned)) == quarter, rotate
    # EXIF orientation 6 means "turn 90° clockwise to view": applied before anything else, and
    # crop boxes are in pixels of the upright photo (here 1200 wide, 1600 high).
    sideways = photo(orientation=6)
    assert quarter_with_most_ink(opened(ARTIST.process(sideways, processing()))) == (1, 0)
    ARTIST.process(sideways, processing(crop=CropBox(0, 300, 1200, 1000)))
    with pytest.raises(InvalidInput) as outside:
        ARTIST.process(sideways, processing(crop=CropBox(300, 0, 1000, 1000)))
    assert outside.value.code == "image.crop" and "1200x1600" in outside.value.detail
    # Cropping to the left half keeps half the impression: a half disc, fitted and centred.
    half = opened(ARTIST.process(picture, processing(crop=CropBox(0, 0, 800, 1200))))
    box = solid(half).getbbox()
    assert box is not None and box[3] - box[1] > 930 and 420 < box[2] - box[0] < 520
    with pytest.raises(InvalidInput) as beyond:
        ARTIST.process(picture, processing(crop=CropBox(1000, 0, 1000, 1000)))
    assert beyond.value.code == "image.crop"


def test_crop_boxes_are_in_pixels_of_a_large_photo_decoded_at_a_reduced_scale() -> None:
    big = photo(size=(5000, 5000), marker=False)  # decoded at half size; the box is not
    whole = solid(opened(ARTIST.process(big, processing(crop=CropBox(700, 700, 3600, 3600)))))
    assert whole.getbbox() is not None and whole.getbbox()[2] - whole.getbbox()[0] > 930  # type: ignore[index]
    right = solid(opened(ARTIST.process(big, processing(crop=CropBox(2500, 0, 2500, 5000)))))
    box = right.getbbox()
    assert box is not None and 420 < box[2] - box[0] < 520  # the right half of the disc
    with pytest.raises(InvalidInput) as outside:
        ARTIST.process(big, processing(crop=CropBox(2600, 0, 2500, 100)))
    assert outside.value.code == "image.crop" and "5000x5000" in outside.value.detail


@pytest.mark.parametrize(("brightness", "contrast"), [(0.6, 1.0), (1.4, 1.0), (1.0, 0.7),
                                                      (1.0, 2.0), (1.3, 1.5)])
def test_brightness_and_contrast_are_applied(brightness: float, contrast: float) -> None:
    result = opened(ARTIST.process(photo(marker=False),
                                   processing(brightness=brightness, contrast=contrast)))
    assert result.size == (945, 945) and result.getchannel("A").getpixel((5, 5)) == 0
    share = ImageStat.Stat(solid(result)).mean[0] / 255
    assert 0.1 < share < 0.45


def test_png_photos_blue_ink_and_transparency_are_accepted() -> None:
    assert opened(ARTIST.process(photo(fmt="PNG"), processing())).size == (945, 945)
    blue = opened(ARTIST.process(photo(ink=(30, 50, 150)), processing(colour=SealColour.RED)))
    assert blue.getchannel("A").getpixel((472, 472)) == 255
    # A transparent PNG: the transparent part is taken as paper.
    layer = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    ImageDraw.Draw(layer).ellipse((100, 100, 500, 500), outline=(200, 20, 30, 255), width=30)
    out = io.BytesIO()
    layer.save(out, format="PNG")
    ring = opened(ARTIST.process(out.getvalue(), processing()))
    assert ring.getchannel("A").getpixel((472, 472)) == 0 and solid(ring).getbbox() is not None


# --- refused photos ----------------------------------------------------------------------------

def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


def fifty_megapixel_jpeg() -> bytes:
    """8660 x 5774 pixels of one grey: a few hundred kilobytes."""
    out = io.BytesIO()
    Image.new("L", (8660, 5774), 255).save(out, format="JPEG", quality=10)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _blank() -> bytes:
    return _png(Image.new("RGB", (800, 600), (240, 240, 240)))


def _noisy_blank() -> bytes:
    paper = ImageChops.add(Image.new("RGB", (800, 600), (236, 232, 222)),
                           Image.effect_noise((800, 600), 20).convert("RGB"), 1.0, -128)
    out = io.BytesIO()
    paper.save(out, format="JPEG", quality=70)
    return out.getvalue()


def _jpeg_without_frame() -> bytes:
    good = photo(size=(200, 200))
    sof = good.index(b"\xff\xc0")
    (length,) = struct.unpack(">H", good[sof + 2:sof + 4])
    return good[:sof] + good[sof + 2 + length:]


BAD = {
    "text": (b"this is not an image", InvalidInput, "image.unsupported"),
    "empty": (b"", InvalidInput, "image.unsupported"),
    "svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
            b"</script><circle r='40'/></svg>", InvalidInput, "image.unsupported"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", InvalidInput, "image.unsupported"),
    "tiff": (b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64, InvalidInput, "image.unsupported"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", InvalidInput, "image.unsupported"),
    "truncated_jpeg": (lambda: photo()[:4000], InvalidInput, "image.corrupt"),
    "truncated_png": (lambda: photo(fmt="PNG")[:3000], InvalidInput, "image.corrupt"),
    "png_signature_only": (b"\x89PNG\r\n\x1a\n", InvalidInput, "image.corrupt"),
    "jpeg_without_frame": (_jpeg_without_frame, InvalidInput, "image.corrupt"),
    "png_lying_about_its_size": (lambda: png_declaring(400, 300), InvalidInput, "image.corrupt"),
    "bomb": (lambda: png_declaring(30000, 30000), InvalidInput, "image.too_many_pixels"),
    "fifty_megapixels": (fifty_megapixel_jpeg, InvalidInput, "image.too_many_pixels"),
    "too_large": (lambda: b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024), PayloadTooLarge,
                  "image.too_large"),
    "blank": (_blank, InvalidInput, "image.blank"),
    "noisy_blank": (_noisy_blank, InvalidInput, "image.blank"),
    "all_ink": (lambda: _png(Image.new("RGB", (400, 400), (205, 30, 45))), InvalidInput,
                "image.blank"),
}


@pytest.mark.filterwarnings("error")  # Pillow's DecompressionBombWarning included
@pytest.mark.parametrize("case", list(BAD))
def test_bad_photos_get_a_precise_error(case: str) -> None:
    data, error, code = BAD[case]
    raw = data() if callable(data) else data
    with pytest.raises(YunzhangError) as refused:
        ARTIST.process(raw, processing())
    assert type(refused.value) is error and refused.value.code == code, refused.value.detail
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_the_messages_say_what_was_found_and_the_limits() -> None:
    def detail(raw: bytes, artist: PillowSealArtist = ARTIST) -> str:
        with pytest.raises(YunzhangError) as refused:
            artist.process(raw, processing())
        return refused.value.detail

    svg = detail(BAD["svg"][0])  # type: ignore[arg-type]
    assert "SVG" in svg and "scripts" in svg
    assert "GIF" in detail(BAD["gif"][0]) and "PDF" in detail(BAD["pdf"][0])  # type: ignore[arg-type]
    assert "empty" in detail(b"")
    assert "50.0 megapixels" in detail(fifty_megapixel_jpeg()) and "limit is 40" in \
        detail(fifty_megapixel_jpeg())
    small = PillowSealArtist(None, max_image_bytes=10_000, max_megapixels=40)
    with pytest.raises(PayloadTooLarge) as big:
        small.process(photo(), processing())
    assert big.value.code == "image.too_large" and big.value.status == 413
    assert "limit is 10000" in big.value.detail


def test_pixel_counts_are_refused_from_the_header_before_anything_is_opened(
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened_files: list[object] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened_files.append(a) or real_open(*a, **k))
    limit_before = Image.MAX_IMAGE_PIXELS
    for raw in (png_declaring(30000, 30000), png_declaring(100000, 100000),
                fifty_megapixel_jpeg()):
        with pytest.raises(InvalidInput) as refused:
            ARTIST.process(raw, processing())
        assert refused.value.code == "image.too_many_pixels"
    assert opened_files == [] and Image.MAX_IMAGE_PIXELS == limit_before
    # Above Pillow's own bomb limit even when the configured limit is higher: still refused.
    generous = PillowSealArtist(None, max_image_bytes=10**8, max_megapixels=10_000)
    with pytest.raises(InvalidInput) as bomb:
        generous.process(png_declaring(30000, 30000), processing())
    assert bomb.value.code == "image.too_many_pixels" and opened_files == []


def test_truncated_images_are_never_loaded_half(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # importing the adapter did not change it
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # someone else set it
    with pytest.raises(ConfigurationError) as refused:
        ARTIST.process(photo(), processing())
    assert refused.value.code == "image.decoder"


def test_damaged_photos_only_ever_raise_yunzhang_errors() -> None:
    """Bytes flipped, cut, inserted in sound PNGs and JPEGs: refused or processed, nothing else."""
    rng = random.Random(20240501)
    sound = [photo(size=(240, 180)), photo(size=(240, 180), fmt="PNG")]
    small = MoldProcessing(shape=SealShape.ROUND, size=SealSize.of(10))
    outcomes: set[str] = set()
    for round_ in range(80):
        data = bytearray(sound[round_ % 2])
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(2, len(data))
            match rng.randrange(3):
                case 0:
                    data[at] = rng.randrange(256)
                case 1:
                    del data[at:at + rng.randint(1, 64)]
                case _:
                    data[at:at] = rng.randbytes(rng.randint(1, 16))
        try:
            ARTIST.process(bytes(data), small)
            outcomes.add("processed")
        except YunzhangError as exc:
            outcomes.add(exc.code)
    assert "image.corrupt" in outcomes and outcomes <= {
        "processed", "image.corrupt", "image.blank", "image.too_many_pixels", "image.unsupported"}
