"""`yunzhang wallet`: the reference wallet on the command line (the phone app's stand-in): make a
wallet, enrol it for an account, scan a QR code's URL and answer."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import typer

from yunzhang.wallet import WalletClient, WalletError, WalletStore

app = typer.Typer(help="The reference wallet (云章钱包): device key, enrolment, scan and answer.",
                  no_args_is_help=True)

DIR = typer.Option(Path("var/wallet"), "--dir", help="where the wallet keeps its state")
LICENSE_ENV, PASSWORD_ENV = "YUNZHANG_LICENSE_PASSWORD", "YUNZHANG_PASSWORD"


def _secret(env: str, prompt: str) -> str:
    return os.environ.get(env) or typer.prompt(prompt, hide_input=True)


def _client(store: WalletStore) -> WalletClient:
    return WalletClient(store, httpx.Client(base_url=store.server(), timeout=30))


@app.command()
def init(server: str = typer.Option("http://127.0.0.1:8000", help="the platform's URL"),
         directory: Path = DIR) -> None:
    """A new wallet: a device key (EC P-256) encrypted under the license password."""
    WalletStore(directory).create(server, _secret(LICENSE_ENV, "new license password"))
    typer.echo(f"wallet created in {directory} for {server}")


@app.command()
def enroll(phone: str = typer.Option(..., help="the account's phone number"),
           name: str = typer.Option("yunzhang wallet", help="the device's name"),
           directory: Path = DIR) -> None:
    """Enrol this wallet's device key for the account (proof of possession signed)."""
    store = WalletStore(directory)
    device = _client(store).enroll(phone=phone, password=_secret(PASSWORD_ENV, "account password"),
                                   license_password=_secret(LICENSE_ENV, "license password"),
                                   name=name)
    certified = store.certificate() is not None
    typer.echo(f"device {device} enrolled" + ("; person certificate kept" if certified else
               "; verify identity and liveness, then `yunzhang wallet certify`"))


@app.command()
def scan(url: str, yes: bool = typer.Option(False, "--yes", help="confirm without asking"),
         deny: bool = typer.Option(False, "--deny", help="deny without asking"),
         license: str | None = typer.Option(
             None, "--license", metavar="USCC",
             help="log in with this enterprise's e-license (default: the only one held)"),
         directory: Path = DIR) -> None:
    """Read the QR code's URL, show everything asked, then confirm or deny."""
    if yes and deny:
        raise WalletError("--yes or --deny, not both", code="wallet.usage")
    store = WalletStore(directory)
    client = _client(store)
    request = client.read(url)
    for line in request.lines():
        typer.echo(line)
    if request.view["action"] == "login":
        held = client.held_licenses()
        if license is None and len(held) == 1:
            license = held[0].uscc
        elif license is None and held:
            raise WalletError("this wallet holds licenses of " + ", ".join(h.uscc for h in held)
                              + "; choose one with --license USCC", code="wallet.usage")
        if license is not None:
            chosen = client.license_for(license)
            typer.echo(f"log in as:       {chosen.claims['enterprise']['name']} "
                       f"({chosen.uscc}), {chosen.claims['role']}")
        else:
            typer.echo("log in as:       yourself (no e-license in this wallet)")
    elif license is not None:
        raise WalletError("--license is for login sessions", code="wallet.usage")
    license_password = _secret(LICENSE_ENV, "license password")
    to_sign = client.scan(request, license_password=license_password)
    if to_sign:
        typer.echo(f"signing:         {len(to_sign)} document(s) with your personal key")
    agree = yes or (not deny and typer.confirm("confirm?", default=False))
    if agree:
        state = client.confirm(request, license_password=license_password, to_sign=to_sign,
                               license=license)
    else:
        state = client.answer(request, "deny", license_password=license_password)
    typer.echo(state)


@app.command("list")
def list_(phone: str = typer.Option(..., help="the account's phone number"),
          directory: Path = DIR) -> None:
    """Roles (执照), your grants and the enterprises' seals, red (usable now) or grey."""
    store = WalletStore(directory)
    for holding in _client(store).holdings(phone=phone,
                                           password=_secret(PASSWORD_ENV, "account password")):
        typer.echo(holding.line())


@app.command("license")
def license_(uscc: str = typer.Argument(..., help="the enterprise's USCC (统一社会信用代码)"),
             phone: str = typer.Option(..., help="the account's phone number"),
             directory: Path = DIR) -> None:
    """Download the enterprise's e-license (电子营业执照) into this wallet, bound to its key."""
    store = WalletStore(directory)
    held = _client(store).download_license(uscc, phone=phone,
                                           password=_secret(PASSWORD_ENV, "account password"))
    start, end = held.window()
    typer.echo(f"license {held.id}: {held.claims['enterprise']['name']} ({held.uscc}) as "
               f"{held.claims['role']}, valid {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC"
               + (f" ({held.problem(datetime.now(UTC))})" if held.problem(datetime.now(UTC))
                  else ""))


@app.command()
def register(phone: str = typer.Option(..., help="the phone number to register"),
             code: str | None = typer.Option(None, help="the SMS code; without it, one is sent"),
             directory: Path = DIR) -> None:
    """Register an account (注册): first without --code to have one sent, then with it."""
    client = _client(WalletStore(directory))
    if code is None:
        client.request_code(phone)
        typer.echo(f"an SMS code was sent to {phone}; run again with --code")
        return
    person = client.register(phone=phone, password=_secret(PASSWORD_ENV, "account password"),
                             sms_code=code)
    typer.echo(f"account {person} registered for {phone}")


@app.command()
def verify(phone: str = typer.Option(..., help="the account's phone number"),
           name: str = typer.Option(..., help="your name as on the resident ID card"),
           id_number: str = typer.Option(..., "--id-number", help="resident ID number"),
           face: Path = typer.Option(..., help="a photo of your face (JPEG or PNG)"),
           directory: Path = DIR) -> None:
    """实名认证 and 实人认证: name and ID number, then a live face."""
    try:
        picture = face.read_bytes()
    except OSError as exc:
        raise WalletError(f"cannot read {face}: {exc.strerror}", code="wallet.file") from None
    level = _client(WalletStore(directory)).verify_person(
        phone=phone, password=_secret(PASSWORD_ENV, "account password"), name=name,
        id_number=id_number, face_image=picture)
    typer.echo(f"verified: {level}")


@app.command()
def certify(phone: str = typer.Option(..., help="the account's phone number"),
            directory: Path = DIR) -> None:
    """Have the person-signing key certified (个人证书; needs 实名认证 and 实人认证)."""
    store = WalletStore(directory)
    serial = _client(store).certify(phone=phone, password=_secret(PASSWORD_ENV, "account password"),
                                    license_password=_secret(LICENSE_ENV, "license password"))
    typer.echo(f"person certificate {serial} kept in the wallet")


@app.command()
def handwriting(picture: Path = typer.Argument(..., help="PNG or JPEG of the signature"),
                phone: str = typer.Option(..., help="the account's phone number"),
                directory: Path = DIR) -> None:
    """Upload your handwritten signature (手写签名), bound to this wallet's certificate."""
    try:
        data = picture.read_bytes()
    except OSError as exc:
        raise WalletError(f"cannot read {picture}: {exc.strerror}", code="wallet.file") from None
    store = WalletStore(directory)
    done = _client(store).set_handwriting(
        data, phone=phone, password=_secret(PASSWORD_ENV, "account password"),
        license_password=_secret(LICENSE_ENV, "license password"))
    typer.echo(f"handwritten signature bound to certificate {done['certificate_serial']}")


@app.command()
def passwd(directory: Path = DIR) -> None:
    """Change the license password (the device key is encrypted again)."""
    WalletStore(directory).change_password(_secret(LICENSE_ENV, "license password"),
                                           typer.prompt("new license password", hide_input=True))
    typer.echo("license password changed")
