"""Person services under concurrency: one SMS code makes one account, one ID number one identity.

These commit for real (a blank database of each backend per test), since the point is what two
transactions do to each other.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.crypto import Argon2PasswordHasher
from yunzhang.adapters.db import migrate, tables
from yunzhang.adapters.db.engine import make_engine
from yunzhang.adapters.db.tables import map_domain
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import load_settings
from yunzhang.domain.ids import resident_id_check_char
from yunzhang.domain.notifications import CodePurpose
from yunzhang.domain.persons import Person
from yunzhang.errors import YunzhangError
from yunzhang.services import notifications, persons
from yunzhang.services.audit import verify_audit_chain
from yunzhang.services.context import Caller

PHONE, PASSWORD = "13912345678", "s3cret-pass"
ID_A = "11010519491231002" + resident_id_check_char("11010519491231002")
CALLER = Caller(actor="anonymous", request_id="test-request", ip="192.0.2.1")
THREADS = 4


@pytest.fixture
def live(blank_database_url: str, tmp_path: Path) -> Iterator[Container]:
    """A container on a migrated database of its own, whose transactions really commit."""
    map_domain()
    engine = make_engine(blank_database_url)
    migrate.upgrade(engine)
    settings = load_settings(env="development", data_dir=tmp_path / "var")
    yield build_container(settings, engine=engine, clock=GateClock(datetime(2026, 11, 22, 8, tzinfo=UTC)),
                          passwords=Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
                          limiter=MemoryRateLimiter())
    engine.dispose()


class GateClock(FixedClock):
    """A fixed clock that, once armed, holds each thread at its first reading of the time until
    every racer has read it (or a second has passed: SQLite lets only one writer in at a time).
    verify_identity reads the time after its uniqueness check and before writing, so the gate
    lines all racers up inside the gap between the two."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self.armed = False
        self._gate = threading.Barrier(THREADS)
        self._passed = threading.local()

    def now(self) -> datetime:
        if self.armed and not getattr(self._passed, "done", False):
            self._passed.done = True
            try:
                self._gate.wait(timeout=1)
            except threading.BrokenBarrierError:
                pass
        return super().now()


def race(action: Callable[[int], object]) -> list[str]:
    """Run ``action(i)`` in THREADS threads released together; 'ok' or the error code of each."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = [""] * THREADS

    def run(i: int) -> None:
        barrier.wait()
        try:
            action(i)
            outcomes[i] = "ok"
        except YunzhangError as err:
            outcomes[i] = err.code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def count(c: Container, table: object, *where: object) -> int:
    with c.session_factory() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where)) or 0  # type: ignore[arg-type]


def send_and_read_code(c: Container, phone: str) -> str:
    persons.send_sms_code(persons.SendSmsCode(phone, CodePurpose.REGISTER), caller=CALLER,
                          uow=c.uow, keyring=c.keyring, limiter=c.limiter, clock=c.clock,
                          settings=c.settings)
    [message] = notifications.recent_messages(uow=c.uow, limit=1, recipient=phone)
    found = re.search(r"\d{6}", message.body)
    assert found, message.body
    return found.group(0)


def register(c: Container, phone: str, code: str) -> Person:
    return persons.register_person(persons.RegisterPerson(phone, PASSWORD, code), caller=CALLER,
                                   uow=c.uow, keyring=c.keyring, passwords=c.passwords,
                                   clock=c.clock, settings=c.settings)


def test_one_code_registers_one_person(live: Container) -> None:
    code = send_and_read_code(live, PHONE)
    outcomes = race(lambda _: register(live, PHONE, code))
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"person.phone_taken", "sms_code.used", "db.conflict"}
    assert count(live, tables.persons) == 1
    audit = tables.audit_events.c
    assert count(live, tables.audit_events, audit.action == "person:register") == 1
    assert verify_audit_chain(uow=live.uow).intact


def test_one_id_number_verifies_one_account(live: Container) -> None:
    people = [register(live, f"1391234{i:04d}", send_and_read_code(live, f"1391234{i:04d}"))
              for i in range(THREADS)]

    def verify(i: int) -> None:
        persons.verify_identity(persons.VerifyIdentity(people[i].id, "张三", ID_A), caller=CALLER,
                                uow=live.uow, keyring=live.keyring, verifier=live.identity,
                                clock=live.clock)

    assert isinstance(live.clock, GateClock)
    live.clock.armed = True
    outcomes = race(verify)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"identity.taken", "db.conflict"}
    row = tables.persons.c
    assert count(live, tables.persons, row.id_number_hmac == live.keyring.pii_hash(ID_A)) == 1
    assert verify_audit_chain(uow=live.uow).intact
