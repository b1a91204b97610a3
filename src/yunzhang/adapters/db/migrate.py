"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from yunzhang.errors import DatabaseNotReady

MIGRATIONS = Path(__file__).parent / "migrations"


def _cause(err: SQLAlchemyError) -> str:
    """The driver's error class, without the message (which may quote a URL with a password)."""
    return type(getattr(err, "orig", None) or err).__name__


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


@functools.cache  # the migrations ship with the code: read them once per process
def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(bind: Engine | Connection) -> str | None:
    try:
        if isinstance(bind, Connection):
            return MigrationContext.configure(bind).get_current_revision()
        with bind.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as err:
        raise DatabaseNotReady(
            f"cannot reach the database: {_cause(err)}",
            code="db.unreachable",
        ) from err


def upgrade(engine: Engine, revision: str = "head") -> None:
    try:
        command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as err:
        raise DatabaseNotReady(
            f"migration failed: {_cause(err)}", code="db.migration_failed"
        ) from err


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def require_current(bind: Engine | Connection) -> None:
    """Refuse to serve a database that is behind (or ahead of) this code."""
    current = current_revision(bind)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise DatabaseNotReady(
            "the database has no yunzhang schema yet: run `yunzhang db upgrade`",
            code="db.not_migrated",
        )
    script = ScriptDirectory(str(MIGRATIONS))
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise DatabaseNotReady(
            f"the database is at revision {current}, which this version of yunzhang does not "
            "know (newer code migrated it?); upgrade yunzhang",
            code="db.ahead",
        )
    raise DatabaseNotReady(
        f"the database is at revision {current} but the code needs {head}: run `yunzhang db upgrade`",
        code="db.behind",
    )
