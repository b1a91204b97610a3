"""Platform staff: people the operator trusts with platform-wide duties, such as reviewing seals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from yunzhang.errors import InvalidInput


class StaffRole(StrEnum):
    SEAL_REVIEWER = "seal_reviewer"  # approves or rejects seal applications and molds

    @classmethod
    def parse(cls, raw: str) -> StaffRole:
        try:
            return cls(raw.strip())
        except ValueError:
            allowed = ", ".join(r.value for r in cls)
            raise InvalidInput(f"unknown staff role {raw!r}; expected one of {allowed}",
                               code="staff.role") from None


@dataclass(eq=False)
class StaffMember:
    person_id: uuid.UUID
    role: StaffRole
    granted_at: datetime
    granted_by: str  # the operator's audit actor
