"""Business systems (业务系统, relying parties): bidding, social insurance, registration, ...
registered by the platform operator; they authenticate with their client id and secret."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from yunzhang.domain.scopes import scope_covers
from yunzhang.errors import InvalidInput

_CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MAX_REDIRECT_URIS = 10


class SystemStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # by the operator: no authentication, no stamps


def client_id_of(raw: str) -> str:
    text = raw.strip()
    if not _CLIENT_ID.fullmatch(text):
        raise InvalidInput("a client id is 2-64 lower-case letters, digits or . _ - "
                           "(e.g. demo.bidding)", code="business_system.client_id")
    return text


def _http_url(raw: str, what: str, code: str) -> str:
    """Absolute http(s), no fragment, no credentials; plain http only for loopback hosts
    (RFC 8252 §7.3)."""
    text = raw.strip()
    parts = urlsplit(text)
    if len(text) > 500 or parts.scheme not in ("https", "http") or not parts.hostname \
            or parts.fragment or parts.username or parts.password:
        raise InvalidInput(f"{what} {text[:100]!r} must be an absolute http(s) URI without "
                           f"credentials or a fragment", code=code)
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise InvalidInput(f"{what} {text[:100]!r} must use https (http only for localhost)",
                           code=code)
    return text


def redirect_uri_of(raw: str) -> str:
    """OAuth 2.0 redirect URIs are absolute, without a fragment (RFC 6749 §3.1.2)."""
    return _http_url(raw, "redirect URI", "business_system.redirect_uri")


def webhook_url_of(raw: str) -> str:
    return _http_url(raw, "webhook URL", "business_system.webhook_url")


@dataclass(eq=False)
class BusinessSystem:
    client_id: str
    name: str  # shown to people in the wallet and in grants
    secret_hash: str = field(repr=False)
    scopes: list[str]  # what the system may ask for (scope tree names)
    redirect_uris: list[str]
    created_at: datetime
    status: SystemStatus = SystemStatus.ACTIVE
    webhook_url: str | None = None  # where results are announced (docs/webhooks.md)
    webhook_secret: str | None = field(default=None, repr=False)  # sealed by the Keyring
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def allows(self, scope: str) -> bool:
        return any(scope_covers(own, scope) for own in self.scopes)

    def require_scope(self, scope: str, *, code: str = "scan.scope") -> None:
        """InvalidInput unless the system is registered for ``scope`` (or a broader one)."""
        if not self.allows(scope):
            raise InvalidInput(f"{self.client_id} is registered for {', '.join(self.scopes)}; "
                               f"not for {scope}", code=code)
