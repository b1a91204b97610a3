"""The demo site's own session (its users' login and their requests): a cookie holding JSON,
signed with HMAC-SHA256 under the site's key and carrying its own expiry. Nothing secret is
kept in it beyond what the browser's user may read (their own claims, their poll tokens); what
matters is that nobody can forge or alter it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

MAX_AGE = 8 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSessions:
    def __init__(self, key: bytes, *, name: str, path: str, secure: bool,
                 max_age: int = MAX_AGE) -> None:
        if len(key) < 32:
            raise ValueError("a session key has at least 32 bytes")
        self._key, self.name, self.path = key, name, path
        self.secure, self.max_age = secure, max_age

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{self.name}.{payload}".encode(), hashlib.sha256)
                    .digest())

    def encode(self, data: dict[str, Any]) -> str:
        payload = _b64(json.dumps({**data, "_exp": int(time.time()) + self.max_age},
                                  separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def decode(self, value: str) -> dict[str, Any]:
        """The data, or {} for a missing, altered, foreign or expired cookie."""
        payload, _, mac = value.partition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            return {}
        try:
            data = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("_exp"), int) or \
                data["_exp"] < time.time():
            return {}
        data.pop("_exp")
        return data

    def load(self, request: Request) -> dict[str, Any]:
        return self.decode(request.cookies.get(self.name, ""))

    def save(self, response: Response, data: dict[str, Any]) -> None:
        # SameSite=Lax: sent on the provider's redirect back to the callback (a top-level GET),
        # never on another site's POST, which keeps the forms free of cross-site requests.
        response.set_cookie(self.name, self.encode(data), max_age=self.max_age, path=self.path,
                            httponly=True, secure=self.secure, samesite="lax")

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.name, path=self.path, httponly=True, secure=self.secure,
                               samesite="lax")
