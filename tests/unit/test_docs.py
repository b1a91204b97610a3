"""The docs keep up with the code: every error code raised and every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

from yunzhang.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _codes_in_source() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "src" / "yunzhang").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes.update(re.findall(r'code="([a-z_]+(?:\.[a-z_]+)*)"', text))
        codes.update(re.findall(r'default_code = "([a-z_.]+)"', text))
        for prefix in re.findall(r'code=f"\{what\}\.([a-z_]+)"', text):
            codes.update({f"identity.{prefix}", f"liveness.{prefix}"})
    return codes


def test_every_error_code_is_documented() -> None:
    documented = set(re.findall(r"`([a-z_]+(?:\.[a-z_<>]+)*)`", (ROOT / "docs/errors.md").read_text()))
    codes = _codes_in_source()
    assert len(codes) > 50  # the scan found the codes (guards against a broken regex)
    assert sorted(codes - documented) == []


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs/configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`YUNZHANG_{name.upper()}`" not in text]
    assert missing == []
