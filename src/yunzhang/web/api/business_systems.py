"""Operator API for business systems (业务系统): register one (its client secret is shown once),
list them, rotate a secret, set the webhook, follow and redeliver webhooks, disable or enable
one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from yunzhang.domain.business_systems import SystemStatus
from yunzhang.domain.webhooks import DeliveryStatus
from yunzhang.services import business_systems, webhooks
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import ContainerDep, Operator

router = APIRouter(prefix="/api/v1/admin/business-systems", tags=["operators"])


class SystemRequest(Strict):
    client_id: Annotated[str, Field(min_length=2, max_length=64, examples=["demo.bidding"])]
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["示范招投标系统"])]
    scopes: Annotated[list[Annotated[str, Field(max_length=200)]], Field(min_length=1,
                                                                         max_length=50)]
    redirect_uris: Annotated[list[Annotated[str, Field(max_length=500)]],
                             Field(max_length=10)] = []
    webhook_url: Annotated[str | None, Field(max_length=500, description=(
        "where results are announced (docs/webhooks.md); a signing secret is made"))] = None


class WebhookRequest(Strict):
    url: Annotated[str | None, Field(max_length=500, description="null removes the webhook")]


class SystemPublic(Public):
    id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]
    redirect_uris: list[str]
    status: SystemStatus
    created_at: datetime
    webhook_url: str | None


class CredentialsPublic(Public):
    system: SystemPublic
    client_secret: str | None = Field(description="shown once; only a keyed hash of it is kept")
    webhook_secret: str | None = Field(default=None, description=(
        "whsec_...: shown once; the platform signs webhooks with it (kept encrypted)"))


class DeliveryPublic(Public):
    id: uuid.UUID
    event: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


class StatusRequest(Strict):
    status: SystemStatus


def _credentials(done: business_systems.Registered) -> CredentialsPublic:
    return CredentialsPublic(system=SystemPublic.model_validate(done.system),
                             client_secret=done.secret, webhook_secret=done.webhook_secret)


@router.post("", status_code=201, response_model=CredentialsPublic)
def register(body: SystemRequest, caller: Operator, c: ContainerDep) -> CredentialsPublic:
    return _credentials(business_systems.register(
        business_systems.RegisterSystem(body.client_id, body.name, list(body.scopes),
                                        list(body.redirect_uris), webhook_url=body.webhook_url),
        caller=caller, uow=c.uow, clock=c.clock, keyring=c.keyring, scopes=c.scopes))


@router.get("", response_model=list[SystemPublic])
def list_systems(caller: Operator, c: ContainerDep) -> list[SystemPublic]:
    return [SystemPublic.model_validate(s) for s in business_systems.list_systems(uow=c.uow)]


@router.post("/{client_id}/secret", response_model=CredentialsPublic)
def rotate_secret(client_id: str, caller: Operator, c: ContainerDep) -> CredentialsPublic:
    """A new client secret; the old one stops working at once."""
    return _credentials(business_systems.rotate_secret(client_id, caller=caller, uow=c.uow,
                                                       keyring=c.keyring))


@router.put("/{client_id}/webhook", response_model=CredentialsPublic)
def set_webhook(client_id: str, body: WebhookRequest, caller: Operator,
                c: ContainerDep) -> CredentialsPublic:
    """Set the webhook URL with a new signing secret (shown once), or remove it (`null`)."""
    return _credentials(business_systems.set_webhook(client_id, body.url, caller=caller,
                                                     uow=c.uow, keyring=c.keyring))


@router.get("/{client_id}/webhooks", response_model=list[DeliveryPublic])
def deliveries(client_id: str, caller: Operator, c: ContainerDep) -> list[DeliveryPublic]:
    """The newest webhook deliveries, with their status and last error."""
    return [DeliveryPublic.model_validate(d)
            for d in webhooks.recent_deliveries(client_id, uow=c.uow)]


@router.post("/webhooks/{delivery_id}/redeliver", response_model=DeliveryPublic)
def redeliver(delivery_id: uuid.UUID, caller: Operator, c: ContainerDep) -> DeliveryPublic:
    return DeliveryPublic.model_validate(webhooks.redeliver(
        delivery_id, caller_actor=caller.actor, uow=c.uow, clock=c.clock))


@router.put("/{client_id}/status", response_model=SystemPublic)
def set_status(client_id: str, body: StatusRequest, caller: Operator,
               c: ContainerDep) -> SystemPublic:
    return SystemPublic.model_validate(business_systems.set_status(
        client_id, body.status, caller=caller, uow=c.uow))
