"""The CJK font seal images are drawn with, and the check that it has a real glyph for every
character asked for: one it lacks would come out as a box (.notdef), which is refused instead."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont, TTLibError  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from yunzhang.errors import ConfigurationError

# Ming/Song faces first: seals are cut in 宋体/仿宋 styles. In a collection (.ttc) the Simplified
# Chinese face is picked by its name (see _face_index): uming.ttc holds CN (index 0), HK, TW and
# TW MBE; the Noto CJK collections JP, KR, SC (index 2), TC, HK.
KNOWN_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # AR PL UMing (fonts-arphic-uming)
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
)
INSTALL_HINT = "run `bash scripts/ensure-packages.sh runtime` or set YUNZHANG_SEAL_FONT"
# A face is taken as a CJK font only when it covers these (for fontconfig's pick, which falls back
# to any font at all, e.g. DejaVu Sans, when no CJK font is installed).
PROBE = "中华人民共和国印章有限公司"
_SIMPLIFIED = re.compile(r"\b(SC|CN|GB|PRC)\b|Simplified|简")
_NOTDEF_PROBE = "\U0010ffff"  # a noncharacter: no font maps it, so it draws the .notdef glyph
_CHECK_PIXELS = 48


@dataclass(frozen=True)
class SealFont:
    path: Path
    index: int
    name: str
    characters: frozenset[int] = field(repr=False)

    def require(self, text: str) -> None:
        """Refuses text with a character the font would draw as a box or not at all.

        Two checks: the face's character map (fontTools) must list the character, and its
        rendering must be neither empty nor the .notdef glyph's (a map can point at an empty or
        placeholder glyph)."""
        wanted = sorted({ch for ch in text if not ch.isspace()})
        missing = [ch for ch in wanted if ord(ch) not in self.characters]
        if not missing:
            notdef = _rendering(str(self.path), self.index, _NOTDEF_PROBE)
            missing = [ch for ch in wanted
                       if _rendering(str(self.path), self.index, ch) in (None, notdef)]
        if missing:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing[:8])
            raise ConfigurationError(
                f"the seal font {self.name} has no glyph for {shown}; it would be drawn as a box. "
                f"Use a font with Chinese characters: {INSTALL_HINT}", code="image.font")

    def sized(self, pixels: int) -> ImageFont.FreeTypeFont:
        return _truetype(str(self.path), self.index, max(pixels, 4))


@lru_cache(maxsize=64)
def _truetype(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


@lru_cache(maxsize=2048)
def _rendering(path: str, index: int, ch: str) -> tuple[tuple[int, int], bytes] | None:
    """The character's ink at a fixed size, or None when it leaves no ink."""
    face = _truetype(path, index, _CHECK_PIXELS)
    left, top, right, bottom = face.getbbox(ch)
    if right <= left or bottom <= top:
        return None
    cell = Image.new("L", (int(right - left), int(bottom - top)), 0)
    ImageDraw.Draw(cell).text((-left, -top), ch, font=face, fill=255)
    if cell.getbbox() is None:
        return None
    return cell.size, cell.tobytes()


@lru_cache(maxsize=8)
def load_font(path: Path | None) -> SealFont:
    """The configured font, else the first known one installed, else fontconfig's pick for zh-cn
    when it covers Chinese. Found on first use, so a server without a font still starts."""
    if path is not None:
        if not path.is_file():
            raise ConfigurationError(f"YUNZHANG_SEAL_FONT: no font file at {path}",
                                     code="image.font")
        return _open(path, None)
    for candidate in KNOWN_FONTS:
        if Path(candidate).is_file():
            return _open(Path(candidate), None)
    picked = _fontconfig_pick()
    if picked is not None:
        font = _open(*picked)
        if all(ord(ch) in font.characters for ch in PROBE):
            return font
    raise ConfigurationError(f"no font with Chinese characters for seal images is installed: "
                             f"{INSTALL_HINT}", code="image.font")


def _fontconfig_pick() -> tuple[Path, int] | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        answer = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", ":lang=zh-cn"],
                                capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    file, _, index = answer.partition("\n")
    if not file or not Path(file).is_file():
        return None
    return Path(file), int(index) if index.strip().isdigit() else 0


def _open(path: Path, index: int | None) -> SealFont:
    """Reads the face's character map; in a collection, ``index`` None picks the Simplified
    Chinese face by its name, else the first face."""
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            faces = TTCollection(str(path), lazy=True).fonts
            index = _face_index(faces) if index is None else index
            face = faces[index]
        else:
            index = index or 0
            face = TTFont(str(path), lazy=True)
        characters = frozenset(face.getBestCmap() or {})
        label = face["name"].getDebugName(4) or path.name
        ImageFont.truetype(str(path), 12, index=index)  # FreeType must read it too
    except (TTLibError, OSError, IndexError, KeyError, ValueError) as exc:
        raise ConfigurationError(f"the seal font {path} cannot be read: {exc}",
                                 code="image.font") from exc
    return SealFont(path, index, str(label), characters)


def _face_index(faces: list[TTFont]) -> int:
    for index, face in enumerate(faces):
        if _SIMPLIFIED.search(str(face["name"].getDebugName(1) or "")):
            return index
    return 0
