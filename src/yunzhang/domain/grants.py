"""Authorizations: agents' business grants (全业务/精准授权), seal-use grants (印章授权) and
business systems' auto-stamp grants (平台自动签)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

from yunzhang.domain.scopes import scope_covers
from yunzhang.errors import InvalidInput

# Seed 002 §1: "相关授权系统默认授权时期为 3 天".
DEFAULT_WINDOW = timedelta(days=3)
MAX_WINDOW = timedelta(days=3 * 366)

# Times in reasons are shown in China Standard Time (one zone, no daylight saving).
CST = timezone(timedelta(hours=8), "UTC+8")


def show_time(at: datetime) -> str:
    return at.astimezone(CST).strftime("%Y-%m-%d %H:%M (UTC+8)")


class GrantKind(StrEnum):
    ALL_BUSINESS = "all_business"  # 全业务授权
    PRECISE = "precise"  # 精准授权


class GrantStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # by a person with authority
    ENDED = "ended"  # the grantee left the enterprise or lost the role


@dataclass(frozen=True)
class Window:
    """A half-open validity window [start, end)."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime | None) -> Window:
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise InvalidInput("times must carry a timezone (e.g. 2026-12-01T09:00+08:00)",
                               code="window.naive")
        start = start.astimezone(UTC)
        end = (end or start + DEFAULT_WINDOW).astimezone(UTC)
        if end <= start:
            raise InvalidInput(
                f"the window ends ({show_time(end)}) at or before it starts ({show_time(start)})",
                code="window.empty",
            )
        if end - start > MAX_WINDOW:
            raise InvalidInput("a grant window may not exceed three years", code="window.too_long")
        return cls(start, end)

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def within(self, other: Window) -> bool:
        return other.start <= self.start and self.end <= other.end


@dataclass(eq=False)
class _GrantBase:
    enterprise_id: uuid.UUID
    grantee_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    granted_by: uuid.UUID
    authority: str  # the granter's role at the moment of granting, e.g. "legal_rep"
    created_at: datetime
    status: GrantStatus = GrantStatus.ACTIVE
    revoked_at: datetime | None = None
    revoked_by: uuid.UUID | None = None
    revoke_reason: str | None = None
    id: int | None = None

    def stop(self, *, status: GrantStatus, at: datetime, by: uuid.UUID | None, reason: str) -> None:
        self.status = status
        self.revoked_at = at
        self.revoked_by = by
        self.revoke_reason = reason

    def timing_problem(self, at: datetime, what: str) -> str | None:
        """Why this grant is not usable at ``at`` for reasons of status or time, or None."""
        if self.status != GrantStatus.ACTIVE:
            when = show_time(self.revoked_at) if self.revoked_at else "?"
            verb = "was revoked" if self.status == GrantStatus.REVOKED else "ended"
            return f"grant {self.id} for {what} {verb} at {when}"
        if at < self.starts_at:
            return f"grant {self.id} for {what} starts {show_time(self.starts_at)}"
        if at >= self.ends_at:
            return f"grant {self.id} for {what} expired {show_time(self.ends_at)}"
        return None


@dataclass(eq=False)
class Grant(_GrantBase):
    """An agent's authorization to act for the enterprise (seed 002 §2.3)."""

    kind: GrantKind = GrantKind.PRECISE
    scopes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "all business" if self.kind == GrantKind.ALL_BUSINESS else ", ".join(self.scopes)

    def covers(self, scope: str) -> bool:
        return self.kind == GrantKind.ALL_BUSINESS or any(scope_covers(s, scope) for s in self.scopes)


@dataclass(eq=False)
class SealGrant(_GrantBase):
    """印章授权: this person may use this seal in this business system during the window."""

    seal_id: str = ""
    business_system: str = ""

    def describe(self) -> str:
        return f"seal {self.seal_id} in {self.business_system}"

    def covers(self, seal_id: str, business_system: str) -> bool:
        return self.seal_id == seal_id and self.business_system == business_system


@dataclass(eq=False)
class AutoStampGrant(_GrantBase):
    """平台自动签: the business system ``grantee_id`` may stamp with the seal, without a person
    approving each document, for business within ``scopes`` during the window, at most
    ``max_count`` times when a maximum is set."""

    seal_id: str = ""
    business_system: str = ""  # the client id, for people to read
    scopes: list[str] = field(default_factory=list)
    max_count: int | None = None
    used_count: int = 0

    def describe(self) -> str:
        limit = f", {self.used_count} of {self.max_count} stamps used" if self.max_count else ""
        return (f"automatic stamping with seal {self.seal_id} by {self.business_system} for "
                f"{', '.join(self.scopes)}{limit}")

    def covers(self, seal_id: str, scope: str) -> bool:
        return self.seal_id == seal_id and any(scope_covers(s, scope) for s in self.scopes)

    def timing_problem(self, at: datetime, what: str) -> str | None:
        problem = super().timing_problem(at, what)
        if problem is None and self.max_count is not None and self.used_count >= self.max_count:
            return f"grant {self.id} for {what} is used up ({self.max_count} stamps)"
        return problem
