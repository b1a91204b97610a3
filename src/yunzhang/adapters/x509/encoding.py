"""What certificates, CRLs and OCSP answers share: names, times, signature algorithms and
signing a to-be-signed structure through the KeyStore."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, core  # type: ignore[import-untyped]
from asn1crypto import x509 as ax

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import DistinguishedName, RevocationReason
from yunzhang.errors import InvalidInput
from yunzhang.services.ports import KeyStore

# X.520 makes these PrintableString (countryName is also fixed at two letters, RFC 5280 App. A);
# every other attribute is a DirectoryString, written as UTF8String (RFC 5280 §4.1.2.4) so that
# Chinese names need no escaping.
_PRINTABLE_ATTRIBUTES = {"country_name", "serial_number", "dn_qualifier"}
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")

# RFC 5280 §5.3.1 CRLReason values, also used by OCSP's revocationReason (RFC 6960 §4.2.1).
# "unspecified" is not written at all: §5.3.1 says the reason code SHOULD then be absent.
REASON_CODES: dict[RevocationReason, int | None] = {
    RevocationReason.UNSPECIFIED: None,
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
}


def signature_algorithm(algorithm: KeyAlgorithm) -> algos.SignedDigestAlgorithm:
    """ecdsa-with-SHA256 without parameters (RFC 5758 §3.2), or sha256WithRSAEncryption with
    NULL parameters (RFC 4055 §5): what ``KeyStore.sign`` makes."""
    if algorithm is KeyAlgorithm.EC_P256:
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    return algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa", "parameters": core.Null()})


def sign(keys: KeyStore, key_id: str, tbs: Any) -> bytes:
    """The signature of the DER encoding of ``tbs``."""
    signature: bytes = keys.sign(key_id, tbs.dump())
    return signature


def x509_time(at: datetime) -> ax.Time:
    """RFC 5280 §4.1.2.5 and §5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050; UTC,
    whole seconds."""
    at = whole_seconds(at)
    return ax.Time(name="utc_time" if at.year < 2050 else "general_time", value=at)


def whole_seconds(at: datetime) -> datetime:
    """UTC without fractions, for GeneralizedTime fields (RFC 5280 §4.1.2.5.2)."""
    if at.tzinfo is None:
        raise ValueError("a certificate time must be timezone-aware")
    return at.astimezone(UTC).replace(microsecond=0)


def name(dn: DistinguishedName) -> ax.Name:
    """A Name with one attribute per RDN, in the order given.

    InvalidInput (``certificate.subject``) for an attribute the encoder does not know or a value
    that its string type cannot hold."""
    rdns = []
    for attribute, value in dn:
        if not value:
            raise InvalidInput(f"the name attribute {attribute} is empty",
                               code="certificate.subject")
        printable = attribute in _PRINTABLE_ATTRIBUTES
        if printable and not _PRINTABLE.fullmatch(value):
            raise InvalidInput(f"the name attribute {attribute} takes only ASCII letters, digits, "
                               f"spaces and '()+,-./:=? (PrintableString), not {value!r}",
                               code="certificate.subject")
        try:
            pair = ax.NameTypeAndValue({"type": attribute, "value": ax.DirectoryString(
                name="printable_string" if printable else "utf8_string", value=value)})
        except ValueError:
            raise InvalidInput(f"unknown name attribute {attribute!r}",
                               code="certificate.subject") from None
        rdns.append(ax.RelativeDistinguishedName([pair]))
    return ax.Name(name="", value=ax.RDNSequence(rdns))


def uri(url: str) -> ax.GeneralName:
    return ax.GeneralName(name="uniform_resource_identifier", value=url)


def key_identifier(certificate: ax.Certificate) -> bytes:
    """The certificate's subjectKeyIdentifier, or the RFC 5280 §4.2.1.2 method-1 value (SHA-1 of
    the subjectPublicKey bits) when it has none."""
    identifier: bytes = certificate.key_identifier or certificate.public_key.sha1
    return identifier
