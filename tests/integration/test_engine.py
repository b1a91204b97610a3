"""The PostgreSQL engine's idle ping: a connection the server dropped while it sat in the pool is
replaced before a request uses it; a connection just used is trusted without a round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from yunzhang.adapters.db import engine as engines
from yunzhang.adapters.db.engine import make_engine
from tests.conftest import _pg_admin_engine

pytestmark = pytest.mark.backend("postgresql")


def _kill(pid: int) -> None:
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced(blank_database_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(blank_database_url, pool_size=1, max_overflow=0)
    with engine.connect() as conn:
        first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    _kill(first)
    monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)  # the connection counts as idle
    with engine.connect() as conn:
        second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first
    engine.dispose()


def test_a_dead_connection_used_at_once_fails_one_transaction_then_recovers(
        blank_database_url: str) -> None:
    """Within the idle threshold the pool trusts the connection (no ping): the one transaction
    on a connection killed that instant fails as a disconnect, and the pool starts afresh."""
    engine = make_engine(blank_database_url, pool_size=1, max_overflow=0)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    _kill(pid)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    engine.dispose()
