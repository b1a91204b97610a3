"""Bindings (绑定, seed 004 §5.2): an enterprise's certificate or one of its seals associated with
an account in a business system, by a person who scanned and confirmed; removed the same way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from yunzhang.errors import InvalidInput

MAX_ACCOUNT = 100


class BindingSubject(StrEnum):
    CERTIFICATE = "certificate"  # the enterprise certificate (法人一证通): act for the enterprise
    SEAL = "seal"  # one seal: stamp there


def account_of(raw: str) -> str:
    text = raw.strip()
    if not text or len(text) > MAX_ACCOUNT or not text.isprintable():
        raise InvalidInput(f"an account is 1 to {MAX_ACCOUNT} printable characters (the business "
                           f"system's own account name or number)", code="binding.account")
    return text


class BindingStatus(StrEnum):
    PROPOSED = "proposed"  # asked for by the business system, not yet confirmed by a person
    ACTIVE = "active"
    REMOVED = "removed"


@dataclass(eq=False)
class Binding:
    business_system: str  # client id
    account: str  # the account in the business system
    enterprise_id: uuid.UUID
    subject: BindingSubject
    created_at: datetime
    seal_id: uuid.UUID | None = None  # SEAL
    scope: str | None = None  # CERTIFICATE: the business it is bound for
    status: BindingStatus = BindingStatus.PROPOSED
    bound_by: uuid.UUID | None = None  # the person who confirmed
    bound_at: datetime | None = None
    removed_by: uuid.UUID | None = None
    removed_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def describe(self, enterprise_name: str, seal_label: str | None) -> str:
        what = (f"the seal {seal_label}" if self.subject is BindingSubject.SEAL
                else "the enterprise certificate")
        return f"{what} of {enterprise_name} ↔ account {self.account!r}"
