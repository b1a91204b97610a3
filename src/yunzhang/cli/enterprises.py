"""`yunzhang enterprises`: import the registry, list and show enterprises, record a status."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from yunzhang.cli.common import cli_caller, container, echo_json
from yunzhang.errors import InvalidInput, PayloadTooLarge
from yunzhang.services import enterprises
from yunzhang.services.registry_files import RegistryFormat, guess_format, parse_registry

app = typer.Typer(help="Enterprises from the market-regulation registry.", no_args_is_help=True)

EXIT_SOME_REJECTED = 11


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="registry export, .csv (UTF-8 or GB18030) or .json"),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv or json (default: by suffix)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and report, write nothing"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Import (idempotently) the registry file. Exit 0 when every row was accepted, 11 when some
    rows were rejected (the valid ones are imported), another non-zero code when nothing was."""
    c = container()
    if fmt not in (None, "csv", "json"):
        raise InvalidInput("--format must be csv or json", code="import.format")
    chosen: RegistryFormat = fmt if fmt in ("csv", "json") else guess_format(file.name)  # type: ignore[assignment]
    try:
        size = file.stat().st_size
        if size > c.settings.max_import_bytes:
            raise PayloadTooLarge(f"{file} is larger than {c.settings.max_import_bytes} bytes",
                                  code="import.too_large")
        data = file.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read {file}: {err.strerror}", code="import.unreadable") from None
    rows = parse_registry(data, chosen, max_bytes=c.settings.max_import_bytes,
                          max_rows=c.settings.max_import_rows)
    report = enterprises.import_registry(
        enterprises.ImportRegistry(rows, file.name, dry_run), caller=cli_caller(), uow=c.uow,
        keyring=c.keyring, clock=c.clock)
    if as_json:
        echo_json({"source": report.source, "dry_run": report.dry_run, "created": report.created,
                   "updated": report.updated, "unchanged": report.unchanged,
                   "rejected": [r.__dict__ for r in report.rejected]})
    else:
        verb = "would be" if dry_run else "were"
        typer.echo(f"{report.total} rows: {len(report.created)} created, {len(report.updated)} "
                   f"updated, {len(report.unchanged)} unchanged, {len(report.rejected)} rejected "
                   f"({'dry run: nothing written' if dry_run else 'imported'})")
        for rej in report.rejected:
            typer.echo(f"  row {rej.row} ({rej.uscc or 'no USCC'}) {verb} rejected:", err=True)
            for reason in rej.reasons:
                typer.echo(f"    - {reason}", err=True)
    if report.rejected:
        raise typer.Exit(EXIT_SOME_REJECTED)


@app.command("list")
def list_(
    q: Optional[str] = typer.Option(None, "--q", help="name fragment or USCC"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    c = container()
    for e in enterprises.search_enterprises(q, uow=c.uow, limit=limit):
        typer.echo(f"{e.uscc}  {e.status.value:<12} {e.kind.value:<20} {e.name}")


@app.command()
def show(uscc: str) -> None:
    c = container()
    e = enterprises.get_enterprise(uscc, uow=c.uow)
    echo_json({"uscc": e.uscc, "name": e.name, "kind": e.kind.value, "region": e.region,
               "status": e.status.value, "legal_rep_name": e.legal_rep_name,
               "legal_rep_id_masked": e.legal_rep_id_masked, "updated_at": e.updated_at})


@app.command("set-status")
def set_status(uscc: str, status: str, reason: str = typer.Option(..., "--reason")) -> None:
    """Record a registry status change (active, suspended, revoked, deregistered)."""
    c = container()
    e = enterprises.set_enterprise_status(uscc, status, reason, caller=cli_caller(), uow=c.uow,
                                          clock=c.clock)
    typer.echo(f"{e.uscc} is {e.status.value}")
