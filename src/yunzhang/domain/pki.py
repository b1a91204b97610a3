"""The platform's PKI as records: certificate authorities, issued certificates, revocation.

The X.509 encoding is an adapter's work (``services.ports.CertificateFactory``); here are the
profiles, the names and the rules (RFC 5280) the services apply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.errors import Conflict, InvalidInput


class Profile(StrEnum):
    """What a certificate is for; fixes its key usage and extended key usage (docs/pki.md)."""

    ROOT = "root"  # self-signed trust anchor: keyCertSign, cRLSign
    ISSUING_CA = "issuing_ca"  # pathLen 0: keyCertSign, cRLSign
    TSA = "tsa"  # RFC 3161 §2.3: digitalSignature, EKU timeStamping only, critical
    ENTERPRISE = "enterprise"  # 法人一证通: digitalSignature, nonRepudiation; clientAuth
    SEAL = "seal"  # 电子印章: digitalSignature, nonRepudiation; documentSigning (RFC 9336)
    PERSON = "person"  # a natural person's signing key on their device; documentSigning, clientAuth


class CaName(StrEnum):
    """The hierarchy made by ``yunzhang pki init``."""

    ROOT = "root"
    ORGANIZATION = "organization"  # issues enterprise, seal and TSA certificates
    PERSON = "person"  # issues natural persons' certificates


class CertStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"


class RevocationReason(StrEnum):
    """RFC 5280 §5.3.1 CRLReason (the ones this platform gives)."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "key_compromise"
    AFFILIATION_CHANGED = "affiliation_changed"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessation_of_operation"

    @classmethod
    def parse(cls, raw: str | None) -> RevocationReason:
        if raw is None or not raw.strip():
            return cls.UNSPECIFIED
        try:
            return cls(raw.strip())
        except ValueError:
            allowed = ", ".join(r.value for r in cls)
            raise InvalidInput(f"unknown revocation reason {raw!r}; expected one of {allowed}",
                               code="certificate.reason") from None


# A subject or issuer name: (attribute, value) pairs in order. Attribute names are asn1crypto's
# (country_name, organization_name, organization_identifier, organizational_unit_name,
# common_name, serial_number).
DistinguishedName = tuple[tuple[str, str], ...]


def show_name(name: DistinguishedName) -> str:
    short = {"country_name": "C", "organization_name": "O", "organization_identifier": "2.5.4.97",
             "organizational_unit_name": "OU", "common_name": "CN", "serial_number": "serialNumber"}
    return ", ".join(f"{short.get(k, k)}={v}" for k, v in name)


@dataclass(frozen=True)
class CertificateRequest:
    """Everything the factory needs to make and sign one certificate."""

    profile: Profile
    subject: DistinguishedName
    public_key: bytes  # DER SubjectPublicKeyInfo of the subject
    serial: int  # positive, at most 20 octets (RFC 5280 §4.1.2.2)
    not_before: datetime
    not_after: datetime
    issuer_key_id: str  # the KeyStore key that signs
    issuer_algorithm: KeyAlgorithm
    issuer_certificate: bytes | None = None  # DER; None for the self-signed root
    crl_url: str | None = None  # CRL distribution point of the issuer
    ocsp_url: str | None = None  # AIA id-ad-ocsp of the issuer
    ca_issuers_url: str | None = None  # AIA id-ad-caIssuers: the issuer's certificate


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    reason: RevocationReason


@dataclass(frozen=True)
class CrlRequest:
    issuer_certificate: bytes
    issuer_key_id: str
    issuer_algorithm: KeyAlgorithm
    number: int
    this_update: datetime
    next_update: datetime
    revoked: tuple[RevokedEntry, ...]


@dataclass(frozen=True)
class SerialStatus:
    """The answer about one serial for OCSP: good, revoked (with time and reason) or unknown."""

    known: bool
    revoked: RevokedEntry | None = None


@dataclass(frozen=True)
class CsrInfo:
    """A PKCS#10 request whose self-signature (proof of possession) checked out."""

    public_key: bytes
    algorithm: KeyAlgorithm
    common_name: str | None


@dataclass(eq=False)
class Certificate:
    """An issued certificate as the platform keeps it."""

    serial: str  # hex, as in the certificate (decimal serials are unwieldy in URLs and logs)
    issuer: CaName
    profile: Profile
    subject: str  # the distinguished name, shown
    subject_ref: str  # enterprise:<uuid>, seal:<uuid>, person:<uuid>, ca:<name>, tsa
    algorithm: KeyAlgorithm
    not_before: datetime
    not_after: datetime
    der: bytes
    created_at: datetime
    key_id: str | None = None  # in the KeyStore; None when the key is on a person's device
    status: CertStatus = CertStatus.GOOD
    revoked_at: datetime | None = None
    revocation_reason: RevocationReason | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def serial_number(self) -> int:
        return int(self.serial, 16)

    def valid_at(self, at: datetime) -> bool:
        return self.status is CertStatus.GOOD and self.not_before <= at < self.not_after

    def revoke(self, *, at: datetime, reason: RevocationReason) -> None:
        if self.status is CertStatus.REVOKED:
            raise Conflict(f"certificate {self.serial} is already revoked", code="certificate.revoked")
        self.status = CertStatus.REVOKED
        self.revoked_at = at
        self.revocation_reason = reason

    def entry(self) -> RevokedEntry:
        assert self.revoked_at is not None and self.revocation_reason is not None
        return RevokedEntry(self.serial_number, self.revoked_at, self.revocation_reason)


@dataclass(eq=False)
class Authority:
    """A certificate authority of the platform: its certificate, its key and its current CRL."""

    name: CaName
    certificate_id: uuid.UUID
    key_id: str
    algorithm: KeyAlgorithm
    created_at: datetime
    crl_number: int = 0
    crl_der: bytes | None = None
    crl_next_update: datetime | None = None


CRL_LIFETIME = timedelta(days=1)
