"""Demo data for the quick start: one enterprise from a registry row, its legal representative
and members, all verified, with passwords printed for the person trying the platform."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from yunzhang.domain.audit import AuditRecord, AuditTag
from yunzhang.domain.ids import ResidentId
from yunzhang.config import Settings
from yunzhang.domain.persons import Person
from yunzhang.domain.roles import Role
from yunzhang.domain.scopes import ScopeTree
from yunzhang.services.context import Caller
from yunzhang.services.enterprises import ImportRegistry, import_registry
from yunzhang.services.grants import CreateGrant, create_grant
from yunzhang.services.roles import GrantRole, grant_role, sync_legal_representative
from yunzhang.services.ports import Clock, Keyring, PasswordHasher, UnitOfWorkFactory

DEMO_PASSWORD = "Yunzhang-demo-2026"
DEMO_USCC = "91310115MA1K4DEM05"  # check character computed per GB 32100; tests verify it


@dataclass(frozen=True)
class DemoPerson:
    role: str
    name: str
    phone: str
    id_number: str


DEMO_PEOPLE = (
    DemoPerson("legal representative (法定代表人)", "张云章", "13800000001", "310115198001010016"),
    DemoPerson("license administrator (证照管理员)", "李管理", "13800000002",
               "310115198502020028"),
    DemoPerson("agent (经办人), authorized for bidding and social-insurance declarations", "王经办",
               "13800000003", "310115199003030031"),
)


@dataclass(frozen=True)
class DemoData:
    uscc: str
    enterprise_name: str
    people: tuple[DemoPerson, ...]
    password: str
    created: bool


def seed_demo(
    *, caller: Caller, uow: UnitOfWorkFactory, keyring: Keyring, passwords: PasswordHasher,
    clock: Clock, settings: Settings, scopes: ScopeTree,
) -> DemoData:
    """Idempotent: a second run finds everything in place and changes nothing."""
    legal = DEMO_PEOPLE[0]
    name = "上海云章示范科技有限公司"
    import_registry(
        ImportRegistry(
            rows=[{"uscc": DEMO_USCC, "name": name, "kind": "company", "status": "active",
                   "legal_rep_name": legal.name, "legal_rep_id_number": legal.id_number}],
            source="demo",
        ),
        caller=caller, uow=uow, keyring=keyring, clock=clock,
    )
    created = False
    password_hash = passwords.hash(DEMO_PASSWORD)
    with uow(request_id=caller.request_id) as tx:
        for person in DEMO_PEOPLE:
            if tx.persons.by_phone(person.phone):
                continue
            id_number = ResidentId.parse(person.id_number)
            now = clock.now()
            record = Person(phone=person.phone, password_hash=password_hash, created_at=now)
            record.record_identity(name=person.name, id_hmac=keyring.pii_hash(id_number.value),
                                   id_masked=id_number.masked, at=now)
            record.record_liveness(at=now)
            tx.persons.add(record)
            tx.audit.record(AuditRecord(AuditTag.DEMO_SEED, caller.actor, f"person:{record.id}",
                                        details={"name": person.name}))
            created = True
        enterprise = tx.enterprises.by_uscc(DEMO_USCC)
        assert enterprise is not None
        sync_legal_representative(tx, enterprise, at=clock.now(), actor=caller.actor)
        tx.commit()
    if created:
        _appoint(caller=caller, uow=uow, keyring=keyring, clock=clock, settings=settings,
                 scopes=scopes)
    return DemoData(DEMO_USCC, name, DEMO_PEOPLE, DEMO_PASSWORD, created)


def _appoint(*, caller: Caller, uow: UnitOfWorkFactory, keyring: Keyring, clock: Clock,
             settings: Settings, scopes: ScopeTree) -> None:
    """The legal representative appoints the administrator and the agent, and authorizes the
    agent for bidding and social-insurance declarations for the default three days."""
    legal, admin, agent = (_person_id(uow, p.phone) for p in DEMO_PEOPLE)
    for person, role in ((DEMO_PEOPLE[1], Role.ADMIN), (DEMO_PEOPLE[2], Role.AGENT)):
        grant_role(GrantRole(legal, DEMO_USCC, person.name, person.id_number, person.phone, role),
                   caller=caller, uow=uow, clock=clock, keyring=keyring, settings=settings)
    create_grant(CreateGrant(legal, DEMO_USCC, agent, False,
                             ["ecommerce.bidding.full_process", "hr.social_insurance.declare"]),
                 caller=caller, uow=uow, clock=clock, scopes=scopes, settings=settings)


def _person_id(uow: UnitOfWorkFactory, phone: str) -> uuid.UUID:
    with uow() as tx:
        person = tx.persons.by_phone(phone)
        assert person is not None
        return person.id
