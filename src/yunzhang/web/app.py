"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from yunzhang import __version__
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import Settings
from yunzhang.services.notifications import deliver_due
from yunzhang.services.webhooks import deliver_due_webhooks
from yunzhang.web import problems
from yunzhang.web.api import (
    admin,
    admin_pki,
    business_systems,
    consents,
    enterprises,
    grants,
    health,
    licenses,
    persons,
    pki,
    roles,
    scan_sessions,
    seals,
    signing_requests,
    stamps,
    verify,
)
from yunzhang.web.middleware import RequestContextMiddleware
from yunzhang.web.oidc import router as oidc_router

log = logging.getLogger("yunzhang.web")


def create_app(
    settings: Settings, *, container: Container | None = None, deliver_outbox: bool = True
) -> FastAPI:
    """Build the app. It refuses to start on a database behind the code (`yunzhang db upgrade`)."""
    container = container or build_container(settings)
    container.require_current_schema()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_outbox_loop(container)) if deliver_outbox else None
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="yunzhang (云章)",
        version=__version__,
        description="Enterprise electronic identity and electronic seals. Errors are RFC 9457 "
        "problem documents with a stable `code` (docs/errors.md).",
        lifespan=lifespan,
    )
    app.state.container = container
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    problems.install(app)
    # Routes are matched in order, one by one (about 150 of them): the scan login's endpoints
    # come first, as every business system's every login goes through them (docs/oidc.md).
    app.include_router(health.router)
    app.include_router(oidc_router)
    app.include_router(scan_sessions.router)
    app.include_router(persons.router)
    app.include_router(enterprises.router)
    app.include_router(roles.router)
    app.include_router(grants.router)
    app.include_router(seals.router)
    app.include_router(pki.router)
    app.include_router(pki.public)
    app.include_router(pki.tsa)
    app.include_router(verify.router)
    app.include_router(stamps.router)
    app.include_router(admin.router)
    app.include_router(admin_pki.router)
    app.include_router(business_systems.router)
    app.include_router(signing_requests.router)
    app.include_router(licenses.router)
    app.include_router(consents.router)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        large_body_paths={admin.IMPORT_PATH: settings.max_import_bytes,
                          **{path: settings.max_image_bytes + 65_536 for path in seals.UPLOAD_PATHS},
                          **{path: settings.max_image_bytes * 4 // 3 + 65_536
                             for path in signing_requests.HANDWRITING_PATHS},
                          **{path: settings.max_document_bytes * 4 // 3 + 65_536
                             for path in signing_requests.REQUEST_PATHS},
                          **{path: settings.max_document_bytes + 65_536
                             for path in (*verify.VERIFY_PATHS, *stamps.STAMP_PATHS)}},
        registry=registry,
    )
    if settings.demo_sites:  # the demo business systems under /demo/ (development only)
        from yunzhang.web.demo import demo_sites_router

        app.include_router(demo_sites_router(settings))
    return app


async def _outbox_loop(container: Container) -> None:
    """Deliver queued SMS and webhooks in the background; failures are retried by the outboxes
    themselves."""
    settings = container.settings
    while True:
        try:
            await asyncio.to_thread(
                deliver_due, uow=container.uow, sender=container.sms, clock=container.clock,
                max_attempts=settings.outbox_max_attempts,
                keep_bodies=settings.sms_sender == "dev",
            )
        except Exception:  # the loop must survive a database hiccup; the error is logged
            log.exception("outbox delivery round failed")
        try:
            await asyncio.to_thread(
                deliver_due_webhooks, uow=container.uow, sender=container.webhooks,
                clock=container.clock, keyring=container.keyring, settings=settings)
        except Exception:
            log.exception("webhook delivery round failed")
        await asyncio.sleep(settings.outbox_poll_seconds)
