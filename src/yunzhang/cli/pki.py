"""`yunzhang pki` (the platform CA hierarchy), `yunzhang certs` (enterprise and personal
certificates) and `yunzhang persons revoke`."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Optional

import typer

from yunzhang.cli.common import acting_as, cli_caller, container
from yunzhang.domain.grants import show_time
from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.domain.pki import Certificate, RevocationReason
from yunzhang.errors import InvalidInput
from yunzhang.services import certificates, persons, pki

app = typer.Typer(help="The platform PKI: root, issuing CAs, TSA, CRLs.", no_args_is_help=True)
certs = typer.Typer(help="Enterprise certificates (法人一证通) and personal certificates.",
                    no_args_is_help=True)
persons_app = typer.Typer(help="Operator actions on persons.", no_args_is_help=True)

AS = typer.Option(..., "--as", help="phone number of the person acting")
REASONS = ", ".join(r.value for r in RevocationReason)


def line(cert: Certificate) -> str:
    state = cert.status.value if cert.revoked_at is None else \
        f"revoked {show_time(cert.revoked_at)} ({cert.revocation_reason})"
    return (f"{cert.profile.value:<10} {cert.issuer.value}/{cert.serial}  {cert.subject}  "
            f"[{show_time(cert.not_before)}, {show_time(cert.not_after)})  {state}")


@app.command()
def init(algorithm: str = typer.Option("ec-p256", help="ec-p256, rsa-2048 or rsa-3072")) -> None:
    """Make the root CA, the organization and person issuing CAs and the TSA certificate (once)."""
    c = container()
    made = pki.init_pki(pki.InitPki(KeyAlgorithm.parse(algorithm)), caller=cli_caller(),
                        uow=c.uow, keys=c.keys, factory=c.x509, clock=c.clock, settings=c.settings)
    for cert in made:
        typer.echo(line(cert))


@app.command()
def show() -> None:
    """The CA and TSA certificates."""
    c = container()
    for cert in pki.ca_certificates(uow=c.uow):
        typer.echo(line(cert))


@app.command()
def export(directory: Path = typer.Argument(..., help="where to write root.pem etc.")) -> None:
    """Write the CA and TSA certificates as PEM files (e.g. for relying parties' trust stores)."""
    c = container()
    directory.mkdir(parents=True, exist_ok=True)
    for cert in pki.ca_certificates(uow=c.uow):
        name = cert.subject_ref.removeprefix("ca:")
        path = directory / f"{name}.pem"
        path.write_text(ssl.DER_cert_to_PEM_cert(cert.der))
        typer.echo(str(path))


@app.command()
def crl(ca: str, out: Path = typer.Option(..., help="file to write the DER CRL to")) -> None:
    """Write a CA's current CRL."""
    c = container()
    out.write_bytes(pki.current_crl(ca, uow=c.uow, factory=c.x509, clock=c.clock))
    typer.echo(str(out))


@app.command()
def revoke(issuer: str, serial: str,
           reason: str = typer.Option("unspecified", help=REASONS)) -> None:
    """Revoke an end-entity certificate (operator). Seals are revoked with `yunzhang seals revoke`."""
    c = container()
    cert = certificates.revoke_by_operator(issuer, serial, RevocationReason.parse(reason),
                                           caller=cli_caller(), uow=c.uow, keys=c.keys,
                                           factory=c.x509, clock=c.clock)
    typer.echo(line(cert))


@certs.command("issue")
def issue_enterprise(uscc: str, renew: bool = typer.Option(False, help="replace the current one"),
                     as_: str = AS) -> None:
    """Issue the enterprise certificate (its key stays in the platform's key store)."""
    c = container()
    who = acting_as(c, as_)
    cert = certificates.issue_enterprise_certificate(
        certificates.IssueEnterpriseCertificate(who.person_id, uscc, renew), caller=who.caller,
        uow=c.uow, keys=c.keys, factory=c.x509, clock=c.clock, settings=c.settings)
    typer.echo(line(cert))


@certs.command("revoke")
def revoke_enterprise(uscc: str, reason: str = typer.Option("unspecified", help=REASONS),
                      as_: str = AS) -> None:
    c = container()
    who = acting_as(c, as_)
    cert = certificates.revoke_enterprise_certificate(
        certificates.RevokeEnterpriseCertificate(who.person_id, uscc,
                                                 RevocationReason.parse(reason)),
        caller=who.caller, uow=c.uow, keys=c.keys, factory=c.x509, clock=c.clock)
    typer.echo(line(cert))


@certs.command("list")
def list_enterprise(uscc: str, as_: str = AS) -> None:
    c = container()
    who = acting_as(c, as_)
    for cert in certificates.enterprise_certificates(who.person_id, uscc, caller=who.caller,
                                                     uow=c.uow, clock=c.clock):
        typer.echo(line(cert))


@certs.command("person")
def issue_person(csr: Path = typer.Option(..., help="PKCS #10 request (PEM or DER)"),
                 out: Optional[Path] = typer.Option(None, help="write the certificate (PEM) here"),
                 renews: Optional[str] = typer.Option(None, help="serial it replaces"),
                 as_: str = AS) -> None:
    """A personal certificate for a key made elsewhere (the person's device)."""
    try:
        data = csr.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {csr}: {exc.strerror}", code="cli.file") from None
    c = container()
    who = acting_as(c, as_)
    cert = certificates.issue_person_certificate(
        certificates.IssuePersonCertificate(who.person_id, data, renews), caller=who.caller,
        uow=c.uow, factory=c.x509, clock=c.clock, settings=c.settings)
    if out is not None:
        out.write_text(ssl.DER_cert_to_PEM_cert(cert.der))
    typer.echo(line(cert))


@persons_app.command("revoke")
def revoke_person(phone: str, reason: str = typer.Option(...)) -> None:
    """The person can no longer log in; every certificate of theirs is revoked at once."""
    c = container()
    serials = persons.revoke_person(persons.RevokePerson(phone, reason), caller=cli_caller(),
                                    uow=c.uow, factory=c.x509, clock=c.clock)
    typer.echo(f"revoked; certificates revoked: {', '.join(serials) or 'none'}")
