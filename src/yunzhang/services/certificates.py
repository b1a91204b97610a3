"""Certificates of enterprises (法人一证通, key held by the platform) and of persons (key on the
person's device, certified from its PKCS #10 request), with renewal and revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.authz import Action
from yunzhang.domain.enterprises import Enterprise
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.persons import Person, VerificationLevel
from yunzhang.domain.pki import CaName, Certificate, CertStatus, DistinguishedName, Profile, RevocationReason
from yunzhang.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from yunzhang.services import authorization, pki
from yunzhang.services.audit import refusals_audited
from yunzhang.services.context import Caller
from yunzhang.services.grants import enterprise_by_uscc, resource_of
from yunzhang.services.ports import CertificateFactory, Clock, KeyStore, UnitOfWork, UnitOfWorkFactory

MAX_CSR_BYTES = 64 * 1024


def enterprise_name(enterprise: Enterprise) -> DistinguishedName:
    """ETSI EN 319 412-1 §5.1.4 semantics identifier: NTR + country + '-' + the USCC."""
    return (("country_name", "CN"), ("organization_name", enterprise.name),
            ("organization_identifier", f"NTRCN-{enterprise.uscc}"),
            ("common_name", enterprise.name))


def _current(tx: UnitOfWork, subject_ref: str, profile: Profile) -> list[Certificate]:
    return [c for c in tx.certificates.of_subject(subject_ref)
            if c.profile is profile and c.status is CertStatus.GOOD]


@dataclass(frozen=True)
class IssueEnterpriseCertificate:
    actor_id: uuid.UUID
    uscc: str
    renew: bool = False  # replace a current certificate (it is revoked as superseded)


@refusals_audited(AuditTag.CERTIFICATE_MANAGE, lambda cmd: f"enterprise:{cmd.uscc}")
def issue_enterprise_certificate(
    cmd: IssueEnterpriseCertificate, *, caller: Caller, uow: UnitOfWorkFactory, keys: KeyStore,
    factory: CertificateFactory, clock: Clock, settings: Settings,
) -> Certificate:
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc, lock=True)
        authorization.require(cmd.actor_id, Action.MANAGE_CERTIFICATE, resource_of(enterprise),
                              now, tx=tx, caller=caller, uow=uow)
        ref = f"enterprise:{enterprise.id}"
        current = _current(tx, ref, Profile.ENTERPRISE)
        if current and not cmd.renew:
            raise Conflict(f"{enterprise.name} already has certificate {current[0].serial}; "
                           f"renew it instead", code="certificate.exists")
        pki.authority(tx, CaName.ORGANIZATION)  # before a key is made for nothing
        algorithm = KeyAlgorithm(settings.key_algorithm)
        with pki.new_key(keys, algorithm, label=ref) as key:
            cert = pki.issue(tx, factory, issuer=CaName.ORGANIZATION, profile=Profile.ENTERPRISE,
                             subject=enterprise_name(enterprise), public_key=key.public_key,
                             algorithm=algorithm, days=settings.enterprise_cert_days,
                             subject_ref=ref, key_id=key.key_id, at=now, settings=settings)
            for old in current:
                pki.revoke(tx, factory, old, reason=RevocationReason.SUPERSEDED, at=now)
            tx.audit.record(AuditRecord(
                AuditTag.CERTIFICATE_ISSUE, caller.actor, f"enterprise:{enterprise.uscc}",
                details={"serial": cert.serial, "profile": cert.profile.value,
                         "superseded": [c.serial for c in current]}))
            tx.commit()
    for old in current:
        if old.key_id:
            keys.destroy(old.key_id)
    return cert


@dataclass(frozen=True)
class RevokeEnterpriseCertificate:
    actor_id: uuid.UUID
    uscc: str
    reason: RevocationReason


@refusals_audited(AuditTag.CERTIFICATE_MANAGE, lambda cmd: f"enterprise:{cmd.uscc}")
def revoke_enterprise_certificate(
    cmd: RevokeEnterpriseCertificate, *, caller: Caller, uow: UnitOfWorkFactory, keys: KeyStore,
    factory: CertificateFactory, clock: Clock,
) -> Certificate:
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, cmd.uscc, lock=True)
        authorization.require(cmd.actor_id, Action.MANAGE_CERTIFICATE, resource_of(enterprise),
                              now, tx=tx, caller=caller, uow=uow)
        current = _current(tx, f"enterprise:{enterprise.id}", Profile.ENTERPRISE)
        if not current:
            raise NotFound(f"{enterprise.name} has no current certificate",
                           code="certificate.not_found")
        for cert in current:
            pki.revoke(tx, factory, cert, reason=cmd.reason, at=now)
        tx.audit.record(AuditRecord(AuditTag.CERTIFICATE_REVOKE, caller.actor,
                                    f"enterprise:{enterprise.uscc}",
                                    details={"serials": [c.serial for c in current],
                                             "reason": cmd.reason.value}))
        tx.commit()
    for cert in current:
        if cert.key_id:
            keys.destroy(cert.key_id)
    return current[0]


def enterprise_certificates(viewer_id: uuid.UUID, uscc: str, *, caller: Caller,
                            uow: UnitOfWorkFactory, clock: Clock) -> list[Certificate]:
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        enterprise = enterprise_by_uscc(tx, uscc)
        authorization.require(viewer_id, Action.VIEW, resource_of(enterprise), now, tx=tx,
                              caller=caller, uow=uow)
        return tx.certificates.of_subject(f"enterprise:{enterprise.id}")


def person_name(person: Person) -> DistinguishedName:
    assert person.name is not None
    return (("country_name", "CN"), ("common_name", person.name),
            ("serial_number", f"PID-{person.id}"))


@dataclass(frozen=True)
class IssuePersonCertificate:
    person_id: uuid.UUID
    csr: bytes  # PKCS #10, PEM or DER, made on the person's device
    renews: str | None = None  # serial of the person's certificate this one replaces


@refusals_audited(AuditTag.CERTIFICATE_ISSUE, lambda cmd: f"person:{cmd.person_id}")
def issue_person_certificate(
    cmd: IssuePersonCertificate, *, caller: Caller, uow: UnitOfWorkFactory,
    factory: CertificateFactory, clock: Clock, settings: Settings,
) -> Certificate:
    """Seed 001 §3.6: after identity and liveness verification the signer gets a digital
    certificate valid for three months (``YUNZHANG_PERSON_CERT_DAYS``)."""
    if len(cmd.csr) > MAX_CSR_BYTES:
        raise PayloadTooLarge("a certificate request is at most 64 KiB", code="certificate.csr_size")
    csr = factory.read_csr(cmd.csr)
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        person = tx.persons.get(cmd.person_id)
        if person is None or person.status != "active":
            raise NotFound("no such person", code="person.not_found")
        if person.verification_level is not VerificationLevel.LIVENESS or person.name is None:
            raise Conflict("a personal certificate needs identity verification (实名认证) "
                           "and a liveness check (实人认证) first",
                           code="certificate.person_not_verified")
        ref = f"person:{person.id}"
        replaced: Certificate | None = None
        if cmd.renews is not None:
            replaced = _own(tx, person.id, cmd.renews)
            if replaced.status is not CertStatus.GOOD:
                raise Conflict(f"certificate {replaced.serial} is revoked; request a new one",
                               code="certificate.revoked")
        cert = pki.issue(tx, factory, issuer=CaName.PERSON, profile=Profile.PERSON,
                         subject=person_name(person), public_key=csr.public_key,
                         algorithm=csr.algorithm, days=settings.person_cert_days,
                         subject_ref=ref, key_id=None, at=now, settings=settings)
        if replaced is not None:
            pki.revoke(tx, factory, replaced, reason=RevocationReason.SUPERSEDED, at=now)
        tx.audit.record(AuditRecord(AuditTag.CERTIFICATE_ISSUE, caller.actor, ref,
                                    details={"serial": cert.serial, "profile": "person",
                                             "renews": replaced.serial if replaced else None}))
        tx.commit()
        return cert


def _own(tx: UnitOfWork, person_id: uuid.UUID, serial: str) -> Certificate:
    text = serial.strip().lower()
    try:
        normal = format(int(text, 16), "x")
    except ValueError:
        raise InvalidInput("a serial number is hexadecimal", code="certificate.serial") from None
    cert = tx.certificates.by_serial(CaName.PERSON, normal)
    if cert is None or cert.subject_ref != f"person:{person_id}":
        raise NotFound(f"you have no certificate {normal}", code="certificate.not_found")
    return cert


@dataclass(frozen=True)
class RevokePersonCertificate:
    person_id: uuid.UUID
    serial: str
    reason: RevocationReason


@refusals_audited(AuditTag.CERTIFICATE_REVOKE, lambda cmd: f"person:{cmd.person_id}")
def revoke_person_certificate(cmd: RevokePersonCertificate, *, caller: Caller,
                              uow: UnitOfWorkFactory, factory: CertificateFactory,
                              clock: Clock) -> Certificate:
    """The holder revokes their own certificate (a lost phone: key_compromise)."""
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        cert = _own(tx, cmd.person_id, cmd.serial)
        pki.revoke(tx, factory, cert, reason=cmd.reason, at=now)
        tx.audit.record(AuditRecord(AuditTag.CERTIFICATE_REVOKE, caller.actor,
                                    f"person:{cmd.person_id}",
                                    details={"serial": cert.serial, "reason": cmd.reason.value}))
        tx.commit()
        return cert


def revoke_all_of_person(tx: UnitOfWork, factory: CertificateFactory, person_id: uuid.UUID, *,
                         reason: RevocationReason, caller: Caller, clock: Clock) -> list[str]:
    """Revoke every current certificate of a person (the person was revoked)."""
    now = clock.now()
    current = _current(tx, f"person:{person_id}", Profile.PERSON)
    for cert in current:
        pki.revoke(tx, factory, cert, reason=reason, at=now)
    if current:
        tx.audit.record(AuditRecord(AuditTag.CERTIFICATE_REVOKE, caller.actor,
                                    f"person:{person_id}",
                                    details={"serials": [c.serial for c in current],
                                             "reason": reason.value}))
    return [c.serial for c in current]


def person_certificates(person_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> list[Certificate]:
    with uow() as tx:
        return tx.certificates.of_subject(f"person:{person_id}")


@refusals_audited(AuditTag.CERTIFICATE_REVOKE, lambda issuer, serial, reason: f"certificate:{serial}"[:200])
def revoke_by_operator(issuer: str, serial: str, reason: RevocationReason, *, caller: Caller,
                       uow: UnitOfWorkFactory, keys: KeyStore, factory: CertificateFactory,
                       clock: Clock) -> Certificate:
    """Any end-entity certificate, by the operator (key compromise reported, court order...).
    A seal's certificate is revoked through the seal (``yunzhang seals revoke``), so the seal's
    state follows; CA certificates are not revoked this way."""
    found = pki.certificate_by_serial(issuer, serial, uow=uow)
    if found.profile in (Profile.ROOT, Profile.ISSUING_CA):
        raise Conflict("CA certificates are not revoked one by one", code="certificate.is_ca")
    if found.profile is Profile.SEAL:
        raise Conflict("revoke the seal instead (`yunzhang seals revoke`), so its state follows",
                       code="certificate.is_seal")
    now = clock.now()
    with uow(request_id=caller.request_id) as tx:
        cert = tx.certificates.get(found.id)
        assert cert is not None
        pki.revoke(tx, factory, cert, reason=reason, at=now)
        tx.audit.record(AuditRecord(AuditTag.CERTIFICATE_REVOKE, caller.actor, cert.subject_ref,
                                    details={"serial": cert.serial, "reason": reason.value}))
        tx.commit()
    if cert.key_id:
        keys.destroy(cert.key_id)
    return cert
