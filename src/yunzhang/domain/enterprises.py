"""Enterprises as registered by the market-regulation authority, and the rules of their records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from yunzhang.domain.ids import ResidentId, Uscc
from yunzhang.errors import InvalidInput


class EnterpriseKind(StrEnum):
    COMPANY = "company"  # 企业/公司
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户
    FARMERS_COOPERATIVE = "farmers_cooperative"  # 农民专业合作社
    SOCIAL_ORGANIZATION = "social_organization"  # 社会组织


class EnterpriseStatus(StrEnum):
    ACTIVE = "active"  # 存续/在业
    SUSPENDED = "suspended"  # 停业 / 经营异常
    REVOKED = "revoked"  # 吊销
    DEREGISTERED = "deregistered"  # 注销


# GB 32100-2015 Appendix A: authority 9 (industry and commerce) with categories 1 enterprise,
# 2 individual business, 3 farmers' cooperative; authority 5 (civil affairs) is social organisations.
_KIND_BY_CATEGORY = {
    "91": EnterpriseKind.COMPANY,
    "92": EnterpriseKind.INDIVIDUAL_BUSINESS,
    "93": EnterpriseKind.FARMERS_COOPERATIVE,
}


def kind_for(uscc: Uscc, declared: str | None) -> EnterpriseKind:
    """The kind of an enterprise: the declared one, checked against the USCC category when it says."""
    implied = _KIND_BY_CATEGORY.get(uscc.category)
    if uscc.category[0] == "5":
        implied = EnterpriseKind.SOCIAL_ORGANIZATION
    if declared is None or not declared.strip():
        if implied is None:
            raise InvalidInput(
                f"kind is required: USCC category {uscc.category} does not imply one",
                code="enterprise.kind_required",
            )
        return implied
    try:
        kind = EnterpriseKind(declared.strip())
    except ValueError:
        allowed = ", ".join(k.value for k in EnterpriseKind)
        raise InvalidInput(
            f"unknown enterprise kind {declared!r}; expected one of {allowed}",
            code="enterprise.kind",
        ) from None
    if implied is not None and kind is not implied:
        raise InvalidInput(
            f"kind {kind.value} contradicts USCC category {uscc.category} ({implied.value})",
            code="enterprise.kind_mismatch",
        )
    return kind


def parse_status(raw: str | None) -> EnterpriseStatus:
    if raw is None or not raw.strip():
        return EnterpriseStatus.ACTIVE
    try:
        return EnterpriseStatus(raw.strip())
    except ValueError:
        allowed = ", ".join(s.value for s in EnterpriseStatus)
        raise InvalidInput(
            f"unknown enterprise status {raw!r}; expected one of {allowed}",
            code="enterprise.status",
        ) from None


def clean_name(raw: str | None, *, what: str, code: str, max_len: int = 200) -> str:
    text = " ".join((raw or "").split())
    if not text:
        raise InvalidInput(f"{what} is required", code=code)
    if len(text) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters", code=code)
    return text


@dataclass(frozen=True)
class RegistryRecord:
    """One validated row of the authority's registry, ready to be stored."""

    uscc: Uscc
    name: str
    kind: EnterpriseKind
    status: EnterpriseStatus
    legal_rep_name: str
    legal_rep_id: ResidentId


@dataclass(eq=False)
class Enterprise:
    uscc: str
    name: str
    kind: EnterpriseKind
    region: str
    status: EnterpriseStatus
    legal_rep_name: str
    legal_rep_id_hmac: str
    legal_rep_id_masked: str
    created_at: datetime
    updated_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def differences(self, record: RegistryRecord, id_hmac: str) -> dict[str, tuple[str, str]]:
        """Fields the registry record would change, as {field: (old, new)} without ID numbers."""
        changes: dict[str, tuple[str, str]] = {}
        for name, new in (
            ("name", record.name),
            ("kind", record.kind.value),
            ("status", record.status.value),
            ("legal_rep_name", record.legal_rep_name),
        ):
            old = str(getattr(self, name))
            if old != new:
                changes[name] = (old, new)
        if self.legal_rep_id_hmac != id_hmac:
            changes["legal_rep_id"] = (self.legal_rep_id_masked, record.legal_rep_id.masked)
        return changes

    def apply(self, record: RegistryRecord, id_hmac: str, at: datetime) -> None:
        self.name = record.name
        self.kind = record.kind
        self.status = record.status
        self.legal_rep_name = record.legal_rep_name
        self.legal_rep_id_hmac = id_hmac
        self.legal_rep_id_masked = record.legal_rep_id.masked
        self.updated_at = at
