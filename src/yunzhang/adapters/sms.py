"""SMS senders: the development sender (log only) and an HTTP gateway adapter."""

from __future__ import annotations

import logging

import httpx

from yunzhang.domain.ids import Phone
from yunzhang.errors import ExternalServiceError
from yunzhang.services.ports import SmsReceipt

log = logging.getLogger("yunzhang.sms")


class DevSmsSender:
    """Development only (refused in production by the settings): writes the message to the log.

    Every message also stays in the outbox table, where operators read it with
    ``yunzhang sms list`` or ``GET /api/v1/admin/outbox``.
    """

    def send(self, phone: str, body: str) -> SmsReceipt:
        log.info("dev SMS to %s: %s", Phone(phone).masked, body)
        return SmsReceipt(provider_id=None)


class HttpSmsSender:
    """Posts ``{"to": phone, "text": body}`` as JSON with a bearer token; expects 2xx and
    optionally ``{"id": "..."}`` back (docs/providers.md)."""

    def __init__(self, url: str, token: str, *, timeout: float, client: httpx.Client | None = None) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout)

    def send(self, phone: str, body: str) -> SmsReceipt:
        try:
            response = self._client.post(
                self._url, json={"to": phone, "text": body}, headers=self._headers
            )
        except httpx.HTTPError as err:
            raise ExternalServiceError(
                f"SMS gateway unreachable: {type(err).__name__}", code="sms.gateway_unreachable"
            ) from err
        if response.status_code // 100 != 2:
            raise ExternalServiceError(
                f"SMS gateway answered HTTP {response.status_code}", code="sms.gateway_refused"
            )
        provider_id = None
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                data = response.json()
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                provider_id = data["id"][:128]
        return SmsReceipt(provider_id=provider_id)
