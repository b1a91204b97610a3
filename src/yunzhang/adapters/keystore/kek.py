"""The key-encryption keys (KEKs) of the software key store: a ring, the first one current."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path

from yunzhang.errors import ConfigurationError

KEK_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class KekRing:
    """``current`` wraps new data keys; every KEK in ``keys`` still unwraps (during rotation)."""

    current: str
    keys: dict[str, bytes] = field(repr=False)

    @classmethod
    def parse(cls, text: str, *, source: str) -> KekRing:
        """``id:base64key`` entries separated by commas or newlines; ``#`` starts a comment."""
        entries: list[tuple[str, bytes]] = []
        for raw in re.split(r"[,\n]", text):
            entry = raw.split("#", 1)[0].strip()
            if not entry:
                continue
            kek_id, sep, encoded = entry.partition(":")
            kek_id = kek_id.strip()
            if not sep or not KEK_ID.fullmatch(kek_id):
                raise ConfigurationError(f"{source}: each entry is id:base64key with an id of "
                                         f"1-32 letters, digits, '_' or '-'", code="config.kek")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ConfigurationError(f"{source}: the key of {kek_id!r} is not base64",
                                         code="config.kek") from None
            if len(key) != 32:
                raise ConfigurationError(f"{source}: the key of {kek_id!r} must be 32 bytes "
                                         f"(it has {len(key)})", code="config.kek")
            if any(kek_id == known for known, _ in entries):
                raise ConfigurationError(f"{source}: KEK id {kek_id!r} appears twice",
                                         code="config.kek")
            entries.append((kek_id, key))
        if not entries:
            raise ConfigurationError(f"{source} names no key-encryption key", code="config.kek")
        return cls(entries[0][0], dict(entries))

    @classmethod
    def from_settings(cls, kek: str, kek_file: Path | None) -> KekRing:
        if kek_file is not None:
            try:
                text = kek_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigurationError(f"YUNZHANG_KEK_FILE: cannot read {kek_file}: "
                                         f"{exc.strerror}", code="config.kek") from None
            return cls.parse(text, source="YUNZHANG_KEK_FILE")
        return cls.parse(kek, source="YUNZHANG_KEK")
