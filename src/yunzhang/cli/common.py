"""Shared pieces of the CLI: settings and container loading, output helpers."""

from __future__ import annotations

import getpass
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import typer

from yunzhang.bootstrap import Container, build_container
from yunzhang.config import Settings, load_settings
from yunzhang.domain.grants import CST
from yunzhang.domain.ids import Phone
from yunzhang.errors import InvalidInput, NotFound
from yunzhang.services.context import Caller


def settings() -> Settings:
    return load_settings()


def container() -> Container:
    c = build_container(settings())
    # Like `serve`: an unmigrated database gets "run `yunzhang db upgrade`" (exit 8), not a
    # driver error about a missing table.
    c.require_current_schema()
    return c


def cli_caller() -> Caller:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Caller(actor=f"cli:{user}"[:100])


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@dataclass(frozen=True)
class Acting:
    """The person a CLI command acts as (``--as PHONE``); the decision function judges them."""

    person_id: uuid.UUID
    caller: Caller


def acting_as(c: Container, phone: str) -> Acting:
    number = Phone.parse(phone)
    with c.uow() as tx:
        person = tx.persons.by_phone(number.value)
        if person is None:
            raise NotFound(f"no person with phone {number.masked}", code="person.not_found")
        person_id = person.id
    base = cli_caller()
    return Acting(person_id, Caller(actor=f"person:{person_id} via {base.actor}"[:100]))


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601; a time without zone is read as China Standard Time (UTC+8)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not an ISO 8601 time such as 2026-12-01T09:00",
                           code="cli.time") from None
    return value if value.tzinfo else value.replace(tzinfo=CST)
