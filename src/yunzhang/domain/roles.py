"""Roles of persons in enterprises, and applications for them (seed 000 §4.2, seed 002 §2.2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    LEGAL_REP = "legal_rep"  # 法定代表人
    ADMIN = "admin"  # 证照管理员
    AGENT = "agent"  # 办事人/经办人

    @property
    def label(self) -> str:
        return {"legal_rep": "legal representative (法定代表人)",
                "admin": "license administrator (证照管理员)",
                "agent": "agent (经办人)"}[self.value]


class MembershipStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class EndReason(StrEnum):
    UNLINKED = "unlinked"  # the member left (解除绑定)
    REVOKED = "revoked"  # removed by the legal representative or an administrator
    REPLACED = "replaced"  # the registry names another legal representative
    ROLE_CHANGED = "role_changed"  # a new role replaced this one


@dataclass(eq=False)
class Membership:
    """A person linked to an enterprise (关联企业), with the role they hold there, if any.

    One active membership per person and enterprise; a change of role ends it and starts a new
    one, so the history says who held what, when, and on whose authority.
    """

    enterprise_id: uuid.UUID
    person_id: uuid.UUID
    role: Role | None
    started_at: datetime
    authority: str  # how the role was obtained: "registry", "application 7 approved by ...", ...
    granted_by: uuid.UUID | None = None
    status: MembershipStatus = MembershipStatus.ACTIVE
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    ended_by: uuid.UUID | None = None
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.status == MembershipStatus.ACTIVE

    def end(self, *, at: datetime, reason: EndReason, by: uuid.UUID | None) -> None:
        self.status = MembershipStatus.ENDED
        self.ended_at = at
        self.end_reason = reason
        self.ended_by = by


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(eq=False)
class RoleApplication:
    """申请角色: a linked person asks for the administrator or agent role, with a reason."""

    enterprise_id: uuid.UUID
    applicant_id: uuid.UUID
    role: Role
    reason: str
    created_at: datetime
    confirm_by_legal_rep_sms: bool = False  # seed 004 §3: agent registration confirmed by SMS
    status: ApplicationStatus = ApplicationStatus.PENDING
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    id: int | None = None

    def decide(self, *, approved: bool, by: uuid.UUID | None, at: datetime, note: str | None) -> None:
        self.status = ApplicationStatus.APPROVED if approved else ApplicationStatus.REJECTED
        self.decided_by = by
        self.decided_at = at
        self.decision_note = note
