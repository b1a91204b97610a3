"""E-licenses (电子营业执照) over HTTP: a person downloads one into a wallet, lists and revokes
theirs; anyone fetches the keys that verify them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from yunzhang.domain.licenses import LicenseState, LicenseStatus
from yunzhang.domain.roles import Role
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.services import licenses, token_keys
from yunzhang.services.licenses import LicenseView
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import ContainerDep, PersonCaller, Reader, Writer

router = APIRouter(tags=["licenses"])


class DownloadRequest(Strict):
    uscc: Annotated[str, Field(min_length=1, max_length=18)]
    device_id: uuid.UUID = Field(description="the wallet device the license is bound to")


class LicensePublic(Public):
    id: uuid.UUID
    uscc: str
    enterprise_name: str
    role: Role
    device_id: uuid.UUID
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    status: LicenseStatus
    state: LicenseState = Field(description="valid now, or why not")
    credential: str | None = Field(default=None, description=(
        "the signed license (JWS, typ yunzhang-license+jwt); only in the download's answer"))


def _public(view: LicenseView) -> LicensePublic:
    held = view.license
    return LicensePublic(id=held.id, uscc=view.enterprise.uscc,
                         enterprise_name=view.enterprise.name, role=held.role,
                         device_id=held.device_id, issued_at=held.issued_at,
                         not_before=held.not_before, expires_at=held.expires_at,
                         status=held.status, state=view.state, credential=view.credential)


@router.post("/api/v1/me/licenses", status_code=201, response_model=LicensePublic)
def download(body: DownloadRequest, auth: Writer, caller: PersonCaller,
             c: ContainerDep) -> LicensePublic:
    """Download the enterprise's e-license into one of your wallets (after 实名认证 and 实人认证,
    holding a role there; an agent while authorized or before the authorization begins)."""
    return _public(licenses.download(
        licenses.DownloadLicense(auth.person.id, body.uscc, body.device_id), caller=caller,
        uow=c.uow, keys=c.keys, jose=c.jose, clock=c.clock, settings=c.settings))


@router.get("/api/v1/me/licenses", response_model=list[LicensePublic])
def mine(auth: Reader, c: ContainerDep) -> list[LicensePublic]:
    return [_public(v) for v in licenses.list_licenses(auth.person.id, uow=c.uow, clock=c.clock)]


@router.post("/api/v1/me/licenses/{license_id}/revoke", response_model=LicensePublic)
def revoke(license_id: uuid.UUID, auth: Writer, caller: PersonCaller,
           c: ContainerDep) -> LicensePublic:
    """Give a license up (a lost phone): it logs in nowhere from now on."""
    licenses.revoke(auth.person.id, license_id, caller=caller, uow=c.uow, clock=c.clock)
    return next(_public(v) for v in licenses.list_licenses(auth.person.id, uow=c.uow,
                                                           clock=c.clock)
                if v.license.id == license_id)


@router.get("/api/v1/licenses/jwks")
def jwks(c: ContainerDep) -> dict[str, Any]:
    """The JWK Set that verifies e-licenses (RFC 7517), current key first."""
    return token_keys.jwks(TokenPurpose.LICENSE, uow=c.uow, keys=c.keys, jose=c.jose,
                           clock=c.clock, settings=c.settings)
