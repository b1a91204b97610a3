"""Repositories of business systems, their auto-stamp grants, the record of stamps made, and
the webhook deliveries to them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from yunzhang.adapters.db import tables
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.domain.grants import AutoStampGrant, GrantStatus
from yunzhang.domain.stamping import StampRecord
from yunzhang.domain.webhooks import DeliveryStatus, WebhookDelivery


class SqlBusinessSystems:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, system: BusinessSystem) -> None:
        self._s.add(system)
        self._s.flush()

    def by_client_id(self, client_id: str, *, lock: bool = False) -> BusinessSystem | None:
        query = select(BusinessSystem).where(tables.business_systems.c.client_id == client_id)
        return self._s.scalars(query.with_for_update() if lock else query).first()

    def get(self, system_id: uuid.UUID) -> BusinessSystem | None:
        return self._s.get(BusinessSystem, system_id)

    def all(self) -> list[BusinessSystem]:
        return list(self._s.scalars(select(BusinessSystem)
                                    .order_by(tables.business_systems.c.client_id)))


class SqlAutoStampGrants:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, grant: AutoStampGrant) -> None:
        self._s.add(grant)
        self._s.flush()

    def get(self, grant_id: int) -> AutoStampGrant | None:
        return self._s.get(AutoStampGrant, grant_id, with_for_update=True)

    def for_use(self, system_id: uuid.UUID, enterprise_id: uuid.UUID, seal_id: str, *,
                ending_after: datetime) -> list[AutoStampGrant]:
        c = tables.auto_stamp_grants.c
        return list(self._s.scalars(select(AutoStampGrant).where(
            c.grantee_id == system_id, c.enterprise_id == enterprise_id, c.seal_id == seal_id,
            c.ends_at > ending_after).order_by(c.id)))

    def use_one(self, grant_id: int) -> bool:
        # One conditional UPDATE: the row lock it takes serializes concurrent stamps, and the
        # condition is evaluated on the row as it is after any earlier stamp committed.
        c = tables.auto_stamp_grants.c
        done = self._s.execute(
            update(tables.auto_stamp_grants)
            .where(c.id == grant_id, c.status == GrantStatus.ACTIVE.value,
                   or_(c.max_count.is_(None), c.used_count < c.max_count))
            .values(used_count=c.used_count + 1)
            .execution_options(synchronize_session=False))
        return bool(getattr(done, "rowcount", 0) == 1)

    def of_enterprise(self, enterprise_id: uuid.UUID) -> list[AutoStampGrant]:
        c = tables.auto_stamp_grants.c
        return list(self._s.scalars(select(AutoStampGrant).where(c.enterprise_id == enterprise_id)
                                    .order_by(c.id)))


class SqlStamps:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: StampRecord) -> None:
        self._s.add(record)
        self._s.flush()

    def by_idempotency_key(self, business_system: str, key: str) -> StampRecord | None:
        c = tables.stamps.c
        return self._s.scalars(select(StampRecord).where(
            c.business_system == business_system, c.idempotency_key == key)).first()

    def get(self, stamp_id: uuid.UUID) -> StampRecord | None:
        return self._s.get(StampRecord, stamp_id)


class SqlWebhookDeliveries:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, delivery: WebhookDelivery) -> None:
        self._s.add(delivery)
        self._s.flush()

    def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return self._s.get(WebhookDelivery, delivery_id)

    def due(self, now: datetime, *, limit: int) -> list[WebhookDelivery]:
        c = tables.webhook_deliveries.c
        # Two deliverers (two server processes) never take the same delivery.
        return list(self._s.scalars(
            select(WebhookDelivery)
            .where(c.status == DeliveryStatus.PENDING, c.next_attempt_at <= now)
            .order_by(c.next_attempt_at).limit(limit).with_for_update(skip_locked=True)))

    def recent(self, business_system: str, *, limit: int) -> list[WebhookDelivery]:
        c = tables.webhook_deliveries.c
        return list(self._s.scalars(select(WebhookDelivery)
                                    .where(c.business_system == business_system)
                                    .order_by(c.created_at.desc()).limit(limit)))
