"""`yunzhang db`: migrate the database and show its revision."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from yunzhang.adapters.db import migrate
from yunzhang.adapters.db.engine import make_engine
from yunzhang.cli.common import settings

app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)


def _engine() -> Engine:
    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(s.effective_database_url)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the database to the code's revision (or the one given)."""
    engine = _engine()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    typer.echo(f"database at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@app.command()
def current() -> None:
    """Show the database's revision and whether it matches the code; exit 8 when behind."""
    engine = _engine()
    rev = migrate.current_revision(engine)
    head = migrate.head_revision()
    typer.echo(f"database: {rev or 'empty'}\ncode:     {head}")
    migrate.require_current(engine)
    typer.echo("up to date")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision, e.g. base")) -> None:
    """Step the schema back (for rolling back a release; data in dropped tables is lost)."""
    engine = _engine()
    migrate.downgrade(engine, revision)
    typer.echo(f"database at {migrate.current_revision(engine) or 'empty'}")
