"""The `yunzhang` command line, run for real in a subprocess against a database of its own:
migrations, the registry import and its exit codes, one-line error messages, the refusal of
development secrets, and `audit verify` catching every kind of tampering done directly in SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, select, update

from tests.registry_samples import company_uscc, registry_row, to_csv
from yunzhang.adapters.crypto import Argon2PasswordHasher
from yunzhang.adapters.db import migrate, tables
from yunzhang.adapters.db.engine import make_engine
from yunzhang.bootstrap import build_container
from yunzhang.config import load_settings
from yunzhang.domain.audit import event_hash
from yunzhang.services import audit
from yunzhang.services.context import Caller
from yunzhang.services.enterprises import ImportRegistry, import_registry


@dataclass
class Cli:
    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "yunzhang.cli.main", *args], env=self.env,
                                cwd=self.cwd, capture_output=True, text=True, timeout=120)
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result


def make_cli(tmp_path: Path, database_url: str, **extra: str) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUNZHANG_")}
    env.update(YUNZHANG_ENV="development", YUNZHANG_DATABASE_URL=database_url,
               YUNZHANG_DATA_DIR=str(tmp_path / "var"), **extra)
    return Cli(env, tmp_path)


@pytest.fixture
def cli(blank_database_url: str, tmp_path: Path) -> Cli:
    return make_cli(tmp_path, blank_database_url)


@pytest.fixture(scope="module")
def migrated_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{(tmp_path_factory.mktemp('cli') / 'yunzhang.db').as_posix()}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def sqlite_cli(tmp_path: Path, migrated_sqlite_url: str) -> Cli:
    """For commands refused before they write anything (one backend is enough)."""
    return make_cli(tmp_path, migrated_sqlite_url)


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(to_csv(rows), encoding="utf-8")
    return path


def stored_usccs(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(select(tables.enterprises.c.uscc)))
    finally:
        engine.dispose()


def test_migrate_import_and_verify(cli: Cli, blank_database_url: str, tmp_path: Path) -> None:
    good_rows = [registry_row(1, kind=""),
                 registry_row(2, uscc=company_uscc(2, category="92"), kind=""),
                 registry_row(3, uscc=company_uscc(3, category="93"), kind="farmers_cooperative")]
    good = write(tmp_path / "good.csv", good_rows)

    empty = cli("db", "current")
    assert empty.returncode == 8
    assert "yunzhang db upgrade" in empty.stderr
    too_early = cli("enterprises", "import", str(good))
    assert too_early.returncode == 8
    assert "yunzhang db upgrade" in too_early.stderr and "[db.not_migrated]" in too_early.stderr
    assert cli("db", "upgrade").returncode == 0
    current = cli("db", "current")
    assert (current.returncode, current.stdout.splitlines()[-1]) == (0, "up to date")

    first = cli("enterprises", "import", str(good))
    assert first.returncode == 0, first.stderr
    assert "3 rows: 3 created, 0 updated, 0 unchanged, 0 rejected" in first.stdout
    second = cli("enterprises", "import", str(good))
    assert second.returncode == 0, second.stderr
    assert "3 rows: 0 created, 0 updated, 3 unchanged, 0 rejected" in second.stdout

    bad_uscc = company_uscc(5)[:17] + ("0" if company_uscc(5)[17] != "0" else "1")
    mixed = write(tmp_path / "mixed.csv",
                  [registry_row(4), registry_row(5, uscc=bad_uscc), registry_row(6)])
    partial = cli("enterprises", "import", str(mixed))
    assert partial.returncode == 11
    assert "3 rows: 2 created, 0 updated, 0 unchanged, 1 rejected" in partial.stdout
    assert f"row 2 ({bad_uscc})" in partial.stderr
    assert "[uscc.check_digit]" in partial.stderr
    assert stored_usccs(blank_database_url) == {r["uscc"] for r in good_rows} | {
        company_uscc(4), company_uscc(6)}

    # 3 creates + import, import, 2 creates + import.
    verified = cli("audit", "verify")
    assert (verified.returncode, verified.stdout.strip()) == (0, "audit chain intact: 8 events, head 8")


def _bad_json(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    path.write_text('[{"uscc": "91310115MA1K00001X",', encoding="utf-8")
    return path


def _txt(tmp_path: Path) -> Path:
    return write(tmp_path / "registry.txt", [registry_row(1)])


@pytest.mark.parametrize(("make_file", "code"), [
    (lambda tmp: tmp / "missing.csv", "import.unreadable"),
    (_txt, "import.format"),
    (_bad_json, "import.json"),
])
def test_unusable_file_gives_a_one_line_error(sqlite_cli: Cli, tmp_path: Path,
                                              make_file: Callable[[Path], Path], code: str) -> None:
    result = sqlite_cli("enterprises", "import", str(make_file(tmp_path)))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert result.stderr.endswith(f" [{code}]\n")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("settings", "named"), [
    ({}, "YUNZHANG_SECRET_KEY"),
    ({"YUNZHANG_ENV": "production", "YUNZHANG_SECRET_KEY": "k" * 40}, "YUNZHANG_PII_KEY"),
])
def test_development_secrets_are_refused_outside_development(
    sqlite_cli: Cli, settings: dict[str, str], named: str
) -> None:
    env = {k: v for k, v in sqlite_cli.env.items() if k != "YUNZHANG_ENV"}
    result = Cli({**env, **settings}, sqlite_cli.cwd)("audit", "verify")
    assert result.returncode == 7
    assert named in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


# --- audit verify against tampering -------------------------------------------------------------

EVENTS = tables.audit_events
FAST_HASHER = Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def audited_engine(blank_database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database holding six chained events, written by two real imports:
    1-3 enterprise:create, 4 enterprise:import, 5 enterprise:update, 6 enterprise:import."""
    settings = load_settings(env="development", database_url=blank_database_url,
                             data_dir=tmp_path / "var")
    c = build_container(settings, passwords=FAST_HASHER)
    migrate.upgrade(c.engine)
    caller = Caller(actor="cli:test")
    rows = [registry_row(n) for n in (1, 2, 3)]
    for batch in (rows, [rows[0], {**rows[1], "name": "更名后有限公司"}, rows[2]]):
        import_registry(ImportRegistry(batch, "registry.csv"), caller=caller, uow=c.uow,
                        keyring=c.keyring, clock=c.clock)
    report = audit.verify_audit_chain(uow=c.uow)
    assert (report.intact, report.events, report.head_seq) == (True, 6, 6)
    try:
        yield c.engine
    finally:
        c.engine.dispose()


def _row(conn: Connection, seq: int) -> dict[str, object]:
    return dict(conn.execute(select(EVENTS).where(EVENTS.c.seq == seq)).mappings().one())


def _set(conn: Connection, seq: int, **values: object) -> None:
    conn.execute(update(EVENTS).where(EVENTS.c.seq == seq).values(**values))


def change_details(conn: Connection) -> None:
    _set(conn, 3, details={"source": "forged.csv", "name": "别的企业"})


def change_actor(conn: Connection) -> None:
    _set(conn, 3, actor="person:mallory")


def delete_middle(conn: Connection) -> None:
    conn.execute(delete(EVENTS).where(EVENTS.c.seq == 3))


def delete_last(conn: Connection) -> None:
    conn.execute(delete(EVENTS).where(EVENTS.c.seq == 6))


def swap_two(conn: Connection) -> None:
    second, fourth = _row(conn, 2), _row(conn, 4)
    _set(conn, 2, **{k: v for k, v in fourth.items() if k != "seq"})
    _set(conn, 4, **{k: v for k, v in second.items() if k != "seq"})


def edit_and_rehash(conn: Connection) -> None:
    row = _row(conn, 3)
    fields = {k: row[k] for k in ("at", "actor", "action", "subject", "outcome", "request_id",
                                  "prev_hash")}
    details = {**row["details"], "name": "别的企业"}  # type: ignore[dict-item]
    _set(conn, 3, details=details, hash=event_hash(details=details, **fields))  # type: ignore[arg-type]


TAMPERING = [
    (change_details, ["event 3: changed: event 3 was changed after it was written"]),
    (change_actor, ["event 3: changed: event 3 was changed after it was written"]),
    (delete_middle, ["event 3: removed: event 3 is missing"]),
    (delete_last, ["event 6: removed: the chain ends at event 5 but its head records event 6"]),
    (swap_two, ["event 2: reordered: event 2 was written after event 3",
                "event 4: reordered: event 4 was written after event 1"]),
    (edit_and_rehash, ["event 3: changed: event 3 was replaced or removed: event 4 does not "
                       "follow it"]),
]


@pytest.mark.parametrize(("tamper", "expected"),
                         [pytest.param(t, e, id=t.__name__) for t, e in TAMPERING])
def test_audit_verify_catches_tampering(
    audited_engine: Engine, blank_database_url: str, tmp_path: Path,
    tamper: Callable[[Connection], None], expected: list[str]
) -> None:
    with audited_engine.begin() as conn:
        tamper(conn)
    result = make_cli(tmp_path, blank_database_url)("audit", "verify")
    assert result.returncode == 12
    assert result.stderr.startswith("audit chain BROKEN: ")
    for line in expected:
        assert line in result.stderr
