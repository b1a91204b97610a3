"""E-licenses (电子营业执照): a platform-signed credential, downloaded to a wallet, binding an
enterprise, the person holding it, their role there and the wallet's device key.

Seed 002 §2: the legal representative downloads the license after identity and liveness
checks; administrators and agents download theirs once appointed; an agent's license covers the
window of their grants, and one whose window has not begun "can be downloaded but not used"
(§2.3). A license is only as good as the role behind it: it names the membership it came from,
so unlinking, revoking or changing the role ends it without a list to keep in step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from yunzhang.domain.grants import show_time
from yunzhang.domain.roles import Role
from yunzhang.errors import PermissionDenied

CREDENTIAL_TYPE = "yunzhang-license+jwt"  # the JWS "typ" header (RFC 8725 §3.11: explicit typing)


class LicenseStatus(StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # the same person downloaded a newer one to the same device
    REVOKED = "revoked"  # by the holder (e.g. a lost phone), or the device was revoked


class LicenseState(StrEnum):
    """What a wallet shows: usable now (red) or why not (grey)."""

    VALID = "valid"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    ROLE_ENDED = "role_ended"  # unlinked, revoked or given another role since


@dataclass(frozen=True)
class LicenseWindow:
    not_before: datetime
    expires_at: datetime


def license_window(role: Role, at: datetime, longest: timedelta,
                   agent_windows: list[tuple[datetime, datetime]]) -> LicenseWindow | None:
    """From now for ``longest`` for the legal representative and administrators; for an agent,
    the span of their grants that have not ended (None when there is none), never longer."""
    if role is not Role.AGENT:
        return LicenseWindow(at, at + longest)
    spans = [(s, e) for s, e in agent_windows if e > at]
    if not spans:
        return None
    start = max(at, min(s for s, _ in spans))
    return LicenseWindow(start, min(max(e for _, e in spans), start + longest))


@dataclass(eq=False)
class License:
    person_id: uuid.UUID
    enterprise_id: uuid.UUID
    membership_id: int  # the role it was issued for
    role: Role
    device_id: uuid.UUID  # the wallet whose key it is bound to (the credential's "cnf")
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    status: LicenseStatus = LicenseStatus.ACTIVE
    ended_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)  # the credential's "jti"

    def state_at(self, at: datetime, *, role_held: bool) -> LicenseState:
        if self.status is LicenseStatus.REVOKED:
            return LicenseState.REVOKED
        if self.status is LicenseStatus.SUPERSEDED:
            return LicenseState.SUPERSEDED
        if not role_held:
            return LicenseState.ROLE_ENDED
        if at < self.not_before:
            return LicenseState.NOT_YET_VALID
        if at >= self.expires_at:
            return LicenseState.EXPIRED
        return LicenseState.VALID

    def require_usable(self, at: datetime, *, device_id: uuid.UUID, role_held: bool) -> None:
        """PermissionDenied unless this license may be used now from this device."""
        if device_id != self.device_id:
            raise PermissionDenied("this license belongs to another wallet",
                                   code="license.other_device")
        state = self.state_at(at, role_held=role_held)
        if state is LicenseState.VALID:
            return
        raise PermissionDenied({
            LicenseState.NOT_YET_VALID: f"this license is valid from {show_time(self.not_before)}"
                                        f"; it may be downloaded, not used, before then",
            LicenseState.EXPIRED: f"this license expired {show_time(self.expires_at)}",
            LicenseState.SUPERSEDED: "a newer license replaced this one; use that",
            LicenseState.REVOKED: "this license was revoked",
            LicenseState.ROLE_ENDED: "the role this license was issued for has ended",
        }[state], code=f"license.{state.value}")

    def end(self, status: LicenseStatus, at: datetime) -> None:
        if self.status is LicenseStatus.ACTIVE:
            self.status, self.ended_at = status, at


@dataclass(frozen=True)
class LoginLicense:
    """The enterprise and role a login was confirmed with (what an ID token then carries)."""

    id: uuid.UUID
    enterprise_id: uuid.UUID
    uscc: str
    enterprise_name: str
    role: Role
