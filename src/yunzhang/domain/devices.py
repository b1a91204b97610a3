"""Wallet devices (设备): a person's phone, known by the public half of its device key, which
signs every step the wallet takes in a scan session (DESIGN.md trust model). The private key
never leaves the phone."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

ENROLL_PREFIX = b"yunzhang-device-v1"


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # lost or replaced: its signatures count no more


def enrollment_message(person_id: uuid.UUID, public_key: bytes) -> bytes:
    """What a new device signs with its key to prove it holds it (proof of possession), bound
    to the account it joins."""
    return b"\n".join([ENROLL_PREFIX, str(person_id).encode(),
                       hashlib.sha256(public_key).hexdigest().encode()])


@dataclass(eq=False)
class Device:
    person_id: uuid.UUID
    name: str
    public_key: bytes = field(repr=False)  # DER SubjectPublicKeyInfo, EC P-256
    created_at: datetime
    status: DeviceStatus = DeviceStatus.ACTIVE
    revoked_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
