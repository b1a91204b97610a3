"""Uploaded photos decoded defensively: size, then kind by signature, then the pixel count read
from the header by hand, and only then Pillow; anything it raises means the file is unreadable."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps

from yunzhang.errors import ConfigurationError, InvalidInput, PayloadTooLarge

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# JPEG start-of-frame markers (ITU-T T.81 Table B.1): C0-CF but DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length
_SOS = 0xDA
_ORIENTATION_TAG = 0x0112  # EXIF orientation; 5-8 swap width and height


@dataclass(frozen=True)
class Photo:
    """The photo upright, in RGB on white, and the size of the upright photo as taken: a large
    JPEG is decoded at a reduced scale, crop boxes are in the photo's own pixels."""

    image: Image.Image
    full_size: tuple[int, int]


def decode(data: bytes, *, max_bytes: int, max_megapixels: float, working_side: int) -> Photo:
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the photo has {len(data)} bytes; the limit is {max_bytes}",
                              code="image.too_large")
    kind = sniff(data)
    if kind is None:
        raise InvalidInput(f"upload a PNG or JPEG photo of the mold; this is {describe(data)}",
                           code="image.unsupported")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Set by something else in the process; a truncated upload would be half decoded.
        raise ConfigurationError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set in this process; "
                                 "photos are not decoded until it is False", code="image.decoder")
    size = header_size(kind, data)
    if size is None:
        raise InvalidInput(f"the {kind} file is damaged: its header has no image size",
                           code="image.corrupt")
    _check_pixels(size, max_megapixels)
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:  # lazy: header only
            if image.size != size:
                raise InvalidInput(f"the {kind} file is damaged: its headers disagree on its size",
                                   code="image.corrupt")
            if kind == "JPEG" and max(size) >= 2 * working_side:
                image.draft("RGB", (working_side, working_side))  # decode at 1/2, 1/4 or 1/8
            image.load()
            orientation = image.getexif().get(_ORIENTATION_TAG, 1)
            upright = ImageOps.exif_transpose(image)
            flat = _on_white(upright)
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, MemoryError) as exc:
        raise InvalidInput("the image decompresses to too many pixels",
                           code="image.too_many_pixels") from exc
    except Exception as exc:  # whatever parsing untrusted bytes raises: the file is unreadable
        raise InvalidInput(f"the {kind} file is damaged or truncated and cannot be read "
                           f"({type(exc).__name__})", code="image.corrupt") from exc
    full = (size[1], size[0]) if orientation in (5, 6, 7, 8) else size
    return Photo(flat, full)


def _check_pixels(size: tuple[int, int], max_megapixels: float) -> None:
    """Above the limit, or above Pillow's own decompression-bomb limit (so its warning, which is
    not an error, cannot happen): refused before anything is decoded. Nothing global changes."""
    width, height = size
    if width == 0 or height == 0:
        raise InvalidInput("the photo has no pixels", code="image.corrupt")
    megapixels = width * height / 1e6
    limit = max_megapixels
    if Image.MAX_IMAGE_PIXELS:
        limit = min(limit, Image.MAX_IMAGE_PIXELS / 1e6)
    if megapixels > limit:
        raise InvalidInput(f"the photo has {megapixels:.1f} megapixels ({width}x{height}); the "
                           f"limit is {limit:g}: take it at a lower resolution or crop it",
                           code="image.too_many_pixels")


def _on_white(image: Image.Image) -> Image.Image:
    """RGB; transparent parts become paper, 16-bit grey is scaled, CMYK and palettes converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return image.convert("RGB")


def sniff(data: bytes) -> str | None:
    """PNG or JPEG, by signature (never by name or declared type)."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(JPEG_SIGNATURE):
        return "JPEG"
    return None


def describe(data: bytes) -> str:
    """What a refused upload seems to be, for the message."""
    if not data:
        return "an empty file"
    head = data[:1024].lstrip().lower()
    if b"<svg" in head or head.startswith(b"<?xml"):
        return "SVG (vector images, which may carry scripts, are not accepted)"
    for magic, label in ((b"gif87a", "GIF"), (b"gif89a", "GIF"), (b"ii*\x00", "TIFF"),
                         (b"mm\x00*", "TIFF"), (b"%pdf", "PDF"), (b"bm", "BMP"),
                         (b"\x00\x00\x01\x00", "an icon (ICO)")):
        if head.startswith(magic):
            return label
    if head.startswith(b"riff") and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIC/AVIF (export the photo as JPEG)"
    if b"<html" in head or b"<!doctype" in head:
        return "an HTML page"
    return "not an image"


def header_size(kind: str, data: bytes) -> tuple[int, int] | None:
    """Width and height as the header declares them, read without Pillow. For a JPEG, the
    largest of its frames before the scan (Pillow takes the last one)."""
    if kind == "PNG":
        # PNG §5.6: IHDR comes first: length (13), type, width, height.
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return _jpeg_size(data)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    found: tuple[int, int] | None = None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE_MARKERS:
            at += 2
            continue
        if marker == _SOS:
            return found
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        if length < 2:
            return None
        if marker in _SOF_MARKERS:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5:at + 9])  # after P (precision)
            if found is None or width * height > found[0] * found[1]:
                found = (int(width), int(height))
        at += 2 + length
    return None
