"""RFC 9457 problem details: the one place where errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yunzhang.errors import RateLimited, YunzhangError

log = logging.getLogger("yunzhang.web")

PROBLEM_JSON = "application/problem+json"


def problem_type(code: str) -> str:
    # A stable URI per code; docs/errors.md lists them all.
    return f"urn:yunzhang:problem:{code}"


def problem_response(
    request: Request, *, status: int, code: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    body.update({k: v for k, v in extra.items() if k not in body})
    headers = {}
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        # Also here because a 500 is sent from outside the middleware that normally adds it.
        headers["X-Request-ID"] = request_id
    if status == 401:
        scheme = {"auth.operator_required": "Bearer", "client.auth": "Basic"}.get(code, "Cookie")
        headers["WWW-Authenticate"] = f'{scheme} realm="yunzhang"'
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _from_error(request: Request, exc: YunzhangError) -> JSONResponse:
    response = problem_response(
        request, status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **exc.extra
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    if exc.status >= 500:
        log.error("request %s failed: %s (%s)", getattr(request.state, "request_id", "-"),
                  exc.code, exc.detail)
    return response


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        kind = err.get("type", "invalid")
        errors.append({"field": ".".join(loc) or "body", "problem": kind, "message": err.get("msg", "")})
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    unknown = [e["field"] for e in errors if e["problem"] == "extra_forbidden"]
    if unknown:
        code, detail = "request.unknown_field", f"unknown field(s): {', '.join(unknown)}"
    elif any(e["problem"] == "json_invalid" for e in errors):
        code, detail = "request.malformed_json", "the request body is not valid JSON"
    else:
        code, detail = "request.invalid", f"{first['field']}: {first['message']}"
    return problem_response(request, status=422, code=code, title="Invalid request", detail=detail,
                            errors=errors)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {404: "http.not_found", 405: "http.method_not_allowed", 415: "http.unsupported_media"}
    code = codes.get(exc.status_code, f"http.{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    response = problem_response(request, status=exc.status_code, code=code, title=detail, detail=detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the server log under the request id; the caller gets only the id.
    # exc_info=exc, not log.exception: Starlette runs this sync handler in a worker thread, where
    # no exception is being handled and log.exception would log "NoneType: None".
    log.error("unexpected error in request %s", getattr(request.state, "request_id", "-"),
              exc_info=exc)
    return problem_response(request, status=500, code="internal", title="Internal error",
                            detail="an unexpected error occurred; quote the request id to the operator")


def install(app: FastAPI) -> None:
    app.add_exception_handler(YunzhangError, _from_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
