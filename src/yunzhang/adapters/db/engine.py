"""Engines for the two supported databases: embedded SQLite (default) and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from yunzhang.errors import ConfigurationError


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        raise ConfigurationError(
            "YUNZHANG_DATABASE_URL is not a database URL (e.g. sqlite:///var/yunzhang.db or "
            "postgresql://user@host/db)",
            code="config.database_url",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed.render_as_string(hide_password=False), **kwargs)
    if backend == "postgresql":
        return _postgres_engine(parsed, **kwargs)
    raise ConfigurationError(
        f"database backend {backend!r} is not supported; use sqlite or postgresql",
        code="config.database_url",
    )


IDLE_PING_SECONDS = 10.0


def _postgres_engine(url: URL, **kwargs: Any) -> Engine:
    """A pooled PostgreSQL engine that pings a connection only when it sat idle in the pool.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip at every checkout, a third of the
    statements of a short request; a connection that was used a moment ago is alive, and one
    that died since (a server restart) is replaced at its next idle checkout, or fails one
    transaction that the caller sees as ``db.unavailable``."""
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as err:  # noqa: BLE001 - any failure means the connection is gone
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError("idle connection is gone") from err

    return engine


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    in_memory = ":memory:" in url or url.rstrip("/").endswith("sqlite:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (so SAVEPOINT
        # works), and turn on what SQLite leaves off by default.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # SQLite has one writer. Taking the write lock at BEGIN makes concurrent writers wait
        # (busy_timeout) instead of failing at their first write with "database is locked".
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
