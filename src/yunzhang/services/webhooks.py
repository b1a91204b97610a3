"""PLACEHOLDER until the webhooks branch is merged."""
from __future__ import annotations
from datetime import datetime
from yunzhang.services.ports import UnitOfWork


def queue_event(tx: UnitOfWork, *, client_id: str, event: str, data: dict[str, object],
                at: datetime) -> None:
    return None
