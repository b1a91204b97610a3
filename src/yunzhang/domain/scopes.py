"""The scope tree of business an agent can be authorized for (seed 002 §2.3: 精准授权)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yunzhang.errors import InvalidInput

_SEGMENT = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def normalize_scope(raw: str) -> str:
    """``registration.*`` and ``registration`` name the same subtree."""
    text = raw.strip()
    return text[:-2] if text.endswith(".*") else text


def scope_covers(granted: str, wanted: str) -> bool:
    """A scope covers itself and every scope below it."""
    return wanted == granted or wanted.startswith(granted + ".")


@dataclass(frozen=True)
class ScopeTree:
    """Every known scope with its title; a node's children share its name as prefix."""

    titles: Mapping[str, str]

    @classmethod
    def from_nested(cls, *documents: Mapping[str, Any]) -> ScopeTree:
        """Merge nested documents ``{"ecommerce": {"title": "电子商务", "children": {...}}}``;
        later documents (the operator's file) add nodes and may retitle existing ones."""
        titles: dict[str, str] = {}

        def walk(nodes: Mapping[str, Any], prefix: str) -> None:
            for segment, node in nodes.items():
                if not _SEGMENT.fullmatch(segment):
                    raise InvalidInput(
                        f"scope segment {segment!r} must be lowercase letters, digits or _",
                        code="scope.definition",
                    )
                name = f"{prefix}{segment}"
                if not isinstance(node, Mapping) or not isinstance(node.get("title"), str):
                    raise InvalidInput(f"scope {name} needs a title", code="scope.definition")
                titles[name] = node["title"]
                walk(node.get("children") or {}, name + ".")

        for document in documents:
            walk(document, "")
        return cls(titles)

    def parse(self, raw: str) -> str:
        name = normalize_scope(raw)
        if name not in self.titles:
            raise InvalidInput(f"unknown scope {raw!r}; see GET /api/v1/scopes", code="scope.unknown")
        return name

    def parse_many(self, raws: list[str]) -> tuple[str, ...]:
        """Known scopes, without duplicates and without scopes already covered by another."""
        names = sorted({self.parse(r) for r in raws})
        return tuple(n for n in names if not any(o != n and scope_covers(o, n) for o in names))

    def title(self, name: str) -> str:
        return self.titles.get(name, name)
