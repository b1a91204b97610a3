"""Enterprises as the registry knows them: search and lookup for logged-in persons."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from yunzhang.domain.enterprises import Enterprise, EnterpriseKind, EnterpriseStatus
from yunzhang.domain.ids import region_contains
from yunzhang.services import enterprises
from yunzhang.web.api import Public
from yunzhang.web.deps import ContainerDep, Reader

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises"])


class EnterprisePublic(Public):
    id: uuid.UUID
    uscc: str
    name: str
    kind: EnterpriseKind
    region: str
    in_region: bool
    status: EnterpriseStatus
    legal_rep_name: str
    legal_rep_id_masked: str
    updated_at: datetime

    @classmethod
    def of(cls, enterprise: Enterprise, deployment_region: str) -> EnterprisePublic:
        return cls.model_validate(
            {**{k: getattr(enterprise, k) for k in cls.model_fields if k != "in_region"},
             "in_region": region_contains(deployment_region, enterprise.region)})


@router.get("", response_model=list[EnterprisePublic])
def search(
    auth: Reader,
    c: ContainerDep,
    q: Annotated[str | None, Query(max_length=100, description="name fragment or USCC")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[EnterprisePublic]:
    found = enterprises.search_enterprises(q, uow=c.uow, limit=limit, offset=offset)
    return [EnterprisePublic.of(e, c.settings.region_code) for e in found]


@router.get("/{uscc}", response_model=EnterprisePublic)
def get(uscc: str, auth: Reader, c: ContainerDep) -> EnterprisePublic:
    return EnterprisePublic.of(enterprises.get_enterprise(uscc, uow=c.uow), c.settings.region_code)
