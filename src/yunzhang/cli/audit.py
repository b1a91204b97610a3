"""`yunzhang audit`: verify the hash chain, list events."""

from __future__ import annotations

from typing import Optional

import typer

from yunzhang.cli.common import container, echo_json
from yunzhang.services import audit

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

EXIT_BROKEN = 12


@app.command()
def verify() -> None:
    """Check every event against the chain; exit 12 and name each break when one is found."""
    c = container()
    report = audit.verify_audit_chain(uow=c.uow)
    if report.intact:
        typer.echo(f"audit chain intact: {report.events} events, head {report.head_seq}")
        return
    typer.echo(f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.events} events",
               err=True)
    for problem in report.problems:
        typer.echo(f"  event {problem.seq}: {problem.kind}: {problem.message}", err=True)
    raise typer.Exit(EXIT_BROKEN)


@app.command("list")
def list_(
    subject: Optional[str] = typer.Option(None, help="e.g. enterprise:91310115MA1K4DEM05"),
    limit: int = typer.Option(20, min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    c = container()
    events = audit.recent_events(uow=c.uow, limit=limit, subject=subject)
    if as_json:
        echo_json([{k: getattr(e, k) for k in ("seq", "at", "actor", "action", "subject",
                                                 "outcome", "request_id", "details")}
                   for e in events])
        return
    for e in events:
        typer.echo(f"{e.seq:>6} {e.at:%Y-%m-%d %H:%M:%S} {e.action:<22} {e.outcome:<8} "
                   f"{e.actor:<28} {e.subject}")
