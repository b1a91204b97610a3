"""`yunzhang grants`: business and seal-use grants, and asking the decision function."""

from __future__ import annotations

from typing import Optional

import typer

from yunzhang.cli.common import acting_as, container, parse_time
from yunzhang.domain.authz import Action
from yunzhang.domain.grants import show_time
from yunzhang.errors import InvalidInput
from yunzhang.services import grants

app = typer.Typer(help="Authorizations of agents (全业务/精准授权) and seal use (印章授权).",
                  no_args_is_help=True)

AS = typer.Option(..., "--as", help="phone number of the person acting")
EXIT_DENIED = 5


@app.command()
def create(
    uscc: str,
    to: str = typer.Option(..., help="phone number of the agent"),
    all_business: bool = typer.Option(False, "--all-business", help="全业务授权"),
    scope: list[str] = typer.Option([], help="精准授权 scope, repeatable (see `yunzhang scopes`)"),
    start: Optional[str] = typer.Option(None, help="ISO time (UTC+8 if no zone); default now"),
    end: Optional[str] = typer.Option(None, help="default: start + 3 days"),
    as_: str = AS,
) -> None:
    c = container()
    who = acting_as(c, as_)
    agent = acting_as(c, to)
    g = grants.create_grant(
        grants.CreateGrant(who.person_id, uscc, agent.person_id, all_business, scope,
                           parse_time(start), parse_time(end)),
        caller=who.caller, uow=c.uow, clock=c.clock, scopes=c.scopes, settings=c.settings)
    typer.echo(f"grant {g.id}: {g.describe()} from {show_time(g.starts_at)} to {show_time(g.ends_at)}")


@app.command()
def seal(
    uscc: str,
    to: str = typer.Option(..., help="phone number of the member"),
    seal_id: str = typer.Option(..., "--seal"),
    system: str = typer.Option(..., help="business system (client id)"),
    start: Optional[str] = typer.Option(None),
    end: Optional[str] = typer.Option(None),
    as_: str = AS,
) -> None:
    """印章授权: allow a member to use a seal in one business system."""
    c = container()
    who = acting_as(c, as_)
    member = acting_as(c, to)
    g = grants.create_seal_grant(
        grants.CreateSealGrant(who.person_id, uscc, member.person_id, seal_id, system,
                               parse_time(start), parse_time(end)),
        caller=who.caller, uow=c.uow, clock=c.clock, settings=c.settings)
    typer.echo(f"seal grant {g.id}: {g.describe()} until {show_time(g.ends_at)}")


@app.command("auto-stamp")
def auto_stamp(
    uscc: str,
    system: str = typer.Option(..., help="the business system's client id (yunzhang rp list)"),
    seal_id: str = typer.Option(..., "--seal"),
    scope: list[str] = typer.Option(..., help="scope it may stamp for, repeatable"),
    max_count: Optional[int] = typer.Option(None, "--max", help="at most this many stamps"),
    start: Optional[str] = typer.Option(None),
    end: Optional[str] = typer.Option(None, help="default: start + 3 days"),
    as_: str = AS,
) -> None:
    """平台自动签: let a business system stamp with a seal without per-document approval
    (legal representative or administrator, after a liveness check)."""
    c = container()
    who = acting_as(c, as_)
    g = grants.create_auto_stamp_grant(
        grants.CreateAutoStampGrant(who.person_id, uscc, system, seal_id, scope,
                                    parse_time(start), parse_time(end), max_count),
        caller=who.caller, uow=c.uow, clock=c.clock, scopes=c.scopes, settings=c.settings)
    typer.echo(f"auto-stamp grant {g.id}: {g.describe()} until {show_time(g.ends_at)}")


@app.command("list")
def list_(uscc: str, as_: str = AS) -> None:
    c = container()
    who = acting_as(c, as_)
    listing = grants.list_grants(who.person_id, uscc, caller=who.caller, uow=c.uow, clock=c.clock)
    for g in listing.grants:
        typer.echo(f"grant {g.id:>6} {g.status.value:<8} {g.grantee_id} {g.describe()} "
                   f"[{show_time(g.starts_at)}, {show_time(g.ends_at)})")
    for s in listing.seal_grants:
        typer.echo(f"seal  {s.id:>6} {s.status.value:<8} {s.grantee_id} {s.describe()} "
                   f"[{show_time(s.starts_at)}, {show_time(s.ends_at)})")
    for a in listing.auto_stamp_grants:
        typer.echo(f"auto  {a.id:>6} {a.status.value:<8} {a.describe()} "
                   f"[{show_time(a.starts_at)}, {show_time(a.ends_at)})")


@app.command()
def revoke(grant_id: int, reason: str = typer.Option(...), as_: str = AS,
           seal_grant: bool = typer.Option(False, "--seal", help="a seal grant id"),
           auto_stamp: bool = typer.Option(False, "--auto-stamp",
                                           help="an auto-stamp grant id")) -> None:
    c = container()
    who = acting_as(c, as_)
    cmd = grants.RevokeGrant(who.person_id, grant_id, reason)
    if seal_grant and auto_stamp:
        raise InvalidInput("--seal or --auto-stamp, not both", code="cli.grant_kind")
    what = "seal grant" if seal_grant else "auto-stamp grant" if auto_stamp else "grant"
    revoke_one = (grants.revoke_seal_grant if seal_grant else
                  grants.revoke_auto_stamp_grant if auto_stamp else grants.revoke_grant)
    revoke_one(cmd, caller=who.caller, uow=c.uow, clock=c.clock)
    typer.echo(f"{what} {grant_id} revoked")


@app.command()
def check(
    uscc: str,
    action: str = typer.Option("business:act", help="business:act, seal:use or enterprise:view"),
    scope: Optional[str] = typer.Option(None),
    seal_id: Optional[str] = typer.Option(None, "--seal"),
    system: Optional[str] = typer.Option(None),
    as_: str = AS,
) -> None:
    """Ask the decision function now; exit 0 when allowed, 5 when refused (with the reason)."""
    c = container()
    who = acting_as(c, as_)
    try:
        wanted = Action(action)
    except ValueError:
        raise InvalidInput(f"unknown action {action!r}", code="authz.action") from None
    decision = grants.check_permission(
        grants.CheckPermission(who.person_id, uscc, wanted, scope, seal_id, system),
        uow=c.uow, clock=c.clock, scopes=c.scopes, settings=c.settings)
    ids = f" (grants {', '.join(map(str, decision.grant_ids))})" if decision.grant_ids else ""
    typer.echo(f"{'allowed' if decision.allowed else 'refused'}: {decision.reason}{ids}")
    if not decision.allowed:
        raise typer.Exit(EXIT_DENIED)
