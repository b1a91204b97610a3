"""What the SDK's clients share about HTTP: one place where httpx failures and RFC 9457 problem
documents become ``SdkError``."""

from __future__ import annotations

import re
from typing import Any

import httpx

from yunzhang.sdk.errors import SdkError

DEFAULT_TIMEOUT = 30.0
USER_AGENT = "yunzhang-sdk/1"  # what the platform records as the requester of scan sessions


def new_client(timeout: float) -> httpx.Client:
    """The SDK's own client when the business system brings none: no redirects followed (an
    answer is the platform's, never a redirect's), a timeout, a user agent that says what it is."""
    return httpx.Client(timeout=timeout, follow_redirects=False,
                        headers={"user-agent": USER_AGENT})


def send(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """The answer if it is a 2xx; ``SdkError`` otherwise, with the platform's problem ``code``
    and ``detail`` (RFC 9457) or OAuth's ``error`` (RFC 6749 §5.2) when it gave one."""
    try:
        response = http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise SdkError(f"no answer from {url.split('?')[0]} ({type(exc).__name__})",
                       code="platform.unreachable") from None
    if response.is_success:
        return response
    raise refusal(response)


def refusal(response: httpx.Response) -> SdkError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("code"), str):
            return SdkError(str(body.get("detail") or body.get("title") or f"HTTP {status}"),
                            code=body["code"], status=status)
        if isinstance(body.get("error"), str):
            return SdkError(f"the provider refused: {body['error'][:60]}"
                            + (f" ({description[:200]})"
                               if isinstance(description := body.get("error_description"), str)
                               else ""), code=oauth_code(body["error"]), status=status)
    return SdkError(f"the platform answered HTTP {status}", code="platform.http", status=status)


def oauth_code(error: str) -> str:
    """An OAuth ``error`` value (RFC 6749 §4.1.2.1, §5.2) as the SDK's code ``oidc.<error>``."""
    return f"oidc.{re.sub(r'[^a-z_]', '', error.lower())[:40] or 'error'}"


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SdkError(f"{what} is not a JSON object", code="platform.malformed")
    return body
