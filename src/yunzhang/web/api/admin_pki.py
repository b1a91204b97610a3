"""Operator API for the PKI, platform staff, seal types and revoking persons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import RevocationReason
from yunzhang.domain.seal_images import SealShape
from yunzhang.domain.staff import StaffRole
from yunzhang.services import certificates, persons, pki, seal_types, staff
from yunzhang.web.api import Public, Strict
from yunzhang.web.api.pki import CertificatePublic, certificate_public
from yunzhang.web.api.seals import SealTypePublic
from yunzhang.web.deps import ContainerDep, Operator

router = APIRouter(prefix="/api/v1/admin", tags=["operators"])


class PkiInitRequest(Strict):
    algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256


@router.post("/pki", status_code=201, response_model=list[CertificatePublic])
def init_pki(body: PkiInitRequest, caller: Operator, c: ContainerDep) -> list[CertificatePublic]:
    """Make the root, the issuing CAs and the TSA certificate (once)."""
    made = pki.init_pki(pki.InitPki(body.algorithm), caller=caller, uow=c.uow, keys=c.keys,
                        factory=c.x509, clock=c.clock, settings=c.settings)
    return [certificate_public(cert) for cert in made]


class RevokeRequest(Strict):
    reason: RevocationReason = RevocationReason.UNSPECIFIED


@router.post("/certificates/{issuer}/{serial}/revoke", response_model=CertificatePublic)
def revoke_certificate(issuer: str, serial: str, body: RevokeRequest, caller: Operator,
                       c: ContainerDep) -> CertificatePublic:
    cert = certificates.revoke_by_operator(issuer, serial, body.reason, caller=caller, uow=c.uow,
                                           keys=c.keys, factory=c.x509, clock=c.clock)
    return certificate_public(cert)


class PersonRevokeRequest(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class PersonRevokedPublic(Public):
    revoked_certificates: list[str]


@router.post("/persons/{phone}/revoke", response_model=PersonRevokedPublic)
def revoke_person(phone: str, body: PersonRevokeRequest, caller: Operator,
                  c: ContainerDep) -> PersonRevokedPublic:
    """The person can no longer log in; all their certificates are revoked at once."""
    serials = persons.revoke_person(persons.RevokePerson(phone, body.reason), caller=caller,
                                    uow=c.uow, factory=c.x509, clock=c.clock)
    return PersonRevokedPublic(revoked_certificates=serials)


class StaffRequest(Strict):
    phone: Annotated[str, Field(min_length=1, max_length=20)]
    role: StaffRole


class StaffPublic(Public):
    phone: str
    role: StaffRole


@router.get("/staff", response_model=list[StaffPublic])
def list_staff(caller: Operator, c: ContainerDep) -> list[StaffPublic]:
    return [StaffPublic(phone=phone, role=m.role) for m, phone in staff.list_staff(uow=c.uow)]


@router.post("/staff", status_code=201, response_model=StaffPublic)
def grant_staff(body: StaffRequest, caller: Operator, c: ContainerDep) -> StaffPublic:
    """Appoint platform staff, e.g. a seal reviewer (印章审核员)."""
    staff.grant_staff(body.phone, body.role.value, caller=caller, uow=c.uow, clock=c.clock)
    return StaffPublic(phone=body.phone, role=body.role)


@router.delete("/staff/{role}/{phone}", status_code=204)
def revoke_staff(role: str, phone: str, caller: Operator, c: ContainerDep) -> None:
    staff.revoke_staff(phone, role, caller=caller, uow=c.uow)


class SealTypeRequest(Strict):
    code: Annotated[str, Field(min_length=1, max_length=32)]
    name: Annotated[str, Field(min_length=1, max_length=20)]
    shape: SealShape
    kinds: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=10)] = []
    filing_required: bool = False


@router.post("/seal-types", status_code=201, response_model=SealTypePublic)
def add_seal_type(body: SealTypeRequest, caller: Operator, c: ContainerDep) -> SealTypePublic:
    """An operator-defined seal type, e.g. 报关专用章 (customs declaration seal)."""
    made = seal_types.add_type(body.code, body.name, body.shape.value, body.kinds,
                               body.filing_required, caller=caller, uow=c.uow, clock=c.clock)
    return SealTypePublic.model_validate(made)
