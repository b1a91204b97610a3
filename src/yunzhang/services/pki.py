"""The platform's certificate authorities: the hierarchy, issuing, revoking, CRLs and OCSP.

``yunzhang pki init`` makes a root, two issuing CAs (organizations: enterprises, seals and the
TSA; persons) and the TSA certificate. Every CA key lives in the KeyStore. Each CA keeps its
current CRL, signed again whenever one of its certificates is revoked (RFC 5280 §5) and before
the old one's nextUpdate; OCSP answers (RFC 6960) are signed by the CA itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from yunzhang.config import Settings
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.keys import KeyAlgorithm, KeyRef
from yunzhang.domain.pki import (
    CRL_LIFETIME,
    Authority,
    CaName,
    Certificate,
    CertificateRequest,
    CertStatus,
    CrlRequest,
    DistinguishedName,
    Profile,
    RevocationReason,
    SerialStatus,
    show_name,
)
from yunzhang.errors import Conflict, InvalidInput, NotFound
from yunzhang.services.context import Caller
from yunzhang.services.ports import CertificateFactory, Clock, KeyStore, UnitOfWork, UnitOfWorkFactory

ROOT_YEARS, ISSUING_YEARS, TSA_YEARS = 20, 10, 5
OCSP_LIFETIME = timedelta(hours=1)
# Leaf certificates start a little before they are made, so a device whose clock is slightly
# behind does not find them "not yet valid" (RFC 5280 §4.1.2.5 leaves the choice to the CA).
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Urls:
    """Where relying parties find a CA's CRL, OCSP responder and certificate."""

    base: str

    def crl(self, ca: CaName) -> str:
        return f"{self.base.rstrip('/')}/pki/crl/{ca.value}.crl"

    def ocsp(self, ca: CaName) -> str:
        return f"{self.base.rstrip('/')}/pki/ocsp/{ca.value}"

    def certificate(self, ca: CaName) -> str:
        return f"{self.base.rstrip('/')}/pki/ca/{ca.value}.cer"


def new_serial() -> int:
    """A positive 127-bit random serial: at most 20 octets and unpredictable (RFC 5280 §4.1.2.2,
    CA/B Forum's 64 bits of randomness)."""
    return secrets.randbits(126) | (1 << 126)


@contextmanager
def new_key(keys: KeyStore, algorithm: KeyAlgorithm, *, label: str) -> Iterator[KeyRef]:
    """A fresh key that is destroyed again when the block fails, so no orphan key outlives a use
    case that rolled back."""
    ref = keys.generate(algorithm, label=label)
    try:
        yield ref
    except BaseException:
        keys.destroy(ref.key_id)
        raise


def authority(tx: UnitOfWork, name: CaName, *, lock: bool = False) -> tuple[Authority, Certificate]:
    ca = tx.authorities.get(name, lock=lock)
    if ca is None:
        raise Conflict("the platform PKI is not set up; an operator runs `yunzhang pki init`",
                       code="pki.not_initialized")
    cert = tx.certificates.get(ca.certificate_id)
    assert cert is not None
    return ca, cert


def issue(tx: UnitOfWork, factory: CertificateFactory, *, issuer: CaName, profile: Profile,
          subject: DistinguishedName, public_key: bytes, algorithm: KeyAlgorithm, days: int,
          subject_ref: str, key_id: str | None, at: datetime, settings: Settings) -> Certificate:
    """Issue one leaf certificate from an issuing CA and keep it."""
    ca, ca_cert = authority(tx, issuer)
    not_before = at - BACKDATE
    not_after = min(at + timedelta(days=days), ca_cert.not_after)
    if not_after <= at:
        raise Conflict(f"the {issuer.value} CA certificate has expired; renew the PKI",
                       code="pki.ca_expired")
    serial = new_serial()
    urls = Urls(settings.public_url)
    der = factory.issue(CertificateRequest(
        profile=profile, subject=subject, public_key=public_key, serial=serial,
        not_before=not_before, not_after=not_after, issuer_key_id=ca.key_id,
        issuer_algorithm=ca.algorithm, issuer_certificate=ca_cert.der, crl_url=urls.crl(issuer),
        ocsp_url=urls.ocsp(issuer), ca_issuers_url=urls.certificate(issuer)))
    cert = Certificate(serial=format(serial, "x"), issuer=issuer, profile=profile,
                       subject=show_name(subject), subject_ref=subject_ref, algorithm=algorithm,
                       not_before=not_before, not_after=not_after, der=der, created_at=at,
                       key_id=key_id)
    tx.certificates.add(cert)
    return cert


def revoke(tx: UnitOfWork, factory: CertificateFactory, cert: Certificate, *,
           reason: RevocationReason, at: datetime) -> None:
    """Revoke and publish at once: the issuer's CRL is signed again in the same transaction, and
    OCSP answers from the same rows."""
    ca, ca_cert = authority(tx, cert.issuer, lock=True)
    cert.revoke(at=at, reason=reason)
    _sign_crl(tx, factory, ca, ca_cert, at)


def _sign_crl(tx: UnitOfWork, factory: CertificateFactory, ca: Authority, ca_cert: Certificate,
              at: datetime) -> None:
    revoked = tuple(c.entry() for c in tx.certificates.revoked(ca.name))
    ca.crl_number += 1
    next_update = at + CRL_LIFETIME
    ca.crl_der = factory.crl(CrlRequest(
        issuer_certificate=ca_cert.der, issuer_key_id=ca.key_id, issuer_algorithm=ca.algorithm,
        number=ca.crl_number, this_update=at, next_update=next_update, revoked=revoked))
    ca.crl_next_update = next_update


@dataclass(frozen=True)
class InitPki:
    algorithm: KeyAlgorithm


def init_pki(cmd: InitPki, *, caller: Caller, uow: UnitOfWorkFactory, keys: KeyStore,
             factory: CertificateFactory, clock: Clock, settings: Settings) -> list[Certificate]:
    """Make the hierarchy once. Returns the root, the issuing CAs and the TSA certificate."""
    now = clock.now()
    org = settings.pki_organization
    made: list[KeyRef] = []
    try:
        with uow(request_id=caller.request_id) as tx:
            if tx.authorities.all():
                raise Conflict("the platform PKI already exists", code="pki.exists")
            urls = Urls(settings.public_url)

            def make_ca(name: CaName, title: str, years: int, parent: Authority | None,
                        parent_cert: Certificate | None) -> tuple[Authority, Certificate]:
                ref = keys.generate(cmd.algorithm, label=f"ca:{name.value}")
                made.append(ref)
                subject: DistinguishedName = (("country_name", "CN"), ("organization_name", org),
                                              ("common_name", f"{org} {title}"))
                serial = new_serial()
                not_after = now + timedelta(days=365 * years)
                if parent_cert is not None:
                    not_after = min(not_after, parent_cert.not_after)
                der = factory.issue(CertificateRequest(
                    profile=Profile.ROOT if parent is None else Profile.ISSUING_CA,
                    subject=subject, public_key=ref.public_key, serial=serial, not_before=now,
                    not_after=not_after,
                    issuer_key_id=parent.key_id if parent else ref.key_id,
                    issuer_algorithm=parent.algorithm if parent else cmd.algorithm,
                    issuer_certificate=parent_cert.der if parent_cert else None,
                    crl_url=urls.crl(CaName.ROOT) if parent else None,
                    ocsp_url=urls.ocsp(CaName.ROOT) if parent else None,
                    ca_issuers_url=urls.certificate(CaName.ROOT) if parent else None))
                cert = Certificate(serial=format(serial, "x"), issuer=CaName.ROOT,
                                   profile=Profile.ROOT if parent is None else Profile.ISSUING_CA,
                                   subject=show_name(subject), subject_ref=f"ca:{name.value}",
                                   algorithm=cmd.algorithm, not_before=now, not_after=not_after,
                                   der=der, created_at=now, key_id=ref.key_id)
                tx.certificates.add(cert)
                ca = Authority(name=name, certificate_id=cert.id, key_id=ref.key_id,
                               algorithm=cmd.algorithm, created_at=now)
                tx.authorities.add(ca)
                _sign_crl(tx, factory, ca, cert, now)
                return ca, cert

            root, root_cert = make_ca(CaName.ROOT, "Root CA", ROOT_YEARS, None, None)
            made_certs = [root_cert]
            for name, title in ((CaName.ORGANIZATION, "Organization CA"),
                                (CaName.PERSON, "Person CA")):
                made_certs.append(make_ca(name, title, ISSUING_YEARS, root, root_cert)[1])
            tsa_key = keys.generate(cmd.algorithm, label="tsa")
            made.append(tsa_key)
            tsa = issue(tx, factory, issuer=CaName.ORGANIZATION, profile=Profile.TSA,
                        subject=(("country_name", "CN"), ("organization_name", org),
                                 ("common_name", f"{org} Time Stamping Authority")),
                        public_key=tsa_key.public_key, algorithm=cmd.algorithm,
                        days=365 * TSA_YEARS, subject_ref="tsa", key_id=tsa_key.key_id, at=now,
                        settings=settings)
            tx.audit.record(AuditRecord(AuditTag.PKI_INIT, caller.actor, "pki",
                                        details={"algorithm": cmd.algorithm.value,
                                                 "root": root_cert.serial, "tsa": tsa.serial}))
            tx.commit()
            return [*made_certs, tsa]
    except BaseException:
        for ref in made:
            keys.destroy(ref.key_id)
        raise


def ca_certificates(*, uow: UnitOfWorkFactory) -> list[Certificate]:
    """The root and issuing CA certificates, root first, and the TSA's: public information."""
    with uow() as tx:
        found = [authority(tx, name)[1] for name in CaName if tx.authorities.get(name)]
        if not found:
            authority(tx, CaName.ROOT)  # raises pki.not_initialized
        found += [c for c in tx.certificates.of_subject("tsa") if c.status is CertStatus.GOOD]
        return found


def ca_certificate(name: str, *, uow: UnitOfWorkFactory) -> Certificate:
    ca = _ca_name(name)
    with uow() as tx:
        return authority(tx, ca)[1]


def _ca_name(name: str) -> CaName:
    try:
        return CaName(name)
    except ValueError:
        raise NotFound(f"no certificate authority {name!r}; there are "
                       f"{', '.join(n.value for n in CaName)}", code="pki.ca_not_found") from None


def current_crl(name: str, *, uow: UnitOfWorkFactory, factory: CertificateFactory,
                clock: Clock) -> bytes:
    """The CA's current CRL, signed again first when it is within an hour of its nextUpdate."""
    ca_name = _ca_name(name)
    now = clock.now()
    with uow() as tx:
        ca, _ = authority(tx, ca_name)
        if ca.crl_der is not None and ca.crl_next_update and ca.crl_next_update - now > OCSP_LIFETIME:
            return ca.crl_der
    with uow() as tx:
        ca, ca_cert = authority(tx, ca_name, lock=True)
        if ca.crl_der is None or ca.crl_next_update is None or ca.crl_next_update - now <= OCSP_LIFETIME:
            _sign_crl(tx, factory, ca, ca_cert, now)
            tx.commit()
        assert ca.crl_der is not None
        return ca.crl_der


def answer_ocsp(name: str, request: bytes, *, uow: UnitOfWorkFactory,
                factory: CertificateFactory, clock: Clock) -> bytes:
    """RFC 6960: a signed answer for each certificate asked about; a malformed request gets the
    unsigned malformedRequest answer (§2.3), as OCSP clients expect, not an HTTP error."""
    ca_name = _ca_name(name)
    try:
        serials = factory.ocsp_serials(request)
    except InvalidInput:
        return factory.malformed_ocsp_response()
    now = clock.now()
    with uow() as tx:
        ca, ca_cert = authority(tx, ca_name)
        found = tx.certificates.many_by_serial(ca_name, [format(s, "x") for s in serials])
        statuses = {
            c.serial_number: SerialStatus(True, c.entry() if c.revoked_at is not None else None)
            for c in found.values()
        }
        try:
            return factory.ocsp_response(request, issuer_certificate=ca_cert.der,
                                         issuer_key_id=ca.key_id, issuer_algorithm=ca.algorithm,
                                         statuses=statuses, at=now, next_update=now + OCSP_LIFETIME)
        except InvalidInput:
            return factory.malformed_ocsp_response()


def certificate_by_serial(issuer: str, serial: str, *, uow: UnitOfWorkFactory) -> Certificate:
    ca_name = _ca_name(issuer)
    text = serial.strip().lower().removeprefix("0x").replace(":", "")
    try:
        normal = format(int(text, 16), "x")
    except ValueError:
        raise InvalidInput("a serial number is hexadecimal", code="certificate.serial") from None
    with uow() as tx:
        cert = tx.certificates.by_serial(ca_name, normal)
        if cert is None:
            raise NotFound(f"no certificate {normal} from the {ca_name.value} CA",
                           code="certificate.not_found")
        return cert

