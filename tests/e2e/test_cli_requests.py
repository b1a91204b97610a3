"""`yunzhang requests` on the demo data, as the demo bidding system: create a request with a seal
step and a signature step, get a step's QR URL, follow and fetch; refusals are one line with
their exit codes and leave nothing behind."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.test_cli import Cli
from tests.e2e.test_cli_seals import AGENT, LEGAL_REP, demo_cli  # noqa: F401
from yunzhang.cli.requests import safe_name
from yunzhang.services.demo import DEMO_USCC

SECRET = "demo-bidding-client-secret-yunzhang-2026"
ROOT = Path(__file__).resolve().parents[2]


def as_bidding(cli: Cli, secret: str = SECRET) -> Cli:
    return Cli({**cli.env, "YUNZHANG_CLIENT_SECRET": secret}, cli.cwd)


def error_code(done: object) -> str:
    return str(done.stderr).strip().rsplit(" ", 1)[-1]  # type: ignore[attr-defined]


def test_a_request_is_created_shown_and_fetched(demo_cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli = as_bidding(demo_cli)
    shutil.copy(ROOT / "examples" / "contract.pdf", tmp_path / "contract.pdf")
    made = cli("requests", "create", "contract.pdf", "--client", "demo.bidding",
               "--title", "采购合同", "--scope", "ecommerce.bidding",
               "--step", f"seal={DEMO_USCC}:contract;keyword=盖章处",
               "--step", f"signer={AGENT};page=1;x=120;y=250")
    assert made.returncode == 0, made.stderr
    first = made.stdout.splitlines()[0].split()
    assert first[0] == "request" and first[2:4] == ["open", "0/2"]
    request_id = first[1]
    assert "step 1  stamp  open" in made.stdout and "step 2  sign   open" in made.stdout
    url = cli("requests", "qr", request_id, "--client", "demo.bidding")
    assert url.returncode == 0, url.stderr
    assert "/s/" in url.stdout.splitlines()[0] and "step 1 of 2" in url.stdout
    wrong_turn = cli("requests", "qr", request_id, "--step", "2", "--client", "demo.bidding")
    assert (wrong_turn.returncode, error_code(wrong_turn)) == (4, "[signing_request.not_your_turn]")
    fetched = cli("requests", "fetch", request_id, "--out", "out", "--client", "demo.bidding")
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "out" / "01-contract.pdf").read_bytes() == \
        (tmp_path / "contract.pdf").read_bytes()  # nothing signed yet
    shown = cli("requests", "show", request_id, "--client", "demo.bidding")
    assert shown.returncode == 0 and "open  0/2" in shown.stdout
    audit = cli("audit", "list", "--limit", "5").stdout
    assert "signing_request:create" in audit and "system:demo.bidding" in audit


def test_refusals_are_one_line_and_create_nothing(demo_cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli = as_bidding(demo_cli)
    (tmp_path / "note.txt").write_text("not a pdf")
    shutil.copy(ROOT / "examples" / "contract.pdf", tmp_path / "contract.pdf")
    base = ["requests", "create", "--client", "demo.bidding", "--title", "t"]
    cases = [
        (cli, [*base, "note.txt", "--step", f"seal={DEMO_USCC}:contract"], 2,
         "signing_request.not_pdf"),
        (cli, [*base, "missing.pdf", "--step", f"seal={DEMO_USCC}:contract"], 2, "cli.file"),
        (cli, [*base, "contract.pdf", "--step", "stamp=x"], 2, "cli.step"),
        (cli, [*base, "contract.pdf", "--step", f"seal={DEMO_USCC}:contract;page=two"], 2,
         "cli.step"),
        (cli, [*base, "contract.pdf", "--step", f"seal={DEMO_USCC}:contract;colour=red"], 2,
         "cli.step"),
        (cli, [*base, "contract.pdf", "--step", "signer=13912345678"], 2,
         "signing_request.signer"),
        (cli, [*base, "contract.pdf", "--step", f"seal={DEMO_USCC}:finance"], 3,
         "seal.not_found"),
        (as_bidding(demo_cli, "wrong"), [*base, "contract.pdf", "--step", f"signer={LEGAL_REP}"],
         5, "client.auth"),
        (cli, ["requests", "show", "00000000-0000-4000-8000-000000000000", "--client",
               "demo.bidding"], 3, "signing_request.not_found"),
    ]
    for runner, argv, exit_code, code in cases:
        done = runner(*argv)
        assert (done.returncode, error_code(done)) == (exit_code, f"[{code}]"), (argv, done.stderr)
    audit = [line for line in cli("audit", "list", "--limit", "50").stdout.splitlines()
             if "signing_request:create" in line]
    # not a PDF, unknown signer, unknown seal: refused by the service and audited (the rest
    # never reached it)
    assert len(audit) == 3 and all("denied" in line for line in audit), audit


def test_fetched_names_cannot_leave_the_directory() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..") == "document.pdf"
    assert safe_name("a\\b\\..\\合同 (1).pdf") == "合同__1_.pdf"
    assert safe_name(".hidden.pdf") == "hidden.pdf"
