"""Who is asking, from where: passed to every use case for the audit log and rate limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    actor: str  # "person:<uuid>", "operator", "cli:<user>", "system", "anonymous"
    request_id: str = "-"
    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def system(cls, request_id: str = "-") -> Caller:
        return cls(actor="system", request_id=request_id)
