"""At most five license administrators, even when ten approvals race (seed 000 §4.2).

Ten persons apply to be administrators of one enterprise and the legal representative's ten
approvals run at the same moment, each in its own thread and unit of work, committing for real on a
database of its own. On PostgreSQL this is the case that matters: decide_application locks the
enterprise row before it counts the administrators, so count and appointment are one step. SQLite
lets one writer in at a time (BEGIN IMMEDIATE), which is cheap to check as well.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import FAST_HASHER, START
from tests.registry_samples import person_id, registry_row
from yunzhang.adapters.clock import FixedClock
from yunzhang.adapters.db import migrate, tables
from yunzhang.adapters.db.engine import make_engine
from yunzhang.adapters.ratelimit import MemoryRateLimiter
from yunzhang.bootstrap import Container, build_container
from yunzhang.config import load_settings
from yunzhang.domain.ids import ResidentId
from yunzhang.domain.persons import Person
from yunzhang.domain.roles import ApplicationStatus, MembershipStatus, Role
from yunzhang.errors import YunzhangError
from yunzhang.services import notifications, roles
from yunzhang.services.audit import verify_audit_chain
from yunzhang.services.context import Caller
from yunzhang.services.enterprises import ImportRegistry, import_registry

LIMIT, APPLICANTS, ROUNDS = 5, 10, 3
CALLER = Caller(actor="concurrency-test", request_id="admin-limit")


@pytest.fixture
def live(blank_database_url: str, tmp_path: Path) -> Iterator[Container]:
    """The container a server would build on a migrated database of its own: real commits."""
    engine = make_engine(blank_database_url)
    migrate.upgrade(engine)
    engine.dispose()
    settings = load_settings(env="development", data_dir=tmp_path / "var",
                             database_url=blank_database_url)
    container = build_container(settings, clock=FixedClock(START), passwords=FAST_HASHER,
                                limiter=MemoryRateLimiter())
    yield container
    container.engine.dispose()


def verified_person(c: Container, phone: str, name: str, id_number: str) -> Person:
    now, number = c.clock.now(), ResidentId.parse(id_number)
    person = Person(phone=phone, password_hash="unused", created_at=now)
    person.record_identity(name=name, id_hmac=c.keyring.pii_hash(number.value),
                           id_masked=number.masked, at=now)
    with c.uow() as tx:
        tx.persons.add(person)
        tx.commit()
    return person


def pending_admins(c: Container, n: int) -> tuple[str, Person, list[tuple[Person, int]]]:
    """Enterprise ``n`` with its legal representative and APPLICANTS linked persons, each with a
    pending application for the administrator role."""
    legal_rep = verified_person(c, f"1380000{n:04d}", "张三", person_id(n * 20))
    row = registry_row(n, legal_rep_name="张三", legal_rep_id_number=person_id(n * 20))
    import_registry(ImportRegistry([row], source="race"), caller=CALLER, uow=c.uow,
                    keyring=c.keyring, clock=c.clock)
    applications = []
    for i in range(1, APPLICANTS + 1):
        person = verified_person(c, f"139{n:04d}{i:04d}", "李四", person_id(n * 20 + i))
        roles.link_enterprise(person.id, row["uscc"], caller=CALLER, uow=c.uow, clock=c.clock)
        application = roles.apply_for_role(
            roles.ApplyForRole(person.id, row["uscc"], Role.ADMIN, "申请证照管理员"),
            caller=CALLER, uow=c.uow, clock=c.clock, keyring=c.keyring, settings=c.settings)
        assert application.id is not None
        applications.append((person, application.id))
    return row["uscc"], legal_rep, applications


def race(action: Callable[[int], object], count: int) -> list[str]:
    """``action(i)`` for i < count in threads released together by a barrier: "ok" or the error
    code of each."""
    barrier = threading.Barrier(count)
    outcomes = ["did not finish"] * count

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            action(i)
            outcomes[i] = "ok"
        except YunzhangError as err:
            outcomes[i] = err.code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def active_memberships(c: Container, person: uuid.UUID, enterprise: uuid.UUID) -> list[Role | None]:
    m = tables.memberships.c
    with c.session_factory() as session:
        return [Role(r) if r else None for r in session.scalars(select(m.role).where(
            m.person_id == person, m.enterprise_id == enterprise,
            m.status == MembershipStatus.ACTIVE))]


def approvals_audited(c: Container, uscc: str) -> int:
    a = tables.audit_events.c
    with c.session_factory() as session:
        return session.scalar(select(func.count()).select_from(tables.audit_events).where(
            a.action == "role:approve", a.subject == f"enterprise:{uscc}")) or 0


def test_ten_simultaneous_approvals_appoint_exactly_five_admins(live: Container) -> None:
    assert live.settings.max_license_admins == LIMIT  # the default the platform ships with
    for n in range(1, ROUNDS + 1):  # fresh enterprises, so one lucky schedule cannot pass alone
        uscc, legal_rep, applications = pending_admins(live, n)
        outcomes = race(lambda i: roles.decide_application(
            roles.DecideApplication(legal_rep.id, applications[i][1], approve=True),
            caller=CALLER, uow=live.uow, clock=live.clock, settings=live.settings), APPLICANTS)

        assert sorted(outcomes) == ["ok"] * LIMIT + ["role.admin_limit"] * (APPLICANTS - LIMIT), \
            f"round {n}: {outcomes}"
        with live.uow() as tx:
            enterprise = tx.enterprises.by_uscc(uscc)
            assert enterprise is not None
            assert tx.memberships.count_role(enterprise.id, Role.ADMIN) == LIMIT
            statuses = [tx.applications.get(number).status  # type: ignore[union-attr]
                        for _, number in applications]
        for (person, _), outcome, status in zip(applications, outcomes, statuses, strict=True):
            appointed = outcome == "ok"
            # Nothing half-written: a refused approval left the application, the membership and
            # the applicant's phone as they were.
            assert status == (ApplicationStatus.APPROVED if appointed else ApplicationStatus.PENDING)
            assert active_memberships(live, person.id, enterprise.id) == [
                Role.ADMIN if appointed else None]
            told = notifications.recent_messages(uow=live.uow, limit=10, recipient=person.phone)
            assert [m.body.endswith("证照管理员已通过。") for m in told] == ([True] if appointed else [])
        assert approvals_audited(live, uscc) == LIMIT
    assert verify_audit_chain(uow=live.uow).intact
