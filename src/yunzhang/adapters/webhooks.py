"""Webhook requests over HTTP (httpx): no redirects followed, a short timeout, the answer's body
never read beyond its status."""

from __future__ import annotations

import httpx

from yunzhang.errors import ExternalServiceError


class HttpxWebhookSender:
    def __init__(self, *, timeout: float, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            response = self._client.post(url, content=body, headers={
                **headers, "content-type": "application/json", "user-agent": "yunzhang-webhooks"})
        except httpx.HTTPError as exc:
            raise ExternalServiceError(f"no answer from the webhook URL ({type(exc).__name__})",
                                       code="webhook.unreachable") from None
        return response.status_code
