"""The demo business systems (yunzhang.demo_sites) on the platform's own server, when
YUNZHANG_DEMO_SITES is on: their credentials from the demo data (services.demo), the platform's
public URL to call (over HTTP, like any business system), a cookie key of each site's own."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import APIRouter

from yunzhang.config import Settings
from yunzhang.demo_sites import SITES, SiteConfig, demo_router
from yunzhang.services.demo import DEMO_SYSTEMS


def cookie_key(settings: Settings, slug: str) -> bytes:
    """Each site signs its cookies with a key of its own, derived from the server key."""
    return hmac.new(settings.secret_key.get_secret_value().encode(),
                    f"yunzhang demo site {slug}".encode(), hashlib.sha256).digest()


def demo_sites_router(settings: Settings) -> APIRouter:
    configs = []
    for system in DEMO_SYSTEMS:
        spec = next(s for s in SITES if s.client_id == system.client_id)
        configs.append(SiteConfig(spec, settings.public_url, system.client_secret,
                                  system.webhook_secret, cookie_key(settings, spec.slug)))
    return demo_router(configs)
