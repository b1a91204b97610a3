"""FastAPI dependencies, as ``Annotated`` aliases: the container, the caller, the person, the
operator. Routes take these and nothing else from the request machinery."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import Depends, Request

from yunzhang.bootstrap import Container
from yunzhang.errors import PermissionDenied, Unauthenticated
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.services import business_systems, persons
from yunzhang.services.context import Caller

SESSION_COOKIE = "yunzhang_session"
CSRF_COOKIE = "yunzhang_csrf"
CSRF_HEADER = "x-csrf-token"


# Dependencies that only read the request are ``async def``: FastAPI calls those in the event
# loop, while a plain ``def`` is sent to the thread pool and back, a thread hop per request for
# nothing. Those that read the database stay ``def`` (they block).


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def _caller(request: Request, actor: str) -> Caller:
    return Caller(
        actor=actor,
        request_id=getattr(request.state, "request_id", "-"),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


async def anonymous_caller(request: Request) -> Caller:
    return _caller(request, "anonymous")


AnonymousCaller = Annotated[Caller, Depends(anonymous_caller)]


def _authenticated(request: Request, container: Container) -> persons.Authenticated:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        raise Unauthenticated("log in first: the session is missing, expired or ended",
                              code="auth.session_invalid")
    return persons.authenticate(token, uow=container.uow, keyring=container.keyring,
                                clock=container.clock, settings=container.settings)


def session_reader(request: Request, container: ContainerDep) -> persons.Authenticated:
    """A logged-in person, for reads."""
    auth = _authenticated(request, container)
    request.state.caller = _caller(request, f"person:{auth.person.id}")
    return auth


def session_writer(request: Request, container: ContainerDep) -> persons.Authenticated:
    """A logged-in person, for writes: the X-CSRF-Token header must match the session's token
    (the cookie alone, which any site can make a browser send, is not enough)."""
    auth = session_reader(request, container)
    token = request.headers.get(CSRF_HEADER, "")
    expected = container.keyring.secret_hash("csrf", token)
    if not token or not container.keyring.same(expected, auth.csrf_hash):
        raise PermissionDenied("missing or wrong X-CSRF-Token header for this session",
                               code="auth.csrf")
    return auth


Reader = Annotated[persons.Authenticated, Depends(session_reader)]
Writer = Annotated[persons.Authenticated, Depends(session_writer)]


async def person_caller(request: Request) -> Caller:
    caller: Caller = request.state.caller
    return caller


PersonCaller = Annotated[Caller, Depends(person_caller)]


async def operator_caller(request: Request, container: ContainerDep) -> Caller:
    """Platform operators authenticate with the admin token as a bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = container.settings.admin_token.get_secret_value()
    if scheme.lower() != "bearer" or not token or not container.keyring.same(token, expected):
        raise Unauthenticated("operator endpoints need 'Authorization: Bearer <admin token>'",
                              code="auth.operator_required")
    return _caller(request, "operator")


Operator = Annotated[Caller, Depends(operator_caller)]


@dataclass(frozen=True)
class SystemCaller:
    system: BusinessSystem
    caller: Caller


def system_caller(request: Request, container: ContainerDep) -> SystemCaller:
    """Business systems authenticate with their client id and secret in HTTP Basic
    (client_secret_basic, RFC 6749 §2.3.1: each part form-urlencoded before base64)."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    client_id, secret = "", ""
    if scheme.lower() == "basic" and 0 < len(encoded) <= 1024:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        raw_id, colon, raw_secret = decoded.partition(":")
        if colon:
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if not client_id or not secret:
        raise Unauthenticated("business systems authenticate with 'Authorization: Basic "
                              "base64(client_id:client_secret)'", code="client.auth")
    caller = _caller(request, f"system:{client_id[:64]}")
    system = business_systems.authenticate(client_id, secret, caller=caller, uow=container.uow,
                                           keyring=container.keyring)
    return SystemCaller(system, caller)


System = Annotated[SystemCaller, Depends(system_caller)]
