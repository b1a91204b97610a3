"""Entry point of the `yunzhang` command: subcommands, and errors as one-line messages."""

from __future__ import annotations

import logging
import os
import sys

import typer

from yunzhang import __version__
from yunzhang.cli import (
    audit,
    business_systems,
    db,
    enterprises,
    grants,
    keys,
    messages,
    pki,
    requests,
    roles,
    seals,
    staff,
    stamp,
    verify,
    wallet,
)
from yunzhang.cli.common import cli_caller, settings
from yunzhang.errors import YunzhangError

app = typer.Typer(
    help="yunzhang (云章): enterprise electronic identity and electronic seals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(enterprises.app, name="enterprises")
app.add_typer(audit.app, name="audit")
app.add_typer(messages.app, name="sms")
app.add_typer(roles.app, name="roles")
app.add_typer(grants.app, name="grants")
app.add_typer(pki.app, name="pki")
app.add_typer(pki.certs, name="certs")
app.add_typer(pki.persons_app, name="persons")
app.add_typer(seals.app, name="seals")
app.add_typer(staff.app, name="staff")
app.add_typer(keys.app, name="keys")
app.add_typer(business_systems.app, name="rp")
app.add_typer(wallet.app, name="wallet")
app.add_typer(requests.app, name="requests")
app.command("stamp")(stamp.stamp)
app.command("verify")(verify.verify)


@app.command()
def scopes() -> None:
    """The scope tree that precise grants name (built-in plus YUNZHANG_SCOPES_FILE)."""
    from yunzhang.adapters.scope_files import load_scope_tree

    tree = load_scope_tree(settings().scopes_file)
    for name in sorted(tree.titles):
        typer.echo(f"{'  ' * name.count('.')}{name:<40} {tree.titles[name]}")


@app.command()
def version() -> None:
    typer.echo(__version__)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
) -> None:
    """Run the HTTP server. Refuses a database that is behind the code."""
    import uvicorn

    from yunzhang.web.app import create_app

    s = settings()
    _configure_logging(s.log_level)
    app_ = create_app(s)
    uvicorn.run(app_, host=host, port=port, log_level=s.log_level.lower(), proxy_headers=False)


@app.command()
def demo(
    serve_: bool = typer.Option(True, "--serve/--no-serve", help="start the server afterwards"),
    port: int = typer.Option(8000, min=1, max=65535),
) -> None:
    """Migrate the database, seed the demo enterprise and people, and start the server
    (development mode only)."""
    from yunzhang.adapters.db import migrate
    from yunzhang.bootstrap import build_container
    from yunzhang.services.demo import seed_demo

    s = settings()
    if not s.development:
        raise YunzhangError("the demo runs in development mode only: set YUNZHANG_ENV=development",
                            code="demo.production")
    base = f"http://127.0.0.1:{port}"
    # The demo business systems under /demo/ call the platform at its public URL: this server,
    # on whichever port it was given, unless the operator named another.
    s = s.model_copy(update={"demo_sites": True, **(
        {} if "YUNZHANG_PUBLIC_URL" in os.environ else {"public_url": base})})
    _configure_logging(s.log_level)
    c = build_container(s)
    migrate.upgrade(c.engine)
    data = seed_demo(caller=cli_caller(), uow=c.uow, keyring=c.keyring, passwords=c.passwords,
                     clock=c.clock, settings=s, scopes=c.scopes, keys=c.keys, factory=c.x509,
                     artist=c.artist)
    contract = next((i for i, name, _ in data.seals if name.endswith("合同专用章")),
                    "<contract seal id>")
    lines = [
        "",
        "yunzhang demo " + ("seeded" if data.created else "already seeded") +
        f" in {s.effective_database_url}",
        f"  enterprise  {data.enterprise_name}  USCC {data.uscc}",
    ]
    for person in data.people:
        lines.append(f"  {person.name:<4} {person.phone}  {person.role}")
    for seal_id, seal_name, state in data.seals:
        lines.append(f"  seal {seal_id}  {seal_name}  ({state})")
    lines += [
        f"  password for all demo people: {data.password}",
        f"  business system {data.client_id}, client secret {data.client_secret} "
        f"(平台自动签 with the contract seal)",
        "",
        "Start here: the demo business systems (招投标 bidding, 社保申报 social insurance) log in by",
        "scan and ask for a stamp (README: \"Try the demo business systems\"):",
        f"  {base}/demo/",
        *(f"  business system {d.client_id}, client secret {d.client_secret}"
          for d in data.systems[1:]),
        "",
        "Open and try:",
        f"  {base}/docs                      the API (OpenAPI)",
        f"  {base}/healthz, {base}/readyz, {base}/metrics",
        f"  curl -c jar -X POST {base}/api/v1/sessions -H 'content-type: application/json' \\",
        f"       -d '{{\"phone\":\"13800000001\",\"password\":\"{data.password}\"}}'",
        f"  curl -b jar '{base}/api/v1/enterprises?q=云章'",
        f"  curl -b jar '{base}/api/v1/me/memberships'",
        "  YUNZHANG_ENV=development .venv/bin/yunzhang grants check "
        f"{data.uscc} --scope ecommerce.bidding.full_process --as 13800000003",
        f"  curl -H 'Authorization: Bearer {s.admin_token.get_secret_value()}' "
        f"{base}/api/v1/admin/audit/verify",
        f"  curl -b jar '{base}/api/v1/enterprises/{data.uscc}/seals'          我的印章 (red/grey)",
        f"  curl -s {base}/pki/ca/root.cer | openssl x509 -inform DER -noout -subject",
        f"  curl -u {data.client_id}:{data.client_secret} -H 'content-type: application/pdf' "
        f"--data-binary @examples/contract.pdf -o OUT.pdf \\",
        f"       '{base}/api/v1/stamps?seal_id={contract}&scope=ecommerce.bidding'"
        "          平台自动签",
        "  SMS codes sent by the development sender: `yunzhang sms list` (in another shell)",
        "",
    ]
    typer.echo("\n".join(lines))
    if serve_:
        import uvicorn

        from yunzhang.web.app import create_app

        uvicorn.run(create_app(s, container=c), host="127.0.0.1", port=port,
                    log_level=s.log_level.lower())


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run() -> None:
    """Console-script entry: a YunzhangError becomes `error: ... [code]` and its exit code; any
    other exception a one-line message (the trace only with YUNZHANG_DEBUG=1)."""
    try:
        app()
    except YunzhangError as err:
        typer.echo(f"error: {err.detail} [{err.code}]", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the last line of defence for the user
        if os.environ.get("YUNZHANG_DEBUG") == "1":
            raise
        typer.echo(f"error: unexpected {type(err).__name__}; rerun with YUNZHANG_DEBUG=1 for "
                   "the details [internal]", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
