"""`yunzhang stamp`: apply a seal to one PDF or many (PAdES, visible seal image), as a person the
decision function allows to use that seal in that business system.

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
from dataclasses import dataclass
from pathlib import Path

import typer

from yunzhang.bootstrap import Container
from yunzhang.cli.common import Acting, acting_as, container
from yunzhang.domain.stamping import PadesProfile, Placement
from yunzhang.errors import InvalidInput, YunzhangError
from yunzhang.services import stamping

MANIFEST = ".yunzhang-stamp.json"
EXIT_SOME_FAILED = 11


@dataclass(frozen=True)
class Job:
    seal_id: uuid.UUID
    system: str
    placement: Placement
    profile: PadesProfile

    def key(self, data: bytes) -> str:
        """Idempotency key: the same input stamped the same way is the same job."""
        asked = f"{self.seal_id}|{self.system}|{self.placement}|{self.profile.value}".encode()
        return hashlib.sha256(hashlib.sha256(data).digest() + asked).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {path}: {exc.strerror}", code="cli.file") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="cli.file") from None


def _stamp_one(c: Container, who: Acting, job: Job, data: bytes, name: str) -> bytes:
    return stamping.stamp_document(
        stamping.StampDocument(who.person_id, job.seal_id, job.system, data, job.placement,
                               job.profile, name),
        caller=who.caller, uow=c.uow, stamper=c.pdf, clock=c.clock, settings=c.settings)


def stamp(
    documents: list[Path] = typer.Argument(..., help="PDF files, or one directory of them"),
    out: Path = typer.Option(..., help="the stamped PDF (one input) or a directory (many)"),
    seal: str = typer.Option(..., help="the seal's id (yunzhang seals list)"),
    system: str = typer.Option(..., help="the business system the seal is used in"),
    page: int = typer.Option(1, help="page, from 1"),
    x: float = typer.Option(20.0, help="mm from the page's left edge"),
    y: float = typer.Option(20.0, help="mm from the page's top edge"),
    profile: str = typer.Option("B-T", help="B-B, or B-T with the platform's time stamp"),
    overwrite: bool = typer.Option(False, help="replace an existing output file"),
    as_: str = typer.Option(..., "--as", help="phone number of the person stamping"),
) -> None:
    """用印: stamp PDFs with a cloud seal; judged by the decision function (seal:use)."""
    try:
        seal_id = uuid.UUID(seal)
    except ValueError:
        raise InvalidInput(f"{seal!r} is not a seal id (a UUID)", code="cli.seal_id") from None
    try:
        chosen = PadesProfile(profile.upper())
    except ValueError:
        raise InvalidInput("the profile is B-B or B-T", code="stamp.profile") from None
    job = Job(seal_id, system, Placement(page, x, y), chosen)
    inputs = documents
    if len(documents) == 1 and documents[0].is_dir():
        inputs = sorted(p for p in documents[0].iterdir() if p.suffix.lower() == ".pdf")
        if not inputs:
            raise InvalidInput(f"{documents[0]} holds no .pdf files", code="cli.file")
    if len(inputs) == 1 and not (out.is_dir() or len(documents) > 1 or documents[0].is_dir()):
        _single(inputs[0], out, job, overwrite, as_)
    else:
        _many(inputs, out, job, overwrite, as_)


def _single(document: Path, out: Path, job: Job, overwrite: bool, as_: str) -> None:
    if out.resolve() == document.resolve():
        raise InvalidInput("the output would overwrite the input; name another file",
                           code="stamp.overwrite")
    if out.exists() and not overwrite:
        raise InvalidInput(f"{out} exists; pass --overwrite to replace it", code="stamp.overwrite")
    data = _read(document)
    c = container()
    who = acting_as(c, as_)
    _write_atomically(out, _stamp_one(c, who, job, data, document.name))
    typer.echo(f"{out}: stamped with seal {job.seal_id} ({job.profile.value}, "
               f"page {job.placement.page})")


def _many(inputs: list[Path], out: Path, job: Job, overwrite: bool, as_: str) -> None:
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
    c = container()
    who = acting_as(c, as_)
    failed = 0
    for i, document in enumerate(inputs, start=1):
        target = out / document.name
        progress = f"[{i}/{len(inputs)}] {document.name}"
        try:
            data = _read(document)
            key = job.key(data)
            done = manifest.get(document.name)
            if done and done["key"] == key and target.exists() and \
                    hashlib.sha256(target.read_bytes()).hexdigest() == done["sha256"]:
                typer.echo(f"{progress}: already stamped, skipped")
                continue
            if target.exists() and not overwrite:
                existing = target.read_bytes()
                # A stamp is an incremental update: its output begins with the input unchanged.
                # An output written just before a crash that kept the manifest from recording it
                # is recognized so, and not stamped a second time.
                if len(existing) > len(data) and existing.startswith(data):
                    manifest[document.name] = {
                        "key": key, "sha256": hashlib.sha256(existing).hexdigest()}
                    _write_atomically(manifest_path, json.dumps(manifest, indent=1).encode())
                    typer.echo(f"{progress}: already stamped (found after an interruption), skipped")
                    continue
                raise InvalidInput(f"{target} exists and is not a stamped copy of {document.name}; "
                                   f"pass --overwrite", code="stamp.overwrite")
            signed = _stamp_one(c, who, job, data, document.name)
            _write_atomically(target, signed)
            manifest[document.name] = {"key": key, "sha256": hashlib.sha256(signed).hexdigest()}
            _write_atomically(manifest_path, json.dumps(manifest, indent=1).encode())
            typer.echo(f"{progress}: stamped")
        except YunzhangError as err:
            failed += 1
            typer.echo(f"{progress}: error: {err.detail} [{err.code}]")
    typer.echo(f"{len(inputs) - failed} of {len(inputs)} stamped or already stamped in {out}")
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)
