"""`yunzhang roles`: memberships and roles, acting as a person (`--as PHONE`)."""

from __future__ import annotations

from typing import Optional

import typer

from yunzhang.cli.common import acting_as, container, echo_json
from yunzhang.domain.ids import Phone
from yunzhang.domain.roles import Role
from yunzhang.errors import InvalidInput, NotFound
from yunzhang.services import roles

app = typer.Typer(help="Roles in enterprises (link, apply, approve, grant, revoke, unlink).",
                  no_args_is_help=True)

AS = typer.Option(..., "--as", help="phone number of the person acting")


def _role(text: str) -> Role:
    if text not in ("admin", "agent"):
        raise InvalidInput("--role must be admin or agent", code="application.role")
    return Role(text)


@app.command()
def link(uscc: str, as_: str = AS) -> None:
    """关联企业: link the person to the enterprise (the legal representative gets the role)."""
    c = container()
    who = acting_as(c, as_)
    m = roles.link_enterprise(who.person_id, uscc, caller=who.caller, uow=c.uow, clock=c.clock)
    typer.echo(f"linked; role: {m.role.value if m.role else 'none (apply for one)'}")


@app.command()
def unlink(uscc: str, as_: str = AS) -> None:
    """解除绑定: the person leaves the enterprise; their grants there stop."""
    c = container()
    who = acting_as(c, as_)
    roles.unlink_enterprise(who.person_id, uscc, caller=who.caller, uow=c.uow, clock=c.clock)
    typer.echo("unlinked")


@app.command()
def apply(
    uscc: str,
    role: str = typer.Option(..., help="admin or agent"),
    reason: str = typer.Option(...),
    confirm_by_sms: bool = typer.Option(False, help="agent: confirm with a code sent to the "
                                        "legal representative (seed 004 §3)"),
    as_: str = AS,
) -> None:
    c = container()
    who = acting_as(c, as_)
    a = roles.apply_for_role(roles.ApplyForRole(who.person_id, uscc, _role(role), reason,
                                                confirm_by_sms),
                             caller=who.caller, uow=c.uow, clock=c.clock, keyring=c.keyring,
                             settings=c.settings)
    typer.echo(f"application {a.id} for {a.role.value} is pending")


@app.command()
def applications(uscc: str, as_: str = AS) -> None:
    """Pending applications (for those who may approve)."""
    c = container()
    who = acting_as(c, as_)
    for a in roles.list_applications(who.person_id, uscc, caller=who.caller, uow=c.uow,
                                     clock=c.clock):
        typer.echo(f"{a.id:>6} {a.role.value:<6} {a.applicant_id} {a.reason}")


@app.command()
def approve(application_id: int, note: Optional[str] = typer.Option(None), as_: str = AS) -> None:
    c = container()
    who = acting_as(c, as_)
    a = roles.decide_application(roles.DecideApplication(who.person_id, application_id, True, note),
                                 caller=who.caller, uow=c.uow, clock=c.clock, settings=c.settings)
    typer.echo(f"application {a.id} approved")


@app.command()
def reject(application_id: int, note: str = typer.Option(...), as_: str = AS) -> None:
    c = container()
    who = acting_as(c, as_)
    a = roles.decide_application(roles.DecideApplication(who.person_id, application_id, False, note),
                                 caller=who.caller, uow=c.uow, clock=c.clock, settings=c.settings)
    typer.echo(f"application {a.id} rejected")


@app.command()
def confirm(application_id: int, code: str = typer.Option(...), as_: str = AS) -> None:
    """The applicant enters the code the legal representative received."""
    c = container()
    who = acting_as(c, as_)
    a = roles.confirm_agent(roles.ConfirmAgent(who.person_id, application_id, code),
                            caller=who.caller, uow=c.uow, clock=c.clock, keyring=c.keyring,
                            settings=c.settings)
    typer.echo(f"application {a.id} confirmed: agent")


@app.command()
def grant(
    uscc: str,
    name: str = typer.Option(...),
    id_number: str = typer.Option(...),
    phone: str = typer.Option(...),
    role: str = typer.Option(..., help="admin or agent"),
    as_: str = AS,
) -> None:
    """主动授权: give a registered, verified person a role without an application."""
    c = container()
    who = acting_as(c, as_)
    m = roles.grant_role(roles.GrantRole(who.person_id, uscc, name, id_number, phone, _role(role)),
                         caller=who.caller, uow=c.uow, clock=c.clock, keyring=c.keyring,
                         settings=c.settings)
    typer.echo(f"{name} is now {m.role.value if m.role else '?'}")


@app.command()
def revoke(uscc: str, member_phone: str, reason: str = typer.Option(...), as_: str = AS) -> None:
    """Remove a member's role (the acting person needs a recent liveness check)."""
    c = container()
    who = acting_as(c, as_)
    member = acting_as(c, Phone.parse(member_phone).value)
    roles.revoke_role(roles.RevokeRole(who.person_id, uscc, member.person_id, reason),
                      caller=who.caller, uow=c.uow, clock=c.clock, settings=c.settings)
    typer.echo("role revoked; their grants have ended")


@app.command()
def members(uscc: str, as_: str = AS, as_json: bool = typer.Option(False, "--json")) -> None:
    c = container()
    who = acting_as(c, as_)
    views = roles.list_members(who.person_id, uscc, caller=who.caller, uow=c.uow, clock=c.clock)
    if as_json:
        echo_json([{"person_id": str(v.person.id), "name": v.person.name,
                    "role": v.membership.role.value if v.membership.role else None,
                    "since": v.membership.started_at, "authority": v.membership.authority}
                   for v in views])
        return
    if not views:
        raise NotFound("no members", code="member.not_linked")
    for v in views:
        role = v.membership.role.value if v.membership.role else "-"
        typer.echo(f"{role:<10} {v.person.name or '?':<8} {Phone(v.person.phone).masked}  "
                   f"since {v.membership.started_at:%Y-%m-%d}  ({v.membership.authority})")
