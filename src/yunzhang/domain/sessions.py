"""Browser sessions of persons: opaque cookie tokens of which only a hash is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(eq=False)
class WebSession:
    person_id: uuid.UUID
    token_hash: str
    csrf_hash: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    ip: str | None = None
    user_agent: str | None = None
    revoked_at: datetime | None = None

    def valid(self, at: datetime, idle: timedelta) -> bool:
        return self.revoked_at is None and at < self.expires_at and at < self.last_seen_at + idle

    def touch(self, at: datetime) -> None:
        self.last_seen_at = at

    def revoke(self, at: datetime) -> None:
        self.revoked_at = at
