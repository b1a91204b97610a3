"""REST API routers, one module per feature; thin: parse, call one service, return *Public."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Request bodies: unknown fields are refused (problem code request.unknown_field)."""

    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)
