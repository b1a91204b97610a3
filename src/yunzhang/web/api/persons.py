"""Persons: SMS codes, registration, login sessions, identity and liveness verification."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field

from yunzhang.domain.notifications import CodePurpose
from yunzhang.domain.persons import Person, VerificationLevel
from yunzhang.errors import InvalidInput
from yunzhang.services import persons
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AnonymousCaller,
    ContainerDep,
    PersonCaller,
    Reader,
    Writer,
)

router = APIRouter(prefix="/api/v1", tags=["persons"])

PhoneText = Annotated[str, Field(min_length=1, max_length=20, examples=["13800138000"])]


class SmsCodeRequest(Strict):
    phone: PhoneText
    # Codes for other purposes (confirming an agent) are sent by the flows that need them.
    purpose: Literal[CodePurpose.REGISTER, CodePurpose.LOGIN, CodePurpose.RESET_PASSWORD] = (
        CodePurpose.REGISTER
    )


class SmsCodePublic(Public):
    expires_at: datetime


class RegistrationRequest(Strict):
    phone: PhoneText
    password: Annotated[str, Field(min_length=1, max_length=128)]
    sms_code: Annotated[str, Field(min_length=4, max_length=8, pattern=r"^\s*\d+\s*$")]


class LoginRequest(Strict):
    phone: PhoneText
    password: Annotated[str, Field(min_length=1, max_length=128)]


class IdentityRequest(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, examples=["张三"])]
    id_number: Annotated[str, Field(min_length=1, max_length=20)]


class LivenessRequest(Strict):
    id_number: Annotated[str, Field(min_length=1, max_length=20)]
    face_image: Annotated[str, Field(min_length=1, max_length=800_000,
                                     description="base64 of a JPEG or PNG capture")]


class PersonPublic(Public):
    id: uuid.UUID
    phone: str
    name: str | None
    id_number_masked: str | None
    verification_level: VerificationLevel
    identity_verified_at: datetime | None
    liveness_verified_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, person: Person) -> PersonPublic:
        return cls.model_validate(person)


class SessionPublic(Public):
    person: PersonPublic
    csrf_token: str = Field(description="send as X-CSRF-Token on every write")
    expires_at: datetime


@router.post("/sms-codes", status_code=202, response_model=SmsCodePublic)
def send_sms_code(body: SmsCodeRequest, caller: AnonymousCaller, c: ContainerDep) -> SmsCodePublic:
    """Send a one-time code by SMS (registration, login, password reset). Rate-limited."""
    expires = persons.send_sms_code(
        persons.SendSmsCode(body.phone, CodePurpose(body.purpose)), caller=caller, uow=c.uow,
        keyring=c.keyring, limiter=c.limiter, clock=c.clock, settings=c.settings)
    return SmsCodePublic(expires_at=expires)


@router.post("/persons", status_code=201, response_model=PersonPublic)
def register(body: RegistrationRequest, caller: AnonymousCaller, c: ContainerDep) -> PersonPublic:
    """Register with mobile number, password and the SMS code sent for purpose `register`."""
    person = persons.register_person(
        persons.RegisterPerson(body.phone, body.password, body.sms_code), caller=caller,
        uow=c.uow, keyring=c.keyring, passwords=c.passwords, clock=c.clock, settings=c.settings)
    return PersonPublic.of(person)


@router.post("/sessions", status_code=201, response_model=SessionPublic)
def log_in(body: LoginRequest, caller: AnonymousCaller, c: ContainerDep,
           response: Response) -> SessionPublic:
    """Log in; sets the HttpOnly session cookie and returns the CSRF token for writes."""
    result = persons.log_in(
        persons.LogIn(body.phone, body.password), caller=caller, uow=c.uow, keyring=c.keyring,
        passwords=c.passwords, limiter=c.limiter, clock=c.clock, settings=c.settings,
        dummy_hash=c.dummy_password_hash)
    secure = not c.settings.development
    max_age = c.settings.session_max_hours * 3600
    response.set_cookie(SESSION_COOKIE, result.session_token, max_age=max_age, httponly=True,
                        secure=secure, samesite="lax", path="/")
    response.set_cookie(CSRF_COOKIE, result.csrf_token, max_age=max_age, httponly=False,
                        secure=secure, samesite="strict", path="/")
    return SessionPublic(person=PersonPublic.of(result.person), csrf_token=result.csrf_token,
                         expires_at=result.expires_at)


@router.delete("/sessions/current", status_code=204)
def log_out(request: Request, auth: Writer, caller: PersonCaller, c: ContainerDep) -> Response:
    persons.log_out(request.cookies[SESSION_COOKIE], caller=caller, uow=c.uow,
                    keyring=c.keyring, clock=c.clock)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/me", response_model=PersonPublic)
def me(auth: Reader) -> PersonPublic:
    return PersonPublic.of(auth.person)


@router.post("/me/identity", response_model=PersonPublic)
def verify_identity(body: IdentityRequest, auth: Writer, caller: PersonCaller,
                    c: ContainerDep) -> PersonPublic:
    """实名认证: name + resident ID number, checked with the account's phone by the verifier."""
    person = persons.verify_identity(
        persons.VerifyIdentity(auth.person.id, body.name, body.id_number), caller=caller,
        uow=c.uow, keyring=c.keyring, verifier=c.identity, clock=c.clock)
    return PersonPublic.of(person)


@router.post("/me/liveness", response_model=PersonPublic)
def check_liveness(body: LivenessRequest, auth: Writer, caller: PersonCaller,
                   c: ContainerDep) -> PersonPublic:
    """实人认证: a face capture checked against the verified identity."""
    try:
        image = base64.b64decode(body.face_image, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("face_image is not valid base64", code="liveness.image_encoding") from None
    person = persons.check_liveness(
        persons.CheckLiveness(auth.person.id, body.id_number, image), caller=caller, uow=c.uow,
        keyring=c.keyring, checker=c.liveness, clock=c.clock)
    return PersonPublic.of(person)
