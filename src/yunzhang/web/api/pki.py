"""The PKI in public (CA certificates, CRLs, OCSP: RFC 5280, RFC 6960, no login) and the
certificates of enterprises (法人一证通) and persons."""

from __future__ import annotations

import base64
import binascii
import ssl
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from pydantic import Field

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import CaName, Certificate, CertStatus, Profile, RevocationReason
from yunzhang.errors import UnsupportedMedia
from yunzhang.services import certificates, pki, timestamps
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import ContainerDep, PersonCaller, Reader, Writer

public = APIRouter(prefix="/pki", tags=["pki (public)"])
router = APIRouter(prefix="/api/v1", tags=["certificates"])

OCSP_REQUEST, OCSP_RESPONSE = "application/ocsp-request", "application/ocsp-response"


class CertificatePublic(Public):
    serial: str = Field(description="hexadecimal")
    issuer: CaName
    profile: Profile
    subject: str
    algorithm: KeyAlgorithm
    not_before: datetime
    not_after: datetime
    status: CertStatus
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None
    pem: str


def certificate_public(cert: Certificate) -> CertificatePublic:
    return CertificatePublic(
        serial=cert.serial, issuer=cert.issuer, profile=cert.profile, subject=cert.subject,
        algorithm=cert.algorithm, not_before=cert.not_before, not_after=cert.not_after,
        status=cert.status, revoked_at=cert.revoked_at, revocation_reason=cert.revocation_reason,
        pem=ssl.DER_cert_to_PEM_cert(cert.der))


@public.get("/ca/{name}.cer", response_class=Response,
            responses={200: {"content": {"application/pkix-cert": {}}}})
def ca_certificate(name: str, c: ContainerDep) -> Response:
    """A CA certificate, DER (the AIA caIssuers address, RFC 5280 §4.2.2.1)."""
    cert = pki.ca_certificate(name, uow=c.uow)
    return Response(cert.der, media_type="application/pkix-cert")


@public.get("/crl/{name}.crl", response_class=Response,
            responses={200: {"content": {"application/pkix-crl": {}}}})
def crl(name: str, c: ContainerDep) -> Response:
    """The CA's current CRL, DER (the CRL distribution point, RFC 5280 §4.2.1.13)."""
    der = pki.current_crl(name, uow=c.uow, factory=c.x509, clock=c.clock)
    return Response(der, media_type="application/pkix-crl", headers={"Cache-Control": "max-age=300"})


@public.post("/ocsp/{name}", response_class=Response,
             openapi_extra={"requestBody": {"content": {OCSP_REQUEST: {}}, "required": True}},
             responses={200: {"content": {OCSP_RESPONSE: {}}}})
async def ocsp_post(name: str, request: Request, c: ContainerDep) -> Response:
    """RFC 6960 Appendix A.1: the DER OCSPRequest as the body."""
    answer = await run_in_threadpool(pki.answer_ocsp, name, await request.body(), uow=c.uow,
                                     factory=c.x509, clock=c.clock)
    return Response(answer, media_type=OCSP_RESPONSE)


@public.get("/ocsp/{name}/{encoded:path}", response_class=Response,
            responses={200: {"content": {OCSP_RESPONSE: {}}}})
def ocsp_get(name: str, encoded: str, c: ContainerDep) -> Response:
    """RFC 6960 Appendix A.1: the base64 of the DER request, URL-encoded, in the path."""
    try:
        request = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        request = b""
    answer = pki.answer_ocsp(name, request, uow=c.uow, factory=c.x509, clock=c.clock)
    return Response(answer, media_type=OCSP_RESPONSE, headers={"Cache-Control": "max-age=60"})


TIMESTAMP_QUERY, TIMESTAMP_REPLY = "application/timestamp-query", "application/timestamp-reply"
tsa = APIRouter(tags=["pki (public)"])


@tsa.post("/tsa", response_class=Response,
          openapi_extra={"requestBody": {"content": {TIMESTAMP_QUERY: {}}, "required": True}},
          responses={200: {"content": {TIMESTAMP_REPLY: {}}}})
async def time_stamp(request: Request, c: ContainerDep) -> Response:
    """RFC 3161 §3.4: a DER TimeStampReq in, a TimeStampResp out (granted, or rejection with
    the failure bit). `openssl ts -query ... | curl --data-binary @- -H 'Content-Type:
    application/timestamp-query' .../tsa`."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != TIMESTAMP_QUERY:
        raise UnsupportedMedia(f"send the request as {TIMESTAMP_QUERY}", code="tsa.media_type")
    answer = await run_in_threadpool(timestamps.timestamp, await request.body(), uow=c.uow,
                                     encoder=c.tsp, clock=c.clock, settings=c.settings)
    return Response(answer, media_type=TIMESTAMP_REPLY)


@router.get("/pki", response_model=list[CertificatePublic], tags=["pki (public)"])
def pki_certificates(c: ContainerDep) -> list[CertificatePublic]:
    """The root, the issuing CAs and the TSA: what relying parties configure as trust anchors."""
    return [certificate_public(cert) for cert in pki.ca_certificates(uow=c.uow)]


@router.get("/certificates/{issuer}/{serial}", response_model=CertificatePublic,
            tags=["pki (public)"])
def get_certificate(issuer: str, serial: str, c: ContainerDep) -> CertificatePublic:
    """Any certificate the platform issued, with its status: certificates are public."""
    return certificate_public(pki.certificate_by_serial(issuer, serial, uow=c.uow))


class RenewRequest(Strict):
    renew: bool = Field(False, description="replace the current certificate (revoked as superseded)")


class RevokeCertificateRequest(Strict):
    reason: RevocationReason = RevocationReason.UNSPECIFIED


@router.post("/enterprises/{uscc}/certificate", status_code=201, response_model=CertificatePublic)
def issue_enterprise_certificate(uscc: str, body: RenewRequest, auth: Writer,
                                 caller: PersonCaller, c: ContainerDep) -> CertificatePublic:
    """The enterprise certificate (法人一证通): its key is made and kept in the key store."""
    cert = certificates.issue_enterprise_certificate(
        certificates.IssueEnterpriseCertificate(auth.person.id, uscc, body.renew),
        caller=caller, uow=c.uow, keys=c.keys, factory=c.x509, clock=c.clock, settings=c.settings)
    return certificate_public(cert)


@router.post("/enterprises/{uscc}/certificate/revoke", response_model=CertificatePublic)
def revoke_enterprise_certificate(uscc: str, body: RevokeCertificateRequest, auth: Writer,
                                  caller: PersonCaller, c: ContainerDep) -> CertificatePublic:
    cert = certificates.revoke_enterprise_certificate(
        certificates.RevokeEnterpriseCertificate(auth.person.id, uscc, body.reason),
        caller=caller, uow=c.uow, keys=c.keys, factory=c.x509, clock=c.clock)
    return certificate_public(cert)


@router.get("/enterprises/{uscc}/certificates", response_model=list[CertificatePublic])
def enterprise_certificates(uscc: str, auth: Reader, caller: PersonCaller,
                            c: ContainerDep) -> list[CertificatePublic]:
    return [certificate_public(cert) for cert in certificates.enterprise_certificates(
        auth.person.id, uscc, caller=caller, uow=c.uow, clock=c.clock)]


class CsrRequest(Strict):
    csr: Annotated[str, Field(min_length=1, max_length=65_536,
                              description="PKCS #10 request in PEM, made on the person's device")]
    renews: Annotated[str | None, Field(max_length=64)] = Field(
        None, description="serial of the certificate this one replaces (revoked as superseded)")


@router.post("/me/certificates", status_code=201, response_model=CertificatePublic)
def issue_person_certificate(body: CsrRequest, auth: Writer, caller: PersonCaller,
                             c: ContainerDep) -> CertificatePublic:
    """A personal signing certificate (3 months by default, seed 001 §3.6) for a key that stays on
    the person's device; needs identity verification and a liveness check first."""
    cert = certificates.issue_person_certificate(
        certificates.IssuePersonCertificate(auth.person.id, body.csr.encode(), body.renews),
        caller=caller, uow=c.uow, factory=c.x509, clock=c.clock, settings=c.settings)
    return certificate_public(cert)


@router.get("/me/certificates", response_model=list[CertificatePublic])
def my_certificates(auth: Reader, c: ContainerDep) -> list[CertificatePublic]:
    return [certificate_public(cert)
            for cert in certificates.person_certificates(auth.person.id, uow=c.uow)]


@router.post("/me/certificates/{serial}/revoke", response_model=CertificatePublic)
def revoke_my_certificate(serial: str, body: RevokeCertificateRequest, auth: Writer,
                          caller: PersonCaller, c: ContainerDep) -> CertificatePublic:
    """E.g. a lost phone: reason key_compromise."""
    cert = certificates.revoke_person_certificate(
        certificates.RevokePersonCertificate(auth.person.id, serial, body.reason),
        caller=caller, uow=c.uow, factory=c.x509, clock=c.clock)
    return certificate_public(cert)
