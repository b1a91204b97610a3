"""Loading the scope tree: the built-in data file, extended by the operator's own file."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from yunzhang.domain.scopes import ScopeTree
from yunzhang.errors import ConfigurationError, InvalidInput


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigurationError(f"{where} is not valid JSON (line {err.lineno}: {err.msg})",
                                 code="config.scopes") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where} must hold a JSON object of scopes", code="config.scopes")
    return data


def load_scope_tree(extra: Path | None) -> ScopeTree:
    builtin = resources.files("yunzhang").joinpath("data/scopes.json").read_text(encoding="utf-8")
    documents = [_read(builtin, "the built-in scope tree")]
    if extra is not None:
        try:
            text = extra.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigurationError(f"YUNZHANG_SCOPES_FILE cannot be read: {err.strerror}",
                                     code="config.scopes") from None
        documents.append(_read(text, "YUNZHANG_SCOPES_FILE"))
    try:
        return ScopeTree.from_nested(*documents)
    except InvalidInput as err:
        raise ConfigurationError(f"scope tree: {err.detail}", code="config.scopes") from None
