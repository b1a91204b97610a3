"""`yunzhang stamp`: apply a seal to a PDF (PAdES, visible seal image) as a person allowed to."""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import typer

from yunzhang.cli.common import acting_as, container
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import InvalidInput
from yunzhang.services import stamping


def stamp(
    document: Path = typer.Argument(..., help="the PDF to stamp (never changed)"),
    out: Path = typer.Option(..., help="where to write the stamped PDF"),
    seal: str = typer.Option(..., help="the seal's id (yunzhang seals list)"),
    system: str = typer.Option(..., help="the business system the seal is used in"),
    page: int = typer.Option(1, help="page, from 1"),
    x: float = typer.Option(20.0, help="mm from the page's left edge"),
    y: float = typer.Option(20.0, help="mm from the page's top edge"),
    profile: str = typer.Option("B-T", help="B-B, or B-T with the platform's time stamp"),
    overwrite: bool = typer.Option(False, help="replace an existing output file"),
    as_: str = typer.Option(..., "--as", help="phone number of the person stamping"),
) -> None:
    """用印: stamp one PDF with a cloud seal; judged by the decision function (seal:use)."""
    try:
        seal_id = uuid.UUID(seal)
    except ValueError:
        raise InvalidInput(f"{seal!r} is not a seal id (a UUID)", code="cli.seal_id") from None
    try:
        chosen = PadesProfile(profile.upper())
    except ValueError:
        raise InvalidInput("the profile is B-B or B-T", code="stamp.profile") from None
    if out.resolve() == document.resolve():
        raise InvalidInput("the output would overwrite the input; name another file",
                           code="stamp.overwrite")
    if out.exists() and not overwrite:
        raise InvalidInput(f"{out} exists; pass --overwrite to replace it", code="stamp.overwrite")
    try:
        data = document.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {document}: {exc.strerror}", code="cli.file") from None
    c = container()
    who = acting_as(c, as_)
    signed = stamping.stamp_document(
        stamping.StampDocument(who.person_id, seal_id, system, data, Placement(page, x, y), chosen,
                               document.name),
        caller=who.caller, uow=c.uow, stamper=c.pdf, clock=c.clock, settings=c.settings)
    # Written whole to a temporary name first: a crash never leaves half a PDF at ``out``.
    temp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        temp.write_bytes(signed)
        os.replace(temp, out)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {out}: {exc.strerror}", code="cli.file") from None
    typer.echo(f"{out}: stamped with seal {seal_id} ({chosen.value}, page {page})")
