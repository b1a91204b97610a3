"""Persons: the natural people who log in, are verified and act for enterprises."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from yunzhang.errors import Conflict


class VerificationLevel(StrEnum):
    """How well the platform knows who a person is (seed 000 §2: 实名 then 实人)."""

    NONE = "none"
    IDENTITY = "identity"  # 实名认证: name + ID number + phone matched by a verifier
    LIVENESS = "identity+liveness"  # 实人认证: a live face matched on top of that

    @property
    def rank(self) -> int:
        return _LEVEL_ORDER.index(self)


_LEVEL_ORDER = (VerificationLevel.NONE, VerificationLevel.IDENTITY, VerificationLevel.LIVENESS)


@dataclass(eq=False)
class Person:
    phone: str
    password_hash: str
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    name: str | None = None
    # Only a keyed hash of the resident ID number is stored, for matching (e.g. to the registry's
    # legal representative), plus a masked form for display. The number itself is not kept.
    id_number_hmac: str | None = None
    id_number_masked: str | None = None
    verification_level: VerificationLevel = VerificationLevel.NONE
    identity_verified_at: datetime | None = None
    liveness_verified_at: datetime | None = None
    status: str = "active"

    def record_identity(self, *, name: str, id_hmac: str, id_masked: str, at: datetime) -> None:
        if self.id_number_hmac is not None and self.id_number_hmac != id_hmac:
            # A verified identity is not swapped for another one on the same account.
            raise Conflict(
                "this account is already verified with another ID number",
                code="person.identity_mismatch",
            )
        self.name = name
        self.id_number_hmac = id_hmac
        self.id_number_masked = id_masked
        self.identity_verified_at = at
        if self.verification_level.rank < VerificationLevel.IDENTITY.rank:
            self.verification_level = VerificationLevel.IDENTITY

    def record_liveness(self, *, at: datetime) -> None:
        if self.verification_level.rank < VerificationLevel.IDENTITY.rank:
            raise Conflict(
                "identity verification (实名认证) must come before the liveness check",
                code="person.identity_required",
            )
        self.liveness_verified_at = at
        self.verification_level = VerificationLevel.LIVENESS
