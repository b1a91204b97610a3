"""Test fixtures: every database test runs on SQLite and on PostgreSQL, one SAVEPOINT per test.

PostgreSQL must be reachable (YUNZHANG_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); `make test` starts or installs it. A missing server fails the run, never skips it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import sessionmaker

from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.crypto import Argon2PasswordHasher
from yunzhang.adapters.db import migrate
from yunzhang.adapters.db.engine import make_engine, normalize_url
from yunzhang.adapters.db.tables import map_domain
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import Settings, load_settings
from yunzhang.web.app import create_app

PG_ADMIN_URL = os.environ.get("YUNZHANG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _pg_admin_engine() -> Engine:
    engine = create_engine(normalize_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as err:  # noqa: BLE001
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(err).__name__}); run the "
            "suite with `make test`, which starts or installs it", pytrace=False)
    return engine


@contextlib.contextmanager
def _pg_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database, dropped (even with open connections) when the block ends."""
    admin = _pg_admin_engine()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = normalize_url(PG_ADMIN_URL).rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly created, migrated database of the requested backend, dropped at the end."""
    backend: str = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "yunzhang.db"
        url = f"sqlite:///{path.as_posix()}"
        yield url
        return
    with _pg_database("yunzhang_test") as url:
        yield url


@pytest.fixture
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own for one test (for code that commits for real: CLI runs in a
    subprocess, concurrency). Not migrated; dropped afterwards."""
    backend: str = request.param
    if backend == "sqlite":
        yield f"sqlite:///{(tmp_path / 'blank.db').as_posix()}"
        return
    with _pg_database("yunzhang_blank") as url:
        yield url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    only = [m.args[0] for m in metafunc.definition.iter_markers("backend")]
    backends = [b for b in BACKENDS if not only or b in only]
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", backends, indirect=True, scope="session")
    if "blank_database_url" in metafunc.fixturenames:
        metafunc.parametrize("blank_database_url", backends, indirect=True)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    map_domain()
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[object]:
    """One outer transaction per test, rolled back at the end; the code under test commits to
    SAVEPOINTs inside it."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env="development", data_dir=tmp_path / "var")


# argon2id with a small memory cost keeps the suite fast; production parameters are tested in
# tests/unit/test_crypto.py.
FAST_HASHER = Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def container(settings: Settings, engine: Engine, connection: object, clock: FixedClock) -> Container:
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",  # type: ignore[call-overload]
                           expire_on_commit=False)
    return build_container(settings, engine=engine, session_factory=factory, clock=clock,
                           passwords=FAST_HASHER, limiter=MemoryRateLimiter())


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    app = create_app(container.settings, container=container, deliver_outbox=False)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
