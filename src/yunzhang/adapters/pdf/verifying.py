"""Reading and checking the signatures of a PDF with pyHanko's validation, including its
difference analysis of what changed after each signature (ISO 32000-2 §12.8, incremental
updates)."""

from __future__ import annotations

import io
from datetime import datetime

from asn1crypto import x509 as ax  # type: ignore[import-untyped]
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import SuspiciousModification
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from yunzhang.domain.verification import SignatureFacts
from yunzhang.errors import InvalidInput


class PyHankoVerifier:
    def signatures(self, document: bytes, *, trust_roots: list[bytes],
                   at: datetime) -> list[SignatureFacts]:
        try:
            reader = PdfFileReader(io.BytesIO(document), strict=False)
            if reader.encrypted:
                raise InvalidInput("the PDF is password-protected", code="pdf.encrypted")
            embedded = list(reader.embedded_signatures)
        except InvalidInput:
            raise
        except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise InvalidInput(f"not a readable PDF ({type(exc).__name__})",
                               code="pdf.unreadable") from None
        roots = [ax.Certificate.load(r) for r in trust_roots]
        found = []
        for signature in embedded:
            cert = signature.signer_cert
            context = ValidationContext(trust_roots=roots, moment=at, allow_fetching=False)
            try:
                status = validate_pdf_signature(signature, context,
                                                ts_validation_context=ValidationContext(
                                                    trust_roots=roots, moment=at,
                                                    allow_fetching=False))
            except (PdfError, ValueError, KeyError, TypeError) as exc:
                found.append(SignatureFacts(
                    field_name=str(signature.field_name), signer_subject=_subject(cert),
                    signer_serial=format(cert.serial_number, "x"),
                    signer_issuer=cert.issuer.human_friendly, signer_certificate=cert.dump(),
                    trust_problem=f"the signature cannot be checked ({type(exc).__name__})"))
                continue
            stamp = status.timestamp_validity
            modified = _modified_after(status.diff_result, status.coverage)
            found.append(SignatureFacts(
                field_name=str(signature.field_name), signer_subject=_subject(cert),
                signer_serial=format(cert.serial_number, "x"),
                signer_issuer=cert.issuer.human_friendly, signer_certificate=cert.dump(),
                intact=bool(status.intact), valid=bool(status.valid),
                trusted=bool(status.trusted),
                trust_problem=str(status.trust_problem_indic) if status.trust_problem_indic else None,
                signing_time=status.signer_reported_dt,
                timestamp_time=stamp.timestamp if stamp is not None else None,
                timestamp_valid=(bool(stamp.intact and stamp.valid and stamp.trusted)
                                 if stamp is not None else None),
                coverage=status.coverage.name.lower() if status.coverage else "",
                modified_after=modified))
        return found


def _modified_after(diff: object, coverage: SignatureCoverageLevel | None) -> str:
    """pyHanko's verdict on what later revisions changed: a modification level, or
    "suspicious: ..." when its difference policy rejects a change, "unknown" when it could not
    tell; "none" only when nothing follows the signature."""
    if isinstance(diff, SuspiciousModification):
        return f"suspicious: {diff}"[:300]
    level = getattr(diff, "modification_level", None)
    if level is not None:
        return str(level.name.lower())
    return "none" if coverage is SignatureCoverageLevel.ENTIRE_FILE else "unknown"


def _subject(cert: ax.Certificate) -> dict[str, str]:
    return {str(k): str(v) for k, v in cert.subject.native.items()}
