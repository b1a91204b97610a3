"""`yunzhang keys`: the software key store's keys and the rotation of its key-encryption key."""

from __future__ import annotations

import typer

from yunzhang.adapters.keystore import SoftwareKeyStore
from yunzhang.bootstrap import Container
from yunzhang.cli.common import cli_caller, container
from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.errors import ConfigurationError
from yunzhang.domain.tokens import TokenPurpose
from yunzhang.services import token_keys
from yunzhang.services.audit import record_separately

app = typer.Typer(help="Key custody (docs/keys.md).", no_args_is_help=True)


IN_THE_HSM = ("the keys are in the HSM (YUNZHANG_KEYSTORE=pkcs11), generated there and not "
              "extractable; list them with the HSM's own tools (e.g. pkcs11-tool --list-objects)")


def _software() -> tuple[SoftwareKeyStore, Container]:
    c = container()
    if not isinstance(c.keys, SoftwareKeyStore):
        raise ConfigurationError("rotate-kek is for the software key store only: with "
                                 "YUNZHANG_KEYSTORE=pkcs11 the keys are in the HSM, which has no "
                                 "KEK of ours to rotate", code="config.keystore")
    return c.keys, c


@app.command("list")
def list_() -> None:
    """The software store's keys: id, algorithm, what for, KEK, made, destroyed."""
    c = container()
    if not isinstance(c.keys, SoftwareKeyStore):
        typer.echo(IN_THE_HSM)
        return
    for info in c.keys.list_keys():
        state = f"destroyed {info.destroyed_at}" if info.destroyed_at else "live"
        typer.echo(f"{info.key_id}  {info.algorithm.value:<8} kek {info.kek_id:<12} "
                   f"{info.label:<48} {info.created_at}  {state}")


@app.command("rotate-kek")
def rotate_kek() -> None:
    """Rewrap every data key under the first (current) KEK of YUNZHANG_KEK / YUNZHANG_KEK_FILE.
    Keys stay usable throughout; afterwards the old KEK can be dropped from the list."""
    keys, c = _software()
    count = keys.rotate_kek()
    caller = cli_caller()
    record_separately(AuditRecord(AuditTag.KEY_ROTATE_KEK, caller.actor, "keystore",
                                  details={"kek": keys.current_kek, "rewrapped": count}),
                      caller=caller, uow=c.uow)
    typer.echo(f"{count} key(s) rewrapped under KEK {keys.current_kek}")


@app.command("rotate-token-key")
def rotate_token_key(purpose: TokenPurpose = typer.Option(
        ..., help="license: e-licenses; oidc: the OpenID Connect provider's tokens")) -> None:
    """Make a new signing key for the purpose's tokens now; the old one stays in the JWKS while
    tokens it signed are valid (YUNZHANG_LICENSE_DAYS / YUNZHANG_OIDC_TOKEN_SECONDS)."""
    c = container()
    key = token_keys.rotate(purpose, caller=cli_caller(), uow=c.uow, keys=c.keys, jose=c.jose,
                            clock=c.clock, settings=c.settings)
    typer.echo(f"{purpose.value} tokens are signed with key {key.kid} from now on")
