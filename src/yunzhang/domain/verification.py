"""What a verification says about each signature of a document, and when a document passes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SignatureFacts:
    """What the PDF library found, before the platform adds what its records know."""

    field_name: str
    signer_subject: dict[str, str]  # attribute name -> value, e.g. common_name, organization_name
    signer_serial: str  # hex
    signer_issuer: str
    signer_certificate: bytes = field(repr=False)
    intact: bool = False  # the signed bytes are unchanged
    valid: bool = False  # the signature checks out with the certificate's key
    trusted: bool = False  # the certificate chains to a trust root
    trust_problem: str | None = None
    signing_time: datetime | None = None  # as the signer claims it
    timestamp_time: datetime | None = None  # from a valid signature time stamp
    timestamp_valid: bool | None = None  # None without a time stamp
    coverage: str = ""  # entire_file, entire_revision, contiguous_block...
    modified_after: str = ""  # none, lta_updates, form_filling, annotations, other


@dataclass(frozen=True)
class SignatureReport:
    facts: SignatureFacts
    kind: str  # seal, enterprise, person, tsa, other (not issued here)
    enterprise: str | None = None
    uscc: str | None = None
    seal_id: str | None = None
    seal_type: str | None = None
    person: str | None = None
    revocation: str = "unknown"  # good, revoked_after_signing, revoked_before_signing, unknown

    @property
    def ok(self) -> bool:
        f = self.facts
        return (f.intact and f.valid and f.trusted and self.revocation != "revoked_before_signing"
                and f.timestamp_valid is not False)

    def summary(self) -> dict[str, object]:
        """What the CLI and the API show of it (no certificate bytes)."""
        f = self.facts
        return {
            "field_name": f.field_name, "kind": self.kind,
            "signer": f.signer_subject.get("common_name", "?"), "enterprise": self.enterprise,
            "uscc": self.uscc, "seal_id": self.seal_id, "seal_type": self.seal_type,
            "person": self.person, "signing_time": f.signing_time,
            "timestamp_time": f.timestamp_time, "intact": f.intact, "valid": f.valid,
            "trusted": f.trusted, "trust_problem": f.trust_problem, "revocation": self.revocation,
            "modified_after": f.modified_after, "coverage": f.coverage, "ok": self.ok,
        }


@dataclass(frozen=True)
class VerificationReport:
    signatures: list[SignatureReport]

    @property
    def ok(self) -> bool:
        """Every signature intact, valid and trusted (and there is at least one)."""
        return bool(self.signatures) and all(s.ok for s in self.signatures)
