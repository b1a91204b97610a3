"""Shared pieces of the CLI: settings and container loading, output helpers."""

from __future__ import annotations

import getpass
import json
from typing import Any

import typer

from yunzhang.bootstrap import Container, build_container
from yunzhang.config import Settings, load_settings
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
