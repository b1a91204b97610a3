"""`yunzhang rp`: business systems (业务系统, relying parties), registered by the operator."""

from __future__ import annotations

import os
import uuid
from typing import Optional

import typer

from yunzhang.cli.common import cli_caller, container
from yunzhang.domain.business_systems import SystemStatus
from yunzhang.errors import InvalidInput
from yunzhang.services import business_systems, webhooks

app = typer.Typer(help="Business systems (业务系统): client credentials, scopes, redirect URIs.",
                  no_args_is_help=True)


def _show_secret(done: business_systems.Registered) -> None:
    typer.echo(f"client id:      {done.system.client_id}")
    if done.secret is not None:
        typer.echo(f"client secret:  {done.secret}")
    if done.webhook_secret is not None:
        typer.echo(f"webhook URL:    {done.system.webhook_url}")
        typer.echo(f"webhook secret: {done.webhook_secret}")
    typer.echo("(secrets are shown once; the client secret is kept as a keyed hash, the webhook "
               "secret encrypted)")


@app.command()
def add(
    client_id: str,
    name: str = typer.Option(..., help="shown to people, e.g. 示范招投标系统"),
    scope: list[str] = typer.Option(..., help="a scope it may ask for, repeatable"),
    redirect_uri: list[str] = typer.Option([], help="OpenID Connect redirect URI, repeatable"),
    secret_env: Optional[str] = typer.Option(
        None, help="take the client secret from this environment variable instead of making one"),
    webhook_url: Optional[str] = typer.Option(
        None, help="where results are announced (signed webhooks, docs/webhooks.md)"),
) -> None:
    """Register a business system; prints its client secret once."""
    chosen = None
    if secret_env is not None:
        chosen = os.environ.get(secret_env)
        if chosen is None:
            raise typer.BadParameter(f"${secret_env} is not set", param_hint="--secret-env")
    c = container()
    _show_secret(business_systems.register(
        business_systems.RegisterSystem(client_id, name, scope, redirect_uri, chosen,
                                        webhook_url),
        caller=cli_caller(), uow=c.uow, clock=c.clock, keyring=c.keyring, scopes=c.scopes))


@app.command("list")
def list_() -> None:
    c = container()
    for s in business_systems.list_systems(uow=c.uow):
        typer.echo(f"{s.client_id:<24} {s.status.value:<9} {s.name}  scopes: {', '.join(s.scopes)}"
                   + (f"  webhook: {s.webhook_url}" if s.webhook_url else ""))


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


@app.command("set-webhook")
def set_webhook(client_id: str,
                url: Optional[str] = typer.Option(None, help="the new webhook URL"),
                none: bool = typer.Option(False, "--none", help="remove the webhook")) -> None:
    """Set the webhook URL with a new signing secret (printed once), or remove it."""
    if (url is None) == (not none):
        raise InvalidInput("say --url URL or --none", code="cli.webhook")
    c = container()
    _show_secret(business_systems.set_webhook(client_id, url, caller=cli_caller(), uow=c.uow,
                                              keyring=c.keyring))


@app.command("webhooks")
def list_webhooks(client_id: str,
                  limit: int = typer.Option(20, min=1, max=500)) -> None:
    """The newest webhook deliveries: status, tries, last error."""
    c = container()
    for d in webhooks.recent_deliveries(client_id, uow=c.uow, limit=limit):
        typer.echo(f"{d.id}  {d.status.value:<9} {d.event:<28} tries {d.attempts}  "
                   f"{d.created_at.isoformat()}  {d.last_error or ''}".rstrip())


@app.command()
def redeliver(delivery_id: uuid.UUID) -> None:
    """Send a webhook delivery again (e.g. one given up while the endpoint was down)."""
    c = container()
    done = webhooks.redeliver(delivery_id, caller_actor=cli_caller().actor, uow=c.uow,
                              clock=c.clock)
    typer.echo(f"{done.id} queued again")


@app.command("deliver-webhooks")
def deliver_webhooks() -> None:
    """One delivery round now (the server does this in the background)."""
    c = container()
    report = webhooks.deliver_due_webhooks(uow=c.uow, sender=c.webhooks, clock=c.clock,
                                           keyring=c.keyring, settings=c.settings)
    typer.echo(f"delivered {report.delivered}, retrying {report.retrying}, "
               f"given up {report.given_up}")
