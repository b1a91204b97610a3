"""`yunzhang requests`: stamp and sign requests (用印/签署请求) as a business system sends them, from
the command line (client id in ``--client``, secret in YUNZHANG_CLIENT_SECRET): create one with
documents and steps, get a step's QR code URL, follow its progress, fetch the documents."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import typer

from yunzhang.bootstrap import Container
from yunzhang.cli.common import container
from yunzhang.domain.business_systems import BusinessSystem
from yunzhang.domain.signing_requests import SigningOrder
from yunzhang.domain.stamping import Placement
from yunzhang.errors import InvalidInput
from yunzhang.services import business_systems, signing_requests
from yunzhang.services.context import Caller

app = typer.Typer(help="Stamp and sign requests (用印/签署请求) of a business system.",
                  no_args_is_help=True)
CLIENT_SECRET_ENV = "YUNZHANG_CLIENT_SECRET"
CLIENT = typer.Option(..., "--client", help=f"the business system's client id (secret in "
                                            f"${CLIENT_SECRET_ENV})")
_PLACEMENT_KEYS = {"page": int, "x": float, "y": float, "keyword": str}


def _system(c: Container, client: str) -> tuple[BusinessSystem, Caller]:
    secret = os.environ.get(CLIENT_SECRET_ENV) or typer.prompt(
        f"client secret of {client}", hide_input=True)
    caller = Caller(actor=f"system:{client[:64]}")
    return business_systems.authenticate(client, secret, caller=caller, uow=c.uow,
                                         keyring=c.keyring), caller


def parse_step(text: str) -> signing_requests.StepSpec:
    """``seal=<USCC>:<type>`` or ``signer=<phone>``, then ``;page=2;x=120;y=200`` or
    ``;keyword=盖章处`` or ``;cross-page``."""
    head, *options = text.split(";")
    kind, equals, value = head.partition("=")
    if not equals or kind.strip() not in ("seal", "signer") or not value.strip():
        raise InvalidInput(f"a step is seal=<USCC>:<type> or signer=<phone>, not {text[:60]!r}",
                           code="cli.step")
    fields: dict[str, object] = {}
    for option in options:
        name, _, raw = option.partition("=")
        name = name.strip()
        if name == "cross-page" and not raw:
            fields["cross_page"] = True
            continue
        convert = _PLACEMENT_KEYS.get(name)
        if convert is None or not raw:
            raise InvalidInput(f"unknown placement {option[:40]!r}: page=, x=, y=, keyword= or "
                               f"cross-page", code="cli.step")
        try:
            fields[{"x": "x_mm", "y": "y_mm"}.get(name, name)] = convert(raw)
        except ValueError:
            raise InvalidInput(f"{name}= takes a number, not {raw[:20]!r}", code="cli.step") from None
    placement = Placement(**fields)  # type: ignore[arg-type]
    if kind.strip() == "seal":
        return signing_requests.StepSpec(seal=value.strip(), placement=placement)
    return signing_requests.StepSpec(signer=value.strip(), placement=placement)


def safe_name(name: str) -> str:
    """A document's name as a file name: no directories, no leading dots, no odd characters."""
    base = re.sub(r"[^\w.\-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return base[:100] or "document.pdf"


def _show(view: signing_requests.RequestView) -> None:
    r, (done, total) = view.request, view.progress
    typer.echo(f"request {r.id}  {view.status.value}  {done}/{total}  {r.title}")
    for s in view.steps:
        typer.echo(f"  step {s.position}  {s.kind.value:5}  {s.state.value:8}  {s.label}")
    for d in view.documents:
        typer.echo(f"  document {d.position}  {d.name}  SHA-256 {d.sha256}")


@app.command()
def create(documents: list[Path] = typer.Argument(..., help="PDF files"),
           step: list[str] = typer.Option(..., "--step", help=(
               "seal=<USCC>:<type> or signer=<phone>, optionally ;page=N;x=MM;y=MM, "
               ";keyword=TEXT or ;cross-page; repeat for each step, in order")),
           title: str = typer.Option(..., help="shown in the wallet"),
           parallel: bool = typer.Option(False, "--parallel", help="steps in any order"),
           scope: str | None = typer.Option(None, help="the business the documents are for"),
           reference: str | None = typer.Option(None, help="your own reference"),
           client: str = CLIENT) -> None:
    """Create a request; its steps are carried out by scanning (see `requests qr`)."""
    specs = [parse_step(s) for s in step]
    files = []
    for path in documents:
        try:
            files.append(signing_requests.NewDocument(path.name, path.read_bytes()))
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="cli.file") from None
    c = container()
    system, caller = _system(c, client)
    view = signing_requests.create_request(signing_requests.CreateRequest(
        system=system, title=title, documents=files, steps=specs,
        order=SigningOrder.PARALLEL if parallel else SigningOrder.SEQUENTIAL,
        scope=c.scopes.parse(scope) if scope else None, reference=reference),
        caller=caller, uow=c.uow, clock=c.clock, settings=c.settings)
    _show(view)


@app.command()
def qr(request_id: uuid.UUID, step: int | None = typer.Option(
           None, help="which step (default: the first that can be done now)"),
       client: str = CLIENT) -> None:
    """A scan session for a step: the URL for the QR code (and `yunzhang wallet scan URL`)."""
    c = container()
    system, caller = _system(c, client)
    opened = signing_requests.open_step_session(
        signing_requests.OpenStep(system, request_id, step), caller=caller, uow=c.uow,
        clock=c.clock, keyring=c.keyring, settings=c.settings)
    s = opened.session
    typer.echo(opened.url)
    typer.echo(f"binding code {s.binding_code}, valid until {s.expires_at.isoformat()}; "
               f"{s.subject}")


@app.command()
def show(request_id: uuid.UUID, client: str = CLIENT) -> None:
    """Status, steps and documents."""
    c = container()
    system, _ = _system(c, client)
    _show(signing_requests.view_request(system, request_id, uow=c.uow, clock=c.clock))


@app.command()
def fetch(request_id: uuid.UUID,
          out: Path = typer.Option(..., "--out", help="a directory for the documents"),
          client: str = CLIENT) -> None:
    """Write the documents, with every signature so far, into a directory."""
    c = container()
    system, _ = _system(c, client)
    view = signing_requests.view_request(system, request_id, uow=c.uow, clock=c.clock)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for d in view.documents:
            target = out / f"{d.position:02d}-{safe_name(d.name)}"
            target.write_bytes(d.content)
            typer.echo(f"{target}  SHA-256 {d.sha256}")
    except OSError as exc:
        raise InvalidInput(f"cannot write into {out}: {exc.strerror}", code="cli.file") from None
