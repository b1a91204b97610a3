"""Seal images with Pillow behind the SealArtist Protocol: templates and photographed molds."""

from __future__ import annotations

from pathlib import Path

from yunzhang.adapters.seal_images import molds, templates
from yunzhang.adapters.seal_images.fonts import load_font
from yunzhang.domain.seal_images import MoldProcessing, SealImageData, TemplateSpec


class PillowSealArtist:
    def __init__(self, font_path: Path | None, *, max_image_bytes: int,
                 max_megapixels: float) -> None:
        self._font_path = font_path
        self._max_bytes = max_image_bytes
        self._max_megapixels = max_megapixels

    def render(self, spec: TemplateSpec) -> SealImageData:
        # The font is found on first use, so a server without one still starts; drawing then
        # fails with a message saying how to install one.
        return templates.render(spec, load_font(self._font_path))

    def process(self, photo: bytes, processing: MoldProcessing) -> SealImageData:
        return molds.process(photo, processing, max_bytes=self._max_bytes,
                             max_megapixels=self._max_megapixels)


__all__ = ["PillowSealArtist"]
