"""The one error tree: every failure a user can see is a YunzhangError with a stable code."""

from __future__ import annotations

from typing import Any, ClassVar


class YunzhangError(Exception):
    """Base of every error that may reach a user.

    ``code`` is stable and documented (docs/errors.md); ``detail`` is a human sentence that never
    contains a secret. ``status`` is the HTTP status the web layer uses; ``exit_code`` the CLI's.
    """

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    title: ClassVar[str] = "Internal error"
    default_code: ClassVar[str] = "internal"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra

    def __str__(self) -> str:
        return self.detail


class InvalidInput(YunzhangError):
    status = 422
    exit_code = 2
    title = "Invalid input"
    default_code = "invalid_input"


class PayloadTooLarge(InvalidInput):
    status = 413
    title = "Payload too large"
    default_code = "request.too_large"


class UnsupportedMedia(InvalidInput):
    status = 415
    title = "Unsupported media type"
    default_code = "request.media_type"


class NotFound(YunzhangError):
    status = 404
    exit_code = 3
    title = "Not found"
    default_code = "not_found"


class Conflict(YunzhangError):
    status = 409
    exit_code = 4
    title = "Conflict"
    default_code = "conflict"


class Unauthenticated(YunzhangError):
    """The caller is not (or no longer) known; opaque on purpose (HOUSE_STYLE: security failures)."""

    status = 401
    exit_code = 5
    title = "Authentication required"
    default_code = "auth.required"


class PermissionDenied(YunzhangError):
    """Refused by the decision function; ``detail`` carries the decision's reason."""

    status = 403
    exit_code = 5
    title = "Permission denied"
    default_code = "permission.denied"


class RateLimited(YunzhangError):
    status = 429
    exit_code = 6
    title = "Too many requests"
    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, retry_after=retry_after)
        self.retry_after = retry_after


class ConfigurationError(YunzhangError):
    exit_code = 7
    title = "Configuration error"
    default_code = "config.invalid"


class DatabaseNotReady(YunzhangError):
    status = 503
    exit_code = 8
    title = "Database not ready"
    default_code = "db.not_ready"


class ExternalServiceError(YunzhangError):
    """A provider (SMS gateway, identity verifier) failed or answered nonsense."""

    status = 502
    exit_code = 9
    title = "External service failed"
    default_code = "external.failed"


class SigningError(YunzhangError):
    status = 500
    title = "Signing failed"
    default_code = "signing.failed"


class VerificationError(YunzhangError):
    status = 422
    exit_code = 10
    title = "Verification failed"
    default_code = "verification.failed"


class OAuthError(YunzhangError):
    """An OAuth 2.0 / OpenID Connect error. ``error`` is the RFC's value (RFC 6749 §4.1.2.1 and
    §5.2, OpenID Connect Core §3.1.2.6); the provider tells it the way the spec says: a JSON
    body from the token endpoint, a redirect to the client's registered ``redirect_uri`` (with
    ``state``) from the authorization endpoint, and a page when the client or the redirect URI
    itself is wrong (never redirected then, so no open redirect)."""

    status = 400
    exit_code = 2
    title = "OAuth error"
    default_code = "oidc.invalid_request"

    def __init__(self, error: str, detail: str, *, code: str | None = None,
                 redirect_uri: str | None = None, state: str | None = None) -> None:
        super().__init__(detail, code=code or f"oidc.{error}")
        self.error = error
        self.redirect_uri = redirect_uri  # set only once the URI is known to be registered
        self.state = state


class OAuthInvalidClient(OAuthError):
    """invalid_client (RFC 6749 §5.2): 401 with a WWW-Authenticate challenge."""

    status = 401


class OAuthInvalidToken(OAuthError):
    """invalid_token of a bearer token (RFC 6750 §3.1): 401 with a Bearer challenge."""

    status = 401
