"""`yunzhang rp`: business systems (业务系统, relying parties), registered by the operator."""

from __future__ import annotations

import os
from typing import Optional

import typer

from yunzhang.cli.common import cli_caller, container
from yunzhang.domain.business_systems import SystemStatus
from yunzhang.services import business_systems

app = typer.Typer(help="Business systems (业务系统): client credentials, scopes, redirect URIs.",
                  no_args_is_help=True)


def _show_secret(done: business_systems.Registered) -> None:
    typer.echo(f"client id:     {done.system.client_id}")
    typer.echo(f"client secret: {done.secret}")
    typer.echo("(the secret is shown once; only a keyed hash of it is kept)")


@app.command()
def add(
    client_id: str,
    name: str = typer.Option(..., help="shown to people, e.g. 示范招投标系统"),
    scope: list[str] = typer.Option(..., help="a scope it may ask for, repeatable"),
    redirect_uri: list[str] = typer.Option([], help="OpenID Connect redirect URI, repeatable"),
    secret_env: Optional[str] = typer.Option(
        None, help="take the client secret from this environment variable instead of making one"),
) -> None:
    """Register a business system; prints its client secret once."""
    chosen = None
    if secret_env is not None:
        chosen = os.environ.get(secret_env)
        if chosen is None:
            raise typer.BadParameter(f"${secret_env} is not set", param_hint="--secret-env")
    c = container()
    _show_secret(business_systems.register(
        business_systems.RegisterSystem(client_id, name, scope, redirect_uri, chosen),
        caller=cli_caller(), uow=c.uow, clock=c.clock, keyring=c.keyring, scopes=c.scopes))


@app.command("list")
def list_() -> None:
    c = container()
    for s in business_systems.list_systems(uow=c.uow):
        typer.echo(f"{s.client_id:<24} {s.status.value:<9} {s.name}  scopes: {', '.join(s.scopes)}")


@app.command("rotate-secret")
def rotate_secret(client_id: str) -> None:
    """A new client secret; the old one stops working at once."""
    c = container()
    _show_secret(business_systems.rotate_secret(client_id, caller=cli_caller(), uow=c.uow,
                                                keyring=c.keyring))


@app.command()
def disable(client_id: str) -> None:
    c = container()
    business_systems.set_status(client_id, SystemStatus.DISABLED, caller=cli_caller(), uow=c.uow)
    typer.echo(f"{client_id} disabled: it can no longer authenticate or stamp")


@app.command()
def enable(client_id: str) -> None:
    c = container()
    business_systems.set_status(client_id, SystemStatus.ACTIVE, caller=cli_caller(), uow=c.uow)
    typer.echo(f"{client_id} enabled")
