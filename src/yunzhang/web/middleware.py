"""ASGI middleware: request ids, body-size limits and Prometheus metrics."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yunzhang.web.problems import PROBLEM_JSON, problem_type

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Assigns a request id (or keeps a well-formed inbound X-Request-ID), limits the body size,
    and counts requests. Oversized bodies are refused before the route reads them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        large_body_paths: dict[str, int],
        registry: CollectorRegistry,
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        # Paths (regular expressions, matched whole) that may carry larger bodies: uploads.
        self.large = [(re.compile(pattern), limit) for pattern, limit in large_body_paths.items()]
        self.requests = Counter("yunzhang_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("yunzhang_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        inbound = headers.get("x-request-id", "")
        request_id = inbound if _REQUEST_ID.fullmatch(inbound) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        limit = next((most for pattern, most in self.large if pattern.fullmatch(scope["path"])),
                     self.max_body)
        declared = headers.get("content-length", "")
        if (declared.isdigit() and int(declared) > limit) or not await self._buffer(
            scope, receive, limit
        ):
            await self._too_large(scope, send, request_id, limit)
            self.requests.labels(scope["method"], "unmatched", "413").inc()
            return
        body = scope["state"].pop("_body")
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, replay, send_with_id)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.requests.labels(scope["method"], template, str(status)).inc()
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - started)

    @staticmethod
    async def _buffer(scope: Scope, receive: Receive, limit: int) -> bool:
        """Read the whole body (bounded by ``limit``) before the app sees it; False if larger.
        Chunked uploads without a Content-Length are caught here too."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return False
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        scope["state"]["_body"] = b"".join(chunks)
        return True

    @staticmethod
    async def _too_large(scope: Scope, send: Send, request_id: str, limit: int) -> None:
        body = json.dumps({
            "type": problem_type("request.too_large"),
            "title": "Payload too large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
            "code": "request.too_large",
            "instance": scope["path"],
            "request_id": request_id,
        }).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})
