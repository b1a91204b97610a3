"""`yunzhang verify FILE`: every signature of a PDF; exit 0 only when all are intact, valid and
trusted."""

from __future__ import annotations

from pathlib import Path

import typer

from yunzhang.cli.common import container, echo_json
from yunzhang.domain.grants import show_time
from yunzhang.errors import InvalidInput, VerificationError
from yunzhang.services import verification


def verify(document: Path = typer.Argument(..., help="a signed PDF"),
           as_json: bool = typer.Option(False, "--json", help="the report as JSON")) -> None:
    """验章: who signed, when, intact, valid, trusted, revocation, changes after signing."""
    try:
        data = document.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {document}: {exc.strerror}", code="cli.file") from None
    c = container()
    report = verification.verify_document(data, uow=c.uow, verifier=c.verifier, clock=c.clock,
                                          settings=c.settings)
    if as_json:
        echo_json({"ok": report.ok, "signatures": [s.summary() for s in report.signatures]})
    else:
        for s in report.signatures:
            f = s.facts
            when = f.timestamp_time or f.signing_time
            mark = "OK " if s.ok else "BAD"
            typer.echo(f"{mark} {f.field_name}: {f.signer_subject.get('common_name', '?')} "
                       f"({s.kind}{', ' + s.uscc if s.uscc else ''}) "
                       f"{show_time(when) if when else 'no time'}"
                       f"{' (time stamp)' if f.timestamp_time else ''}; intact={f.intact} "
                       f"valid={f.valid} trusted={f.trusted} revocation={s.revocation} "
                       f"changed_after={f.modified_after}")
    if not report.ok:
        raise VerificationError("no signatures" if not report.signatures else
                                "not every signature is intact, valid and trusted",
                                code="verify.failed")
