"""`yunzhang staff`: platform staff roles such as seal reviewer (印章审核员)."""

from __future__ import annotations

import typer

from yunzhang.cli.common import cli_caller, container
from yunzhang.services import staff

app = typer.Typer(help="Platform staff: seal reviewers.", no_args_is_help=True)


@app.command()
def add(phone: str, role: str = typer.Option("seal_reviewer")) -> None:
    c = container()
    staff.grant_staff(phone, role, caller=cli_caller(), uow=c.uow, clock=c.clock)
    typer.echo(f"{phone} is now {role}")


@app.command()
def remove(phone: str, role: str = typer.Option("seal_reviewer")) -> None:
    c = container()
    staff.revoke_staff(phone, role, caller=cli_caller(), uow=c.uow)
    typer.echo(f"{phone} is no longer {role}")


@app.command("list")
def list_() -> None:
    c = container()
    for member, phone in staff.list_staff(uow=c.uow):
        typer.echo(f"{member.role.value:<16} {phone}")
