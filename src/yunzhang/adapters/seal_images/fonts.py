"""The CJK font seal images are drawn with, and the check that it has every glyph asked for:
a character the font lacks would come out as a box (.notdef), which is refused instead."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont, TTLibError  # type: ignore[import-untyped]
from PIL import ImageFont

from yunzhang.errors import ConfigurationError

# Song/Ming faces first: seals are cut in 宋体/仿宋 styles. (path, face index of Simplified Chinese)
KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # AR PL UMing CN (fonts-arphic-uming)
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),  # Noto Serif CJK SC
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # Noto Sans CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # WenQuanYi Zen Hei
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
INSTALL_HINT = "run `bash scripts/ensure-packages.sh runtime` or set YUNZHANG_SEAL_FONT"


@dataclass(frozen=True)
class SealFont:
    path: Path
    index: int
    name: str
    characters: frozenset[int] = field(repr=False)

    def require(self, text: str) -> None:
        missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in self.characters})
        if missing:
            raise ConfigurationError(
                f"the seal font {self.name} has no glyph for {''.join(missing)!r}; it would be "
                f"drawn as a box. Use a CJK font: {INSTALL_HINT}", code="image.font")

    def sized(self, pixels: int) -> ImageFont.FreeTypeFont:
        return _truetype(str(self.path), self.index, max(pixels, 4))


@lru_cache(maxsize=64)
def _truetype(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


@lru_cache(maxsize=8)
def load_font(path: Path | None) -> SealFont:
    """The configured font, or the first known one installed, or fontconfig's pick for zh-cn."""
    if path is not None:
        if not path.is_file():
            raise ConfigurationError(f"YUNZHANG_SEAL_FONT: no font file at {path}", code="image.font")
        return _open(path, 0)
    for candidate, index in KNOWN_FONTS:
        if Path(candidate).is_file():
            return _open(Path(candidate), index)
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        if found and Path(found).is_file():
            return _open(Path(found), 0)
    raise ConfigurationError(f"no CJK font for seal images is installed: {INSTALL_HINT}",
                             code="image.font")


def _open(path: Path, index: int) -> SealFont:
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            face = TTCollection(str(path), lazy=True).fonts[index]
        else:
            face = TTFont(str(path), lazy=True)
        cmap = face.getBestCmap() or {}
        label = face["name"].getDebugName(4) or path.name
        ImageFont.truetype(str(path), 12, index=index)
    except (TTLibError, OSError, IndexError, KeyError) as exc:
        raise ConfigurationError(f"the seal font {path} cannot be read: {exc}",
                                 code="image.font") from None
    return SealFont(path, index, label, frozenset(cmap))
