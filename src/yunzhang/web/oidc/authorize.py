"""The authorization endpoint and its page: GET or POST /oidc/authorize (OpenID Connect Core
§3.1.2.1) shows the scan QR code; the page follows the scan session at /wait with its cookie,
then /done sends the code back, or asks for consent first (/consent)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from yunzhang.domain.scan_sessions import ScanState
from yunzhang.errors import OAuthError, YunzhangError
from yunzhang.services import oidc
from yunzhang.web.api import Public
from yunzhang.web.deps import AnonymousCaller, ContainerDep
from yunzhang.web.oidc import pages

router = APIRouter(tags=["OpenID Connect"])
COOKIE = "yunzhang_oidc"
MAX_QUERY = 8192
MAX_WAIT = 25


def _error_target(told: OAuthError, c: ContainerDep) -> str | None:
    """RFC 6749 §4.1.2.1: the business system hears of an error when its redirect URI is known
    to be right (this URL); otherwise it is shown on the page (None)."""
    return oidc.error_redirect(told, c.settings) if told.redirect_uri is not None else None


def _answer(error: YunzhangError, c: ContainerDep) -> Response:
    told = oidc.page_error(error)
    target = _error_target(told, c)
    return RedirectResponse(target, status_code=303) if target else pages.error_page(told)


def _begin(params: dict[str, list[str]], request: Request, caller: AnonymousCaller,
           c: ContainerDep) -> Response:
    if len(request.url.query) > MAX_QUERY or sum(len(v) for vs in params.values() for v in vs) \
            > MAX_QUERY:
        return pages.error_page(OAuthError("invalid_request", "the request is too large",
                                           code="oidc.too_large"))
    try:
        begun = oidc.begin(oidc.Authorize(params, caller.ip, caller.user_agent), caller=caller,
                           uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings,
                           scopes=c.scopes)
    except YunzhangError as error:
        return _answer(error, c)
    response = pages.login_page(begun, user_agent=caller.user_agent)
    # The page's poll token: only this browser learns the scan's result (DESIGN.md).
    response.set_cookie(COOKIE, begun.opened.poll_token, max_age=c.settings.oidc_request_seconds,
                        path=f"/oidc/authorize/{begun.authorization.id}", httponly=True,
                        samesite="lax", secure=c.settings.public_url.startswith("https:"))
    return response


@router.get("/oidc/authorize", include_in_schema=False)
def authorize(request: Request, caller: AnonymousCaller, c: ContainerDep) -> Response:
    params = {k: request.query_params.getlist(k) for k in request.query_params.keys()}
    return _begin(params, request, caller, c)


@router.post("/oidc/authorize", include_in_schema=False)
async def authorize_form(request: Request, caller: AnonymousCaller, c: ContainerDep) -> Response:
    """The same request as a form post (OpenID Connect Core §3.1.2.1: GET and POST)."""
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception:  # noqa: BLE001 - a body that is no form
        return pages.error_page(OAuthError("invalid_request", "the body is not a form",
                                           code="oidc.form"))
    params = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form.keys()}
    return await run_in_threadpool(_begin, params, request, caller, c)


class WaitPublic(Public):
    state: ScanState
    next: str | None = Field(default=None, description=(
        "once the scan ended: where the page goes now, the business system's redirect URI "
        "with the code (or the error), or this login's /done page (consent, an error page)"))


_WAITING = (ScanState.PENDING, ScanState.SCANNED)
# Expired is not among them: the page offers a new code, and the business system is told only
# if the person goes on to /done.
_ANSWERED = (ScanState.CONFIRMED, ScanState.DENIED, ScanState.REFUSED)


@router.get("/oidc/authorize/{authorization_id}/wait", response_model=WaitPublic,
            include_in_schema=False)
async def wait(authorization_id: str, request: Request, caller: AnonymousCaller,
               c: ContainerDep, wait: Annotated[int, Query(ge=0, le=MAX_WAIT)] = 0) -> Response:
    """The page's long poll of its scan session (the cookie's poll token), read once a second.
    When the wallet has answered the login is finished at once, as /done would, and the answer
    says where to go (WeChat's QR login answers its poll the same way): one request less per
    login than a poll followed by /done."""
    token = request.cookies.get(COOKIE) or ""
    first = await run_in_threadpool(oidc.progress, authorization_id, token, uow=c.uow,
                                    clock=c.clock, keyring=c.keyring)
    current = first
    for _ in range(wait):
        if current not in _WAITING or current is not first:
            break
        await asyncio.sleep(1)
        current = await run_in_threadpool(oidc.progress, authorization_id, token, uow=c.uow,
                                          clock=c.clock, keyring=c.keyring)
    answer = WaitPublic(state=current, next=await run_in_threadpool(
        _next, authorization_id, token, caller, c) if current in _ANSWERED else None)
    # The answer may carry a code: never stored by a cache (RFC 6749 §5.1 for the same reason).
    return JSONResponse(answer.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def _next(authorization_id: str, poll_token: str, caller: AnonymousCaller,
          c: ContainerDep) -> str:
    done = f"/oidc/authorize/{quote(authorization_id)}/done"
    try:
        finished = oidc.finish(authorization_id, poll_token, caller=caller, uow=c.uow,
                               clock=c.clock, keyring=c.keyring, settings=c.settings,
                               scopes=c.scopes)
    except YunzhangError as error:
        return _error_target(oidc.page_error(error), c) or done  # the page: shown on /done
    return finished.redirect or done  # consent is asked on /done


def _finished(done: oidc.Finished) -> Response:
    if done.ask is not None:
        return pages.consent_page(done.ask)
    assert done.redirect is not None
    return RedirectResponse(done.redirect, status_code=303)


@router.get("/oidc/authorize/{authorization_id}/done", include_in_schema=False)
def done(authorization_id: str, request: Request, caller: AnonymousCaller,
         c: ContainerDep) -> Response:
    try:
        return _finished(oidc.finish(authorization_id, request.cookies.get(COOKIE) or "",
                                     caller=caller, uow=c.uow, clock=c.clock, keyring=c.keyring,
                                     settings=c.settings, scopes=c.scopes))
    except YunzhangError as error:
        return _answer(error, c)


@router.post("/oidc/authorize/{authorization_id}/consent", include_in_schema=False)
def consent(authorization_id: str, request: Request, caller: AnonymousCaller, c: ContainerDep,
            form_token: Annotated[str, Form()] = "",
            decision: Annotated[str, Form()] = "") -> Response:
    if decision not in ("approve", "deny"):
        return pages.error_page(OAuthError("invalid_request", "decision is approve or deny",
                                           code="oidc.consent_form"))
    try:
        return _finished(oidc.decide(
            oidc.Decide(authorization_id, request.cookies.get(COOKIE) or "", form_token,
                        decision == "approve"),
            caller=caller, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings))
    except YunzhangError as error:
        return _answer(error, c)
