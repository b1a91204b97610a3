"""`yunzhang roles`, `grants` and `scopes` run for real on the demo data: the CLI acts as a person
(`--as PHONE`) and is judged by the same decision function, with its reasons and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli import Cli, make_cli
from yunzhang.services.demo import DEMO_USCC

LEGAL_REP, ADMIN, AGENT = "13800000001", "13800000002", "13800000003"


@pytest.fixture
def demo_cli(blank_database_url: str, tmp_path: Path) -> Cli:
    cli = make_cli(tmp_path, blank_database_url)
    seeded = cli("demo", "--no-serve")
    assert seeded.returncode == 0, seeded.stderr
    return cli


def test_roles_and_grants_as_the_demo_people(demo_cli: Cli) -> None:
    members = demo_cli("roles", "members", DEMO_USCC, "--as", ADMIN)
    assert members.returncode == 0, members.stderr
    lines = members.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["legal_rep", "admin", "agent"]
    assert "(registry)" in lines[0]

    allowed = demo_cli("grants", "check", DEMO_USCC, "--scope", "ecommerce.bidding.full_process",
                       "--as", AGENT)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("allowed: grant 1 for ")

    refused = demo_cli("grants", "check", DEMO_USCC, "--scope", "registration.establish",
                       "--as", AGENT)
    assert refused.returncode == 5
    assert refused.stdout.strip() == (
        "refused: no grant of yours covers registration.establish in 上海云章示范科技有限公司")

    # An agent cannot re-delegate: the refusal is the decision's reason, and it is audited.
    redelegate = demo_cli("grants", "create", DEMO_USCC, "--to", LEGAL_REP, "--all-business",
                          "--as", AGENT)
    assert redelegate.returncode == 5
    assert redelegate.stderr.strip() == (
        "error: agents cannot authorize others (no re-delegation) [permission.denied]")
    listed = demo_cli("audit", "list", "--limit", "1")
    assert "grant:create" in listed.stdout and "denied" in listed.stdout

    # The legal representative authorizes the agent for registration from a future time.
    granted = demo_cli("grants", "create", DEMO_USCC, "--to", AGENT, "--scope", "registration.*",
                       "--start", "2030-01-02T09:00", "--as", LEGAL_REP)
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.startswith("grant 2: registration from 2030-01-02 09:00 (UTC+8) to "
                                     "2030-01-05 09:00 (UTC+8)")
    not_yet = demo_cli("grants", "check", DEMO_USCC, "--scope", "registration.establish",
                       "--as", AGENT)
    assert not_yet.returncode == 5
    assert not_yet.stdout.strip() == (
        "refused: grant 2 for registration starts 2030-01-02 09:00 (UTC+8)")
    assert demo_cli("audit", "verify").returncode == 0


@pytest.fixture(scope="module")
def sqlite_demo_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One demo database (SQLite) for the refusals below, none of which changes anything."""
    where = tmp_path_factory.mktemp("cli-roles")
    cli = make_cli(where, f"sqlite:///{(where / 'demo.db').as_posix()}")
    assert cli("demo", "--no-serve").returncode == 0
    return cli


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("grants", "check", DEMO_USCC, "--scope", "nope.nothing", "--as", AGENT), 2,
         "[scope.unknown]"),
        (("grants", "create", DEMO_USCC, "--to", AGENT, "--scope", "tax", "--start", "tomorrow",
          "--as", LEGAL_REP), 2, "[cli.time]"),
        (("grants", "create", DEMO_USCC, "--to", AGENT, "--scope", "tax",
          "--start", "2030-01-05T09:00", "--end", "2030-01-02T09:00", "--as", LEGAL_REP), 2,
         "[window.empty]"),
        (("roles", "members", DEMO_USCC, "--as", "13900000000"), 3, "[person.not_found]"),
        (("roles", "apply", DEMO_USCC, "--role", "legal_rep", "--reason", "x", "--as", AGENT), 2,
         "[application.role]"),
        (("roles", "revoke", DEMO_USCC, LEGAL_REP, "--reason", "x", "--as", ADMIN), 5,
         "[permission.denied]"),
    ],
)
def test_bad_input_gets_one_line_and_an_exit_code(sqlite_demo_cli: Cli, args: tuple[str, ...],
                                                  code: int, message: str) -> None:
    result = sqlite_demo_cli(*args)
    assert result.returncode == code, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and line.endswith(message)


def test_scopes_lists_the_tree(tmp_path: Path) -> None:
    cli = make_cli(tmp_path, f"sqlite:///{(tmp_path / 'unused.db').as_posix()}")
    result = cli("scopes")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert "ecommerce.bidding.full_process" in names and "registration.establish" in names
    assert names.index("ecommerce") < names.index("ecommerce.bidding")
