"""Seal images with Pillow behind the SealArtist Protocol: templates and photographed molds."""

from __future__ import annotations

from pathlib import Path

from yunzhang.adapters.seal_images import handwriting, molds, templates
from yunzhang.adapters.seal_images.fonts import load_font
from yunzhang.domain.handwriting import HandwritingData
from yunzhang.domain.seal_images import MoldProcessing, SealImageData, TemplateSpec
from yunzhang.errors import ConfigurationError, YunzhangError


class PillowSealArtist:
    """Only YunzhangErrors leave it: what Pillow or FreeType raise is translated here, at the
    boundary, if the modules below have not already given it a precise code."""

    def __init__(self, font_path: Path | None, *, max_image_bytes: int,
                 max_megapixels: float) -> None:
        self._font_path = font_path
        self._max_bytes = max_image_bytes
        self._max_megapixels = max_megapixels

    def render(self, spec: TemplateSpec) -> SealImageData:
        # The font is found on first use, so a server without one still starts; drawing then
        # fails with a message saying how to install one.
        try:
            return templates.render(spec, load_font(self._font_path))
        except YunzhangError:
            raise
        except (OSError, ValueError, MemoryError) as exc:  # FreeType failing on the font file
            raise ConfigurationError(f"the seal could not be drawn with its font: {exc}",
                                     code="image.font") from exc

    def process(self, photo: bytes, processing: MoldProcessing) -> SealImageData:
        # decoding.decode turns every failure to read the upload into image.*; what remains
        # would be a failure on a sound, decoded picture.
        try:
            return molds.process(photo, processing, max_bytes=self._max_bytes,
                                 max_megapixels=self._max_megapixels)
        except YunzhangError:
            raise
        except (OSError, ValueError, MemoryError) as exc:
            raise YunzhangError(f"the photo could not be processed: {exc}",
                                code="image.failed") from exc

    def handwriting(self, picture: bytes) -> HandwritingData:
        try:
            return handwriting.handwriting(picture, max_bytes=self._max_bytes,
                                           max_megapixels=self._max_megapixels)
        except YunzhangError:
            raise
        except (OSError, ValueError, MemoryError) as exc:
            raise YunzhangError(f"the picture could not be processed: {exc}",
                                code="image.failed") from exc


__all__ = ["PillowSealArtist"]
