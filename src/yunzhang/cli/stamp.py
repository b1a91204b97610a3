"""`yunzhang stamp`: apply a seal to one PDF or many (PAdES, visible seal image), as a person the
decision function allows to use that seal in that business system (``--as PHONE``), or as a
business system under its auto-stamp grant (``--client ID``, secret in YUNZHANG_CLIENT_SECRET).

Many files (several arguments, or a directory) go to an output directory. The run is resumable:
a manifest in the output directory records, per file, an idempotency key (the SHA-256 of the
input and of what was asked) and the SHA-256 of the output; a file whose output is recorded is
not stamped again after a crash or a second run. Outputs are written to a temporary name and
renamed, so a crash never leaves half a PDF; inputs are never written.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

import typer

from yunzhang.bootstrap import Container
from yunzhang.cli.common import acting_as, container
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import InvalidInput, YunzhangError
from yunzhang.services import business_systems, seals, stamping
from yunzhang.services.context import Caller

MANIFEST = ".yunzhang-stamp.json"
CHUNK = 1 << 20
CLIENT_SECRET_ENV = "YUNZHANG_CLIENT_SECRET"
EXIT_SOME_FAILED = 11


@dataclass(frozen=True)
class Job:
    seal_id: uuid.UUID
    system: str
    placement: Placement
    profile: PadesProfile

    def key(self, input_sha256: bytes) -> str:
        """Idempotency key: the same input stamped the same way is the same job."""
        asked = f"{self.seal_id}|{self.system}|{self.placement}|{self.profile.value}".encode()
        return hashlib.sha256(input_sha256 + asked).hexdigest()


def _file_error(path: Path, exc: OSError, verb: str) -> InvalidInput:
    return InvalidInput(f"cannot {verb} {path}: {exc.strerror}", code="cli.file")


def _sha256(path: Path) -> bytes:
    """Files are read in chunks: a document of any size is never held whole."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise _file_error(path, exc, "read") from None
    return digest.digest()


def _starts_with(path: Path, prefix: Path) -> bool:
    """Whether ``path`` is longer than ``prefix`` and begins with all of it."""
    try:
        if path.stat().st_size <= prefix.stat().st_size:
            return False
        with path.open("rb") as whole, prefix.open("rb") as start:
            while chunk := start.read(CHUNK):
                if whole.read(len(chunk)) != chunk:
                    return False
        return True
    except OSError as exc:
        raise _file_error(path, exc, "read") from None


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _file_error(path, exc, "write") from None


# (source, output, document name, idempotency key) -> SHA-256 of the output, as recorded
Stamper = Callable[[BinaryIO, BinaryIO, str, str], str]


def _stamp_file(document: Path, target: Path, stamp_one: Stamper, key: str) -> str:
    """Stamp into a temporary file beside the target, renamed into place once complete: a crash
    never leaves half a PDF, and the input is only read."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with document.open("rb") as source, temp.open("w+b") as output:
            sha256 = stamp_one(source, output, document.name, key)
            output.flush()
            os.fsync(output.fileno())
        os.replace(temp, target)
        return sha256
    except OSError as exc:
        raise _file_error(target, exc, "write") from None
    finally:
        temp.unlink(missing_ok=True)


def _stamper(c: Container, job: Job, as_: str | None, client: str | None,
             scope: str | None) -> Stamper:
    """Stamps as the person ``as_`` or as the business system ``client``."""
    if (as_ is None) == (client is None):
        raise InvalidInput("say who stamps: --as PHONE (a person) or --client ID (a business "
                           "system with an auto-stamp grant)", code="cli.stamper")
    if client is not None:
        secret = os.environ.get(CLIENT_SECRET_ENV) or typer.prompt(
            f"client secret of {client}", hide_input=True)
        caller = Caller(actor=f"system:{client[:64]}")
        system = business_systems.authenticate(client, secret, caller=caller, uow=c.uow,
                                               keyring=c.keyring)
        if scope is None:
            raise InvalidInput("a business system stamps for a scope: pass --scope",
                               code="cli.scope")
        parsed = c.scopes.parse(scope)

        def as_system(source: BinaryIO, output: BinaryIO, name: str, key: str) -> str:
            return stamping.stamp_as_system(
                stamping.SystemStamp(system, job.seal_id, parsed, source, job.placement,
                                     job.profile, name, idempotency_key=key),
                output=output, caller=caller, uow=c.uow, stamper=c.pdf, clock=c.clock,
                settings=c.settings, factory=c.x509).sha256_out
        return as_system
    assert as_ is not None
    if not job.system:
        raise InvalidInput("a person stamps in a business system: pass --system",
                           code="cli.system")
    who = acting_as(c, as_)

    def as_person(source: BinaryIO, output: BinaryIO, name: str, key: str) -> str:
        return stamping.stamp_document(
            stamping.StampDocument(who.person_id, job.seal_id, job.system, source, job.placement,
                                   job.profile, name),
            output=output, caller=who.caller, uow=c.uow, stamper=c.pdf, clock=c.clock,
            settings=c.settings, factory=c.x509).sha256_out
    return as_person


def progress_bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def stamp(
    documents: list[Path] = typer.Argument(..., help="PDF files, or one directory of them"),
    out: Path = typer.Option(..., help="the stamped PDF (one input) or a directory (many)"),
    seal: str = typer.Option(..., help="the seal's id (yunzhang seals list), or <USCC>:<type> "
                                       "such as 91310115MA1K4DEM05:contract"),
    system: str = typer.Option("", help="the business system the seal is used in (with --as)"),
    page: int = typer.Option(1, help="page, from 1"),
    x: float = typer.Option(20.0, help="mm from the page's left edge"),
    y: float = typer.Option(20.0, help="mm from the page's top edge"),
    keyword: Optional[str] = typer.Option(None, help="centre the seal on this text (e.g. 盖章处)"),
    cross_page: bool = typer.Option(False, "--cross-page", help="骑缝章 across every page's edge"),
    profile: str = typer.Option("B-T", help="B-B; B-T with the platform's time stamp; B-LT "
                                            "with the CRLs embedded too"),
    overwrite: bool = typer.Option(False, help="replace an existing output file"),
    as_: Optional[str] = typer.Option(None, "--as", help="phone number of the person stamping"),
    client: Optional[str] = typer.Option(
        None, help=f"a business system's client id (平台自动签; secret in ${CLIENT_SECRET_ENV})"),
    scope: Optional[str] = typer.Option(None, help="with --client: the business it is for"),
) -> None:
    """用印: stamp PDFs with a cloud seal; judged by the decision function (seal:use, or
    seal:auto_stamp for a business system)."""
    try:
        seal_id = uuid.UUID(seal)
    except ValueError:
        seal_id = seals.seal_id_of(seal, uow=container().uow)
    try:
        chosen = PadesProfile(profile.upper())
    except ValueError:
        raise InvalidInput("the profile is B-B, B-T or B-LT", code="stamp.profile") from None
    job = Job(seal_id, client or system, Placement(page, x, y, keyword, cross_page), chosen)
    inputs = documents
    if len(documents) == 1 and documents[0].is_dir():
        inputs = sorted(p for p in documents[0].iterdir() if p.suffix.lower() == ".pdf")
        if not inputs:
            raise InvalidInput(f"{documents[0]} holds no .pdf files", code="cli.file")
    if len(inputs) == 1 and not (out.is_dir() or len(documents) > 1 or documents[0].is_dir()):
        _single(inputs[0], out, job, overwrite, lambda c: _stamper(c, job, as_, client, scope))
    else:
        _many(inputs, out, job, overwrite, lambda c: _stamper(c, job, as_, client, scope))


def _single(document: Path, out: Path, job: Job, overwrite: bool,
            stamper_for: Callable[[Container], Stamper]) -> None:
    if out.resolve() == document.resolve():
        raise InvalidInput("the output would overwrite the input; name another file",
                           code="stamp.overwrite")
    if out.exists() and not overwrite:
        raise InvalidInput(f"{out} exists; pass --overwrite to replace it", code="stamp.overwrite")
    key = job.key(_sha256(document))
    _stamp_file(document, out, stamper_for(container()), key)
    typer.echo(f"{out}: stamped with seal {job.seal_id} ({job.profile.value}, "
               f"{job.placement.describe()})")


def _many(inputs: list[Path], out: Path, job: Job, overwrite: bool,
          stamper_for: Callable[[Container], Stamper]) -> None:
    names = [p.name for p in inputs]
    if len(set(names)) != len(names):
        raise InvalidInput("two inputs have the same file name; their outputs would collide",
                           code="stamp.overwrite")
    out.mkdir(parents=True, exist_ok=True)
    if any(p.resolve().parent == out.resolve() for p in inputs):
        raise InvalidInput("the output directory holds the inputs; name another one",
                           code="stamp.overwrite")
    manifest_path = out / MANIFEST
    manifest: dict[str, dict[str, str]] = (
        json.loads(manifest_path.read_text()) if manifest_path.exists() else {})
    stamp_one = stamper_for(container())
    failed = 0
    for i, document in enumerate(inputs, start=1):
        target = out / document.name
        progress = f"{progress_bar(i, len(inputs))} {document.name}"
        try:
            key = job.key(_sha256(document))
            done = manifest.get(document.name)
            if done and done["key"] == key and target.exists() and \
                    _sha256(target).hex() == done["sha256"]:
                typer.echo(f"{progress}: already stamped, skipped")
                continue
            if target.exists() and not overwrite:
                # A stamp is an incremental update: its output begins with the input unchanged.
                # An output written just before a crash that kept the manifest from recording it
                # is recognized so, and not stamped a second time.
                if _starts_with(target, document):
                    manifest[document.name] = {"key": key, "sha256": _sha256(target).hex()}
                    _write_atomically(manifest_path, json.dumps(manifest, indent=1).encode())
                    typer.echo(f"{progress}: already stamped (found after an interruption), skipped")
                    continue
                raise InvalidInput(f"{target} exists and is not a stamped copy of {document.name}; "
                                   f"pass --overwrite", code="stamp.overwrite")
            sha256 = _stamp_file(document, target, stamp_one, key)
            manifest[document.name] = {"key": key, "sha256": sha256}
            _write_atomically(manifest_path, json.dumps(manifest, indent=1).encode())
            typer.echo(f"{progress}: stamped")
        except YunzhangError as err:
            failed += 1
            typer.echo(f"{progress}: error: {err.detail} [{err.code}]")
    typer.echo(f"{len(inputs) - failed} of {len(inputs)} stamped or already stamped in {out}")
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)
