"""`yunzhang sms`: read the outbox and deliver what is due."""

from __future__ import annotations

from typing import Optional

import typer

from yunzhang.cli.common import container
from yunzhang.services import notifications

app = typer.Typer(help="SMS notifications (the outbox).", no_args_is_help=True)


@app.command("list")
def list_(
    phone: Optional[str] = typer.Option(None, help="only messages to this number"),
    limit: int = typer.Option(20, min=1, max=1000),
) -> None:
    """Recent messages, newest first. With the development sender this is where codes are read."""
    c = container()
    for m in notifications.recent_messages(uow=c.uow, limit=limit, recipient=phone):
        typer.echo(f"{m.created_at:%Y-%m-%d %H:%M:%S} {m.recipient} {m.status.value:<7} {m.body}")


@app.command()
def deliver() -> None:
    """Send every due message once (the server does this by itself every few seconds)."""
    c = container()
    report = notifications.deliver_due(uow=c.uow, sender=c.sms, clock=c.clock,
                                       max_attempts=c.settings.outbox_max_attempts,
                                       keep_bodies=c.settings.sms_sender == "dev")
    typer.echo(f"sent {report.sent}, retrying {report.retrying}, gave up {report.given_up}")
