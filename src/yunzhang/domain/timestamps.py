"""Time-stamp requests as the TSA service sees them (RFC 3161), and its refusals."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from yunzhang.errors import InvalidInput


class Failure(StrEnum):
    """RFC 3161 §2.4.2 PKIFailureInfo bits this TSA uses."""

    BAD_ALG = "bad_alg"
    BAD_REQUEST = "bad_request"
    BAD_DATA_FORMAT = "bad_data_format"
    UNACCEPTED_POLICY = "unaccepted_policy"


class TimestampRefused(InvalidInput):
    """Answered with a TimeStampResp of status "rejection" carrying ``failure``."""

    def __init__(self, detail: str, *, failure: Failure) -> None:
        super().__init__(detail, code="tsa.rejected")
        self.failure = failure


@dataclass(frozen=True)
class TimestampRequest:
    hash_algorithm: str  # sha256, sha384 or sha512
    digest: bytes
    nonce: int | None
    cert_req: bool
    policy: str | None
