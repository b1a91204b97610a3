"""Migrations produce exactly the schema of ``tables.py`` on both backends and undo cleanly; an
un-migrated database stops the app and the CLI with one clear message; an unexpected exception in a
route becomes an opaque 500 problem."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import DateTime, Engine, MetaData, inspect, text

from tests.live import free_port
from yunzhang.adapters.db import migrate
from yunzhang.adapters.db.engine import make_engine
from yunzhang.adapters.db.tables import metadata
from yunzhang.adapters.db.types import EnumText
from yunzhang.bootstrap import Container
from yunzhang.config import Settings, load_settings
from yunzhang.domain.notifications import OutboxStatus
from yunzhang.errors import DatabaseNotReady
from yunzhang.web.app import create_app


@pytest.fixture
def blank_engine(blank_database_url: str) -> Iterator[Engine]:
    engine = make_engine(blank_database_url)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine, target: MetaData = metadata) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ``target``, one
    operation per item (it groups the changes of one column in a list)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, target)
    return [op for diff in diffs for op in (diff if isinstance(diff, list) else [diff])]


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def copy_of_tables() -> MetaData:
    copy = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(copy)
    return copy


def test_upgrade_on_an_empty_database_gives_exactly_the_declared_schema(blank_engine: Engine) -> None:
    before = schema_differences(blank_engine)
    assert {diff[1].name for diff in before if diff[0] == "add_table"} == set(metadata.tables)
    migrate.upgrade(blank_engine)
    assert migrate.current_revision(blank_engine) == migrate.head_revision()
    assert schema_differences(blank_engine) == []


def test_comparison_sees_into_the_custom_column_types(blank_engine: Engine) -> None:
    # Guards the test above: an empty diff must mean "equal", not "cannot compare EnumText".
    migrate.upgrade(blank_engine)
    target = copy_of_tables()
    target.tables["outbox_messages"].c.status.type = EnumText(OutboxStatus, 8)
    [diff] = schema_differences(blank_engine, target)
    assert diff[0] == "modify_type" and diff[2:4] == ("outbox_messages", "status")


@pytest.mark.backend("postgresql")
def test_timestamps_are_stored_with_their_zone_on_postgresql(blank_engine: Engine) -> None:
    migrate.upgrade(blank_engine)
    target = copy_of_tables()
    target.tables["outbox_messages"].c.next_attempt_at.type = DateTime(timezone=False)
    [diff] = schema_differences(blank_engine, target)
    assert diff[0] == "modify_type" and diff[2:4] == ("outbox_messages", "next_attempt_at")


def test_downgrade_to_base_removes_every_table_and_upgrade_works_again(blank_engine: Engine) -> None:
    migrate.upgrade(blank_engine)
    migrate.downgrade(blank_engine, "base")
    assert table_names(blank_engine) <= {"alembic_version"}
    assert migrate.current_revision(blank_engine) is None
    migrate.upgrade(blank_engine)
    assert schema_differences(blank_engine) == []
    with blank_engine.connect() as conn:
        assert conn.execute(text("select seq from audit_head where id = 1")).scalar_one() == 0


def app_settings(blank_database_url: str, tmp_path: Path) -> Settings:
    return load_settings(env="development", database_url=blank_database_url, data_dir=tmp_path)


def test_app_refuses_an_unmigrated_database(blank_database_url: str, tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotReady) as caught:
        create_app(app_settings(blank_database_url, tmp_path))
    assert caught.value.code == "db.not_migrated"
    assert "yunzhang db upgrade" in caught.value.detail


def test_app_starts_once_migrated(blank_engine: Engine, blank_database_url: str,
                                  tmp_path: Path) -> None:
    migrate.upgrade(blank_engine)
    app = create_app(app_settings(blank_database_url, tmp_path), deliver_outbox=False)
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
    app.state.container.engine.dispose()


def test_app_refuses_a_database_migrated_by_newer_code(blank_engine: Engine,
                                                       blank_database_url: str,
                                                       tmp_path: Path) -> None:
    migrate.upgrade(blank_engine)
    with blank_engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '9999_from_the_future'"))
    with pytest.raises(DatabaseNotReady) as caught:
        create_app(app_settings(blank_database_url, tmp_path))
    assert caught.value.code == "db.ahead"


def test_serve_on_an_unmigrated_database_exits_with_one_line(blank_database_url: str,
                                                             tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUNZHANG_")}
    env.update(YUNZHANG_ENV="development", YUNZHANG_DATABASE_URL=blank_database_url,
               YUNZHANG_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "yunzhang.cli.main", "serve", "--port", str(free_port())],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 8, output
    assert "Traceback" not in output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "`yunzhang db upgrade`" in error and error.endswith("[db.not_migrated]")
    assert "Uvicorn running" not in output


def test_unexpected_exception_in_a_route_is_an_opaque_500(container: Container,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(container.settings, container=container, deliver_outbox=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal state: password=hunter2")

    request_id = "req-boom-0001"
    with caplog.at_level(logging.ERROR, logger="yunzhang.web"), \
            TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": request_id})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["status"], body["request_id"]) == ("internal", 500, request_id)
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret internal", 'File "'):
        assert leak not in response.text
    # The trace is in the server log, under the request id the caller was given.
    [logged] = [r for r in caplog.records if r.exc_info and request_id in r.getMessage()]
    assert "hunter2" in str(logged.exc_info[1])  # type: ignore[index]
