"""`yunzhang seals`: apply, review, claim, suspend, resume, revoke; molds, images and types."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Optional

import typer

from yunzhang.cli.common import Acting, acting_as, cli_caller, container, echo_json
from yunzhang.domain.grants import show_time
from yunzhang.domain.seal_images import CropBox, MoldProcessing, SealColour, SealShape, SealSize
from yunzhang.errors import InvalidInput
from yunzhang.services import seal_types, seals

app = typer.Typer(help="Electronic seals (电子印章): apply, review, claim, use, revoke.",
                  no_args_is_help=True)

AS = typer.Option(..., "--as", help="phone number of the person acting")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="cli.file") from None


def _seal_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a seal id (a UUID)", code="cli.seal_id") from None


def _enum(kind: type[SealShape] | type[SealColour], text: str, code: str) -> str:
    allowed = [m.value for m in kind]
    if text not in allowed:
        raise InvalidInput(f"{text!r}: expected one of {', '.join(allowed)}", code=code)
    return text


def _mold(image: Optional[Path], shape: Optional[str], width: Optional[float],
          height: Optional[float], colour: str, crop: Optional[str], rotate: int,
          brightness: float, contrast: float) -> seals.MoldSource:
    tint = SealColour(_enum(SealColour, colour, "image.colour"))
    size = SealSize.of(width, height) if width is not None else None
    if image is None:
        return seals.Generated(size=size, colour=tint)
    if shape is None or size is None:
        raise InvalidInput("a photographed mold needs --shape and --width (mm)", code="image.shape")
    box = None
    if crop:
        try:
            left, top, w, h = (int(p) for p in crop.split(","))
        except ValueError:
            raise InvalidInput("--crop is left,top,width,height", code="image.crop") from None
        box = CropBox(left, top, w, h)
    return seals.Uploaded(_read(image), MoldProcessing(
        shape=SealShape(_enum(SealShape, shape, "image.shape")), size=size, crop=box,
        rotate=rotate, brightness=brightness, contrast=contrast, colour=tint))


def _show(view: seals.SealView) -> str:
    s = view.seal
    cert = f" cert {view.certificate.serial}" if view.certificate else ""
    return (f"{s.id}  {s.status.value:<14} {s.status.colour:<5} {view.seal_type.code:<15} "
            f"{s.name}{cert}")


IMAGE = typer.Option(None, "--image", help="photo of the physical mold (PNG/JPEG); "
                                           "without it the image is generated")
SHAPE = typer.Option(None, help="round, oval or square (with --image)")
WIDTH = typer.Option(None, "--width", help="millimetres")
HEIGHT = typer.Option(None, "--height", help="millimetres (oval seals)")
COLOUR = typer.Option("red", help="red, blue, black or purple")
CROP = typer.Option(None, help="left,top,width,height in pixels")
ROTATE = typer.Option(0, help="0, 90, 180 or 270 clockwise")
BRIGHT = typer.Option(1.0)
CONTRAST = typer.Option(1.0)


@app.command()
def apply(
    uscc: str,
    type_: str = typer.Option(..., "--type", help="official, contract, finance, invoice, "
                                                  "legal_rep_name or an operator's type"),
    name: Optional[str] = typer.Option(None, help="default: from the type and the enterprise"),
    filing_number: Optional[str] = typer.Option(None, help="公安备案号 of the physical seal"),
    seal_code: Optional[str] = typer.Option(None, help="13-digit seal code"),
    image: Optional[Path] = IMAGE, shape: Optional[str] = SHAPE, width: Optional[float] = WIDTH,
    height: Optional[float] = HEIGHT, colour: str = COLOUR, crop: Optional[str] = CROP,
    rotate: int = ROTATE, brightness: float = BRIGHT, contrast: float = CONTRAST, as_: str = AS,
) -> None:
    """申请印章: the application waits for a seal reviewer."""
    mold = _mold(image, shape, width, height, colour, crop, rotate, brightness, contrast)
    c = container()
    who = acting_as(c, as_)
    seal = seals.apply_seal(seals.ApplySeal(who.person_id, uscc, type_, mold, name, filing_number,
                                            seal_code),
                            caller=who.caller, uow=c.uow, artist=c.artist, clock=c.clock)
    typer.echo(f"seal {seal.id} applied for: {seal.name} ({seal.status.value})")


@app.command()
def mold(
    seal_id: str, image: Optional[Path] = IMAGE, shape: Optional[str] = SHAPE,
    width: Optional[float] = WIDTH, height: Optional[float] = HEIGHT, colour: str = COLOUR,
    crop: Optional[str] = CROP, rotate: int = ROTATE, brightness: float = BRIGHT,
    contrast: float = CONTRAST, as_: str = AS,
) -> None:
    """Upload a new mold for a seal (reviewed like the first)."""
    source = _mold(image, shape, width, height, colour, crop, rotate, brightness, contrast)
    c = container()
    who = acting_as(c, as_)
    made = seals.upload_mold(seals.UploadMold(who.person_id, _seal_id(seal_id), source),
                             caller=who.caller, uow=c.uow, artist=c.artist, clock=c.clock)
    typer.echo(f"mold {made.id} uploaded; waiting for review")


@app.command()
def preview(
    image: Path, out: Path = typer.Option(..., help="PNG to write"),
    shape: str = typer.Option(...), width: float = typer.Option(..., "--width"),
    height: Optional[float] = HEIGHT, colour: str = COLOUR, crop: Optional[str] = CROP,
    rotate: int = ROTATE, brightness: float = BRIGHT, contrast: float = CONTRAST,
) -> None:
    """Process a photographed mold as an upload would, without storing it."""
    source = _mold(image, shape, width, height, colour, crop, rotate, brightness, contrast)
    assert isinstance(source, seals.Uploaded)
    c = container()
    data = seals.preview(source.photo, source.processing, artist=c.artist)
    out.write_bytes(data.png)
    typer.echo(f"{out}: {data.width_px}x{data.height_px} px at {data.dpi} dpi")


@app.command("list")
def list_(uscc: str, as_: str = AS) -> None:
    """我的印章: red = usable, grey = to be claimed."""
    c = container()
    who = acting_as(c, as_)
    for view in seals.list_seals(who.person_id, uscc, caller=who.caller, uow=c.uow, clock=c.clock):
        typer.echo(_show(view))


@app.command()
def show(seal_id: str, as_: str = AS,
         image_out: Optional[Path] = typer.Option(None, help="write the current image here")) -> None:
    """A seal and its mold history (valid, pending, superseded, rejected)."""
    c = container()
    who = acting_as(c, as_)
    view, history = seals.get_seal(who.person_id, _seal_id(seal_id), caller=who.caller,
                                   uow=c.uow, clock=c.clock)
    typer.echo(_show(view))
    for image in history:
        note = f" ({image.review_note})" if image.review_note else ""
        typer.echo(f"  mold {image.id:>5} {image.status.value:<10} {image.source.value:<9} "
                   f"{image.width_mm:g}x{image.height_mm:g} mm {show_time(image.uploaded_at)} "
                   f"sha256 {image.sha256[:16]}{note}")
    if image_out is not None and view.image is not None:
        image_out.write_bytes(view.image.png)


@app.command()
def queue(as_: str = AS) -> None:
    """Seal reviewers: seals with a mold waiting for review."""
    c = container()
    who = acting_as(c, as_)
    for view, enterprise in seals.pending_reviews(who.person_id, caller=who.caller, uow=c.uow,
                                                  clock=c.clock):
        typer.echo(f"{_show(view)}  {enterprise.uscc}")


def _review(seal_id: str, approve: bool, reason: Optional[str], who: Acting) -> None:
    c = container()
    image = seals.review_mold(seals.ReviewMold(who.person_id, _seal_id(seal_id), approve, reason),
                              caller=who.caller, uow=c.uow, clock=c.clock)
    typer.echo(f"mold {image.id} {image.status.value}")


@app.command()
def approve(seal_id: str, as_: str = AS) -> None:
    """Approve the seal's pending mold (seal reviewers)."""
    _review(seal_id, True, None, acting_as(container(), as_))


@app.command()
def reject(seal_id: str, reason: str = typer.Option(...), as_: str = AS) -> None:
    """Reject the seal's pending mold, with the reason the applicant will read."""
    _review(seal_id, False, reason, acting_as(container(), as_))


@app.command()
def claim(seal_id: str, as_: str = AS) -> None:
    """申领: make the seal's key and certificate; the seal turns red."""
    c = container()
    who = acting_as(c, as_)
    seal = seals.claim_seal(seals.ClaimSeal(who.person_id, _seal_id(seal_id)), caller=who.caller,
                            uow=c.uow, keys=c.keys, factory=c.x509, clock=c.clock,
                            settings=c.settings)
    typer.echo(f"seal {seal.id} claimed: {seal.status.value}")


def _change(change: str, seal_id: str, reason: str, as_: str) -> None:
    c = container()
    who = acting_as(c, as_)
    seal = seals.change_seal(change, seals.ChangeSeal(who.person_id, _seal_id(seal_id), reason),
                             caller=who.caller, uow=c.uow, keys=c.keys, factory=c.x509,
                             clock=c.clock)
    typer.echo(f"seal {seal.id}: {seal.status.value}")


@app.command()
def suspend(seal_id: str, reason: str = typer.Option(...), as_: str = AS) -> None:
    _change("suspend", seal_id, reason, as_)


@app.command()
def resume(seal_id: str, as_: str = AS) -> None:
    _change("resume", seal_id, "", as_)


@app.command()
def revoke(seal_id: str, reason: str = typer.Option(...), as_: str = AS) -> None:
    """Final: certificate revoked, key destroyed."""
    _change("revoke", seal_id, reason, as_)


@app.command()
def types(as_json: bool = typer.Option(False, "--json")) -> None:
    """Seal types: built-in and the operator's."""
    c = container()
    found = seal_types.list_types(uow=c.uow)
    if as_json:
        echo_json([{"code": t.code, "name": t.name, "shape": t.shape.value, "kinds": t.kinds,
                    "filing_required": t.filing_required, "builtin": t.builtin} for t in found])
        return
    for t in found:
        kinds = ",".join(t.kinds) or "all kinds"
        filing = " filing required" if t.filing_required else ""
        typer.echo(f"{t.code:<16} {t.name:<10} {t.shape.value:<7} {kinds}{filing}")


@app.command("add-type")
def add_type(code: str, name: str = typer.Option(...), shape: str = typer.Option(...),
             kind: list[str] = typer.Option([], help="enterprise kinds allowed (default all)"),
             filing_required: bool = typer.Option(False)) -> None:
    """Add an operator-defined seal type (e.g. customs 报关专用章)."""
    c = container()
    t = seal_types.add_type(code, name, shape, kind, filing_required, caller=cli_caller(),
                            uow=c.uow, clock=c.clock)
    typer.echo(f"seal type {t.code} ({t.name}) added")
