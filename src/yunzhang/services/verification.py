"""验章: what the signatures of a document say, for anyone who has the document: who signed
(enterprise, USCC, seal name and type, or person), when, whether intact, valid and trusted, the
certificate's revocation status at signing time from the platform's own records, and whether
anything was changed after each signature."""

from __future__ import annotations

import ssl
from datetime import datetime

from yunzhang.config import Settings
from yunzhang.domain.pki import CaName, Certificate
from yunzhang.domain.verification import SignatureFacts, SignatureReport, VerificationReport
from yunzhang.errors import ConfigurationError, PayloadTooLarge
from yunzhang.services.ports import Clock, PdfVerifier, UnitOfWork, UnitOfWorkFactory

_KINDS = {"seal": "seal", "enterprise": "enterprise", "person": "person", "tsa": "tsa"}


def trust_roots(tx: UnitOfWork, settings: Settings) -> list[bytes]:
    """The platform's root and the operator's extra roots (YUNZHANG_TRUST_ROOTS_FILE)."""
    roots = []
    root = tx.authorities.get(CaName.ROOT)
    if root is not None:
        cert = tx.certificates.get(root.certificate_id)
        assert cert is not None
        roots.append(cert.der)
    if settings.trust_roots_file is not None:
        try:
            text = settings.trust_roots_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"YUNZHANG_TRUST_ROOTS_FILE cannot be read: {exc}",
                                     code="config.trust_roots") from None
        blocks = text.split("-----END CERTIFICATE-----")
        for block in blocks[:-1]:
            try:
                roots.append(ssl.PEM_cert_to_DER_cert(block.strip() + "\n-----END CERTIFICATE-----\n"))
            except ValueError:
                raise ConfigurationError("YUNZHANG_TRUST_ROOTS_FILE holds a malformed PEM "
                                         "certificate", code="config.trust_roots") from None
    return roots


def _ours(tx: UnitOfWork, facts: SignatureFacts) -> Certificate | None:
    for issuer in (CaName.ORGANIZATION, CaName.PERSON):
        cert = tx.certificates.by_serial(issuer, facts.signer_serial)
        if cert is not None and cert.der == facts.signer_certificate:
            return cert
    return None


def _revocation(cert: Certificate | None, signed_at: datetime | None) -> str:
    if cert is None:
        return "unknown"
    if cert.revoked_at is None:
        return "good"
    if signed_at is not None and signed_at < cert.revoked_at:
        return "revoked_after_signing"
    return "revoked_before_signing"


def report_for(tx: UnitOfWork, facts: SignatureFacts) -> SignatureReport:
    cert = _ours(tx, facts)
    subject = facts.signer_subject
    kind = _KINDS.get(cert.profile.value, "other") if cert is not None else "other"
    uscc = subject.get("organization_identifier", "").removeprefix("NTRCN-") or None
    # A time stamp's time is the platform's; the claimed signing time is the signer's word.
    signed_at = facts.timestamp_time if facts.timestamp_valid else facts.signing_time
    return SignatureReport(
        facts=facts, kind=kind, enterprise=subject.get("organization_name"), uscc=uscc,
        seal_id=subject.get("serial_number") if kind == "seal" else None,
        seal_type=subject.get("organizational_unit_name") if kind == "seal" else None,
        person=subject.get("common_name") if kind == "person" else None,
        revocation=_revocation(cert, signed_at))


def verify_document(document: bytes, *, uow: UnitOfWorkFactory, verifier: PdfVerifier,
                    clock: Clock, settings: Settings) -> VerificationReport:
    if len(document) > settings.max_document_bytes:
        raise PayloadTooLarge(f"the document has {len(document)} bytes; the limit is "
                              f"{settings.max_document_bytes}", code="verify.too_large")
    with uow() as tx:
        roots = trust_roots(tx, settings)
    found = verifier.signatures(document, trust_roots=roots, at=clock.now())
    with uow() as tx:
        return VerificationReport([report_for(tx, facts) for facts in found])
