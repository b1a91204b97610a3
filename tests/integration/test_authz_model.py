"""Authorization against a reference model: random sequences of role and grant changes in one
enterprise, after each of which every person's answers from ``services.authorization.decide`` must
equal those of a small model written from the rules (seed 000 §4.2, seed 002 §2.2-2.3), and every
service call must be refused exactly when, and in the way, the model refuses it.

The model is plain dicts and dataclasses, deliberately not built from ``yunzhang.domain``: it is
the rules written a second time, so that the two can disagree. Mutations of the rules it was
checked against (a precise scope that no longer covers its children, no liveness check before a
revocation, an unlink that leaves grants alive, a role grant that demotes an administrator) each
make it fail within the examples below.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.e2e.persons_support import tiny_png
from tests.registry_samples import company_uscc, person_id, registry_row
from yunzhang.adapters.clock import FixedClock
from yunzhang.bootstrap import Container
from yunzhang.config import Settings
from yunzhang.domain.authz import Action
from yunzhang.domain.ids import ResidentId
from yunzhang.domain.persons import Person
from yunzhang.domain.seals import Seal
from yunzhang.domain.roles import Role
from yunzhang.errors import YunzhangError
from yunzhang.services import authorization, grants, persons, roles
from yunzhang.services.context import Caller
from yunzhang.services.enterprises import ImportRegistry, import_registry
from yunzhang.services.grants import resource_of

# --- the reference model -------------------------------------------------------------------------

PEOPLE = 4  # person 0 is the registry's legal representative, 1-3 are linked at the start
# The limit is lowered from 5 so that a run of 25 steps can reach it; the default of 5 is raced
# for in test_admin_limit_concurrency.py.
ADMIN_LIMIT = 2
FRESH = timedelta(seconds=300)
DEFAULT_LENGTH = timedelta(days=3)
BACKDATE = timedelta(minutes=5)
RANK = {"agent": 1, "admin": 2, "legal_rep": 3}

GRANTABLE = ("hr", "hr.social_insurance", "hr.social_insurance.declare", "ecommerce.bidding",
             "ecommerce.bidding.registration", "tax.invoice")
# A parent of granted scopes, a child of two of them, a sibling of one, and a child in another tree.
ASKED = ("hr", "hr.social_insurance.declare", "hr.social_insurance.enroll",
         "ecommerce.bidding.registration")
SEALS = (("seal-1", "bidding"), ("seal-1", "tax"), ("seal-2", "bidding"))
ASKED_SEALS = SEALS[:2]  # a grant for the third must answer neither


def covers(granted: str, wanted: str) -> bool:
    return wanted == granted or wanted.startswith(granted + ".")


@dataclass
class Grant:
    person: int
    start: datetime
    end: datetime
    scopes: frozenset[str] | None = None  # None: all business
    seal: tuple[str, str] | None = None
    status: str = "active"  # active, revoked, ended

    def usable(self, at: datetime) -> bool:
        return self.status == "active" and self.start <= at < self.end


@dataclass
class Application:
    person: int
    role: str
    status: str = "pending"  # pending, approved, rejected, withdrawn


@dataclass
class Model:
    now: datetime
    roles: dict[int, str | None] = field(default_factory=dict)  # linked person -> role or None
    applications: dict[int, Application] = field(default_factory=dict)
    liveness: dict[int, datetime] = field(default_factory=dict)
    grants: dict[int, Grant] = field(default_factory=dict)
    seal_grants: dict[int, Grant] = field(default_factory=dict)

    def role(self, p: int) -> str | None:
        return self.roles.get(p)

    def manages(self, p: int) -> bool:
        return self.role(p) in ("legal_rep", "admin")

    def admins(self) -> int:
        return sum(1 for r in self.roles.values() if r == "admin")

    # questions

    def may_act(self, p: int, scope: str) -> bool:
        return self.manages(p) or self.role(p) == "agent" and any(
            g.person == p and g.usable(self.now) and (g.scopes is None or any(covers(s, scope)
                                                                            for s in g.scopes))
            for g in self.grants.values())

    def may_use_seal(self, p: int, seal: tuple[str, str]) -> bool:
        return self.role(p) == "legal_rep" or self.role(p) is not None and any(
            g.person == p and g.seal == seal and g.usable(self.now) for g in self.seal_grants.values())

    def may_give_role(self, actor: int, role: str, subject: int) -> bool:
        return self.manages(actor) and actor != subject and (
            role == "agent" or self.role(actor) == "legal_rep")

    def may_grant(self, actor: int, subject: int, *, seal: bool) -> bool:
        target = self.role(subject)
        fits = target not in (None, "legal_rep") if seal else target == "agent"
        return self.manages(actor) and actor != subject and fits

    def may_revoke_role(self, actor: int, subject: int) -> bool:
        target, checked = self.role(subject), self.liveness.get(actor)
        return (self.manages(actor) and actor != subject and target not in (None, "legal_rep")
                and (target == "agent" or self.role(actor) == "legal_rep")
                and checked is not None and self.now - checked <= FRESH)

    # changes

    def end_grants(self, p: int) -> None:
        for grant in (*self.grants.values(), *self.seal_grants.values()):
            if grant.person == p and grant.status == "active" and grant.end > self.now:
                grant.status = "ended"

    def withdraw(self, p: int) -> None:
        for application in self.applications.values():
            if application.person == p and application.status == "pending":
                application.status = "withdrawn"

    def set_role(self, p: int, role: str) -> None:
        if p in self.roles:
            self.end_grants(p)  # a new role starts without the old role's grants
        self.roles[p] = role

    def window(self, start: timedelta | None, length: timedelta | None) -> tuple[datetime, datetime] | None:
        begin = self.now + (start or timedelta())
        end = begin + (DEFAULT_LENGTH if length is None else length)
        return None if end <= begin or begin < self.now - BACKDATE else (begin, end)


# --- the machine that drives both ---------------------------------------------------------------

CALLER = Caller(actor="model-test", request_id="authz-model")
_numbers = itertools.count(1)
T = TypeVar("T")


@dataclass(frozen=True)
class World:
    container: Container
    clock: FixedClock
    settings: Settings
    password_hash: str


people = st.integers(0, PEOPLE - 1)
deciders = st.one_of(st.just(0), people)  # the legal representative more often than the others
# Valid windows more often than the two invalid ones (starting an hour ago, empty).
offsets = st.sampled_from([None, None, timedelta(minutes=-3), timedelta(hours=-1),
                           timedelta(hours=1), timedelta(days=2)])
lengths = st.sampled_from([None, None, timedelta(0), timedelta(hours=1), timedelta(days=10)])
precise = st.lists(st.sampled_from(GRANTABLE), min_size=1, max_size=3)


def each_other(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
    """One value for each person but the legal representative."""
    return st.lists(strategy, min_size=PEOPLE - 1, max_size=PEOPLE - 1)


class AuthzMachine(RuleBasedStateMachine):
    """One fresh enterprise and four fresh persons per example, since the examples share the
    test's database transaction."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.w, c = world, world.container
        self.model = Model(now=world.clock.now())
        self.checks = 0
        n = next(_numbers)
        self.uscc = company_uscc(n)
        # Unique per (n, i) for n < 100,000: the birth date carries n % 100 and i, the sequence n // 100.
        self.ids = [person_id(n // 100, born=f"{1900 + n % 100}{i + 1:02d}01") for i in range(PEOPLE)]
        self.names = ["张三" if i == 0 else f"李{i}" for i in range(PEOPLE)]
        self.phones = [f"13{i + 5}{n:08d}" for i in range(PEOPLE)]
        self.persons = [self._person(i) for i in range(PEOPLE)]
        with c.uow() as tx:
            for person in self.persons:
                tx.persons.add(person)
            tx.commit()
        import_registry(ImportRegistry([registry_row(
            n, name=f"模型测试{n}号有限公司", legal_rep_name=self.names[0],
            legal_rep_id_number=self.ids[0])], source="model"),
            caller=CALLER, uow=c.uow, keyring=c.keyring, clock=world.clock)
        self.model.roles[0] = "legal_rep"
        for i in range(1, PEOPLE):
            self.link(i)
        with c.uow() as tx:
            enterprise = tx.enterprises.by_uscc(self.uscc)
            assert enterprise is not None
            # The model names seals "seal-1", "seal-2"; seal grants name real seals by id.
            made = {name: Seal(enterprise_id=enterprise.id, name=name, type_code="contract",
                               applied_by=self.persons[0].id, applied_at=world.clock.now())
                    for name in ("seal-1", "seal-2")}
            for seal in made.values():
                tx.seals.add(seal)
            tx.commit()
        self.enterprise = enterprise
        self.seal_ids = {name: str(seal.id) for name, seal in made.items()}

    @initialize(cast=each_other(st.sampled_from([None, "agent", "agent", "admin", "admin"])),
                scopes=each_other(st.none() | precise), seals=each_other(st.sampled_from(SEALS)),
                start=offsets, length=lengths)
    def appoint(self, cast: list[str | None], scopes: list[list[str] | None],
                seals: list[tuple[str, str]], start: timedelta | None,
                length: timedelta | None) -> None:
        """The legal representative's first appointments and grants to each of the others (those
        without a fitting role are refused), so that short runs reach deep states."""
        for i, role in enumerate(cast, start=1):
            if role is not None:
                self.grant_role(0, i, role)
        for i in range(1, PEOPLE):
            self.grant(0, i, scopes[i - 1], start, length)
            self.seal_grant(0, i, seals[i - 1], start, length)

    def pick(self, data: st.DataObject, preferred: list[int]) -> int:
        """Anyone, but as often one of ``preferred``: those the rule can do something to now."""
        choices = st.one_of(st.sampled_from(preferred), people) if preferred else people
        return data.draw(choices)

    def holders(self, *held: str) -> list[int]:
        return sorted(p for p, r in self.model.roles.items() if r in held)

    def _person(self, i: int) -> Person:
        now, id_number = self.w.clock.now(), ResidentId.parse(self.ids[i])
        person = Person(phone=self.phones[i], password_hash=self.w.password_hash, created_at=now)
        person.record_identity(name=self.names[i], id_hmac=self.w.container.keyring.pii_hash(
            id_number.value), id_masked=id_number.masked, at=now)
        return person

    def pid(self, i: int) -> uuid.UUID:
        return self.persons[i].id

    def expect(self, refusal: str | None, call: Callable[[], T], what: str) -> tuple[bool, T | None]:
        """Run the real call: it must fail with the model's refusal (an error class name), or
        succeed when the model has none. Whether it succeeded, and what it returned."""
        try:
            result = call()
        except YunzhangError as err:
            assert refusal == type(err).__name__, (
                f"{what}: refused ({type(err).__name__} {err.code}: {err.detail}); model: "
                f"{refusal or 'allowed'}; roles {self.model.roles}")
            return False, None
        assert refusal is None, f"{what}: allowed; model: {refusal}; roles {self.model.roles}"
        return True, result

    # -- roles

    @rule(data=st.data())
    def relink(self, data: st.DataObject) -> None:
        self.link(self.pick(data, [p for p in range(PEOPLE) if p not in self.model.roles]))

    def link(self, p: int) -> None:
        refusal = "Conflict" if p in self.model.roles else None
        done, _ = self.expect(refusal, lambda: roles.link_enterprise(
            self.pid(p), self.uscc, caller=CALLER, uow=self.w.container.uow, clock=self.w.clock),
            f"{p} links")
        if done:
            self.model.roles[p] = None

    @rule(p=people, role=st.sampled_from(["admin", "agent"]))
    def apply(self, p: int, role: str) -> None:
        m, c = self.model, self.w.container
        held = m.role(p)
        refusal = None
        if p not in m.roles or held is not None and RANK[held] >= RANK[role] or any(
                a.person == p and a.status == "pending" for a in m.applications.values()):
            refusal = "Conflict"
        _, application = self.expect(refusal, lambda: roles.apply_for_role(
            roles.ApplyForRole(self.pid(p), self.uscc, Role(role), "模型测试"), caller=CALLER,
            uow=c.uow, clock=self.w.clock, keyring=c.keyring, settings=self.w.settings),
            f"{p} applies for {role}")
        if application is not None:
            assert application.id is not None
            m.applications[application.id] = Application(p, role)

    @precondition(lambda self: self.model.applications)
    @rule(approver=deciders, pick=st.integers(0, 99), approve=st.booleans())
    def decide_application(self, approver: int, pick: int, approve: bool) -> None:
        m = self.model
        number = sorted(m.applications)[pick % len(m.applications)]
        application = m.applications[number]
        refusal = None
        if not m.may_give_role(approver, application.role, application.person):
            refusal = "PermissionDenied"
        elif application.status != "pending" or approve and (
                application.person not in m.roles
                or application.role == "admin" and m.admins() >= ADMIN_LIMIT):
            refusal = "Conflict"
        done, _ = self.expect(refusal, lambda: roles.decide_application(
            roles.DecideApplication(self.pid(approver), number, approve),
            caller=CALLER, uow=self.w.container.uow, clock=self.w.clock, settings=self.w.settings),
            f"{approver} {'approves' if approve else 'rejects'} {application}")
        if done:
            application.status = "approved" if approve else "rejected"
            if approve:
                m.set_role(application.person, application.role)

    @rule(granter=deciders, p=st.one_of(st.integers(1, PEOPLE - 1), people),
          role=st.sampled_from(["admin", "agent"]))
    def grant_role(self, granter: int, p: int, role: str) -> None:
        m, c = self.model, self.w.container
        held = m.role(p)
        refusal = None
        if not m.may_give_role(granter, role, p):
            refusal = "PermissionDenied"
        # Giving a role one holds already, or a lower one, would take a role away without the
        # checks of a revocation; the legal representative's role follows the registry.
        elif held is not None and RANK[held] >= RANK[role] \
                or role == "admin" and m.admins() >= ADMIN_LIMIT:
            refusal = "Conflict"
        done, _ = self.expect(refusal, lambda: roles.grant_role(
            roles.GrantRole(self.pid(granter), self.uscc, self.names[p], self.ids[p],
                            self.phones[p], Role(role)),
            caller=CALLER, uow=c.uow, clock=self.w.clock, keyring=c.keyring,
            settings=self.w.settings), f"{granter} grants {role} to {p}")
        if done:
            m.withdraw(p)
            m.set_role(p, role)

    @rule(revoker=deciders, data=st.data(), fresh=st.booleans())
    def revoke_role(self, revoker: int, data: st.DataObject, fresh: bool) -> None:
        m, c = self.model, self.w.container
        p = self.pick(data, self.holders("admin", "agent"))
        if fresh:
            persons.check_liveness(
                persons.CheckLiveness(self.pid(revoker), self.ids[revoker], tiny_png()),
                caller=CALLER, uow=c.uow, keyring=c.keyring, checker=c.liveness, clock=self.w.clock)
            m.liveness[revoker] = m.now
        refusal = None if m.may_revoke_role(revoker, p) else "PermissionDenied"
        done, _ = self.expect(refusal, lambda: roles.revoke_role(
            roles.RevokeRole(self.pid(revoker), self.uscc, self.pid(p), "模型测试"),
            caller=CALLER, uow=c.uow, clock=self.w.clock, settings=self.w.settings),
            f"{revoker} revokes {p} (fresh check: {fresh})")
        if done:
            del m.roles[p]
            m.end_grants(p)

    @rule(p=deciders)
    def face_check(self, p: int) -> None:
        """A liveness check (实人认证) on its own, as the web page records it before a revocation."""
        with self.w.container.uow() as tx:
            person = tx.persons.get(self.pid(p))
            assert person is not None
            person.record_liveness(at=self.model.now)
            tx.commit()
        self.model.liveness[p] = self.model.now

    @rule(data=st.data())
    def unlink(self, data: st.DataObject) -> None:
        m = self.model
        p = self.pick(data, self.holders("admin", "agent"))
        refusal = "NotFound" if p not in m.roles else "Conflict" if m.role(p) == "legal_rep" else None
        done, _ = self.expect(refusal, lambda: roles.unlink_enterprise(
            self.pid(p), self.uscc, caller=CALLER, uow=self.w.container.uow, clock=self.w.clock),
            f"{p} unlinks")
        if done:
            del m.roles[p]
            m.withdraw(p)
            m.end_grants(p)

    # -- grants

    def _window(self, start: timedelta | None, length: timedelta | None,
                ) -> tuple[datetime | None, datetime | None]:
        """What the caller sends: nothing for "now" and "the default three days"."""
        begins = None if start is None else self.model.now + start
        return begins, None if length is None else (begins or self.model.now) + length

    @rule(granter=deciders, data=st.data(), scopes=st.none() | precise, start=offsets,
          length=lengths)
    def create_grant(self, granter: int, data: st.DataObject, scopes: list[str] | None,
                     start: timedelta | None, length: timedelta | None) -> None:
        self.grant(granter, self.pick(data, self.holders("agent")), scopes, start, length)

    def grant(self, granter: int, p: int, scopes: list[str] | None, start: timedelta | None,
              length: timedelta | None) -> None:
        m, c = self.model, self.w.container
        window = m.window(start, length)
        refusal = "InvalidInput" if window is None else (
            None if m.may_grant(granter, p, seal=False) else "PermissionDenied")
        _, grant = self.expect(refusal, lambda: grants.create_grant(
            grants.CreateGrant(self.pid(granter), self.uscc, self.pid(p), scopes is None,
                               scopes or [], *self._window(start, length)),
            caller=CALLER, uow=c.uow, clock=self.w.clock, scopes=c.scopes,
            settings=self.w.settings), f"{granter} grants {scopes or 'all business'} to {p}")
        if grant is not None:
            assert grant.id is not None and window is not None
            m.grants[grant.id] = Grant(p, *window, scopes=None if scopes is None else frozenset(scopes))

    @rule(granter=deciders, data=st.data(), seal=st.sampled_from(SEALS), start=offsets,
          length=lengths)
    def create_seal_grant(self, granter: int, data: st.DataObject, seal: tuple[str, str],
                          start: timedelta | None, length: timedelta | None) -> None:
        self.seal_grant(granter, self.pick(data, self.holders("admin", "agent")), seal, start,
                        length)

    def seal_grant(self, granter: int, p: int, seal: tuple[str, str], start: timedelta | None,
                   length: timedelta | None) -> None:
        m, c = self.model, self.w.container
        window = m.window(start, length)
        refusal = "InvalidInput" if window is None else (
            None if m.may_grant(granter, p, seal=True) else "PermissionDenied")
        _, grant = self.expect(refusal, lambda: grants.create_seal_grant(
            grants.CreateSealGrant(self.pid(granter), self.uscc, self.pid(p), self.seal_ids[seal[0]],
                                   seal[1],
                                   *self._window(start, length)),
            caller=CALLER, uow=c.uow, clock=self.w.clock, settings=self.w.settings),
            f"{granter} grants {seal} to {p}")
        if grant is not None:
            assert grant.id is not None and window is not None
            m.seal_grants[grant.id] = Grant(p, *window, seal=seal)

    def _revoke(self, revoker: int, kept: dict[int, Grant], pick: int,
                revoke: Callable[..., object]) -> None:
        number = sorted(kept)[pick % len(kept)]
        refusal = None if self.model.manages(revoker) else "PermissionDenied"
        if refusal is None and kept[number].status != "active":
            refusal = "Conflict"
        done, _ = self.expect(refusal, lambda: revoke(
            grants.RevokeGrant(self.pid(revoker), number, "模型测试"), caller=CALLER,
            uow=self.w.container.uow, clock=self.w.clock), f"{revoker} revokes {kept[number]}")
        if done:
            kept[number].status = "revoked"

    @precondition(lambda self: self.model.grants)
    @rule(revoker=deciders, pick=st.integers(0, 99))
    def revoke_grant(self, revoker: int, pick: int) -> None:
        self._revoke(revoker, self.model.grants, pick, grants.revoke_grant)

    @precondition(lambda self: self.model.seal_grants)
    @rule(revoker=deciders, pick=st.integers(0, 99))
    def revoke_seal_grant(self, revoker: int, pick: int) -> None:
        self._revoke(revoker, self.model.seal_grants, pick, grants.revoke_seal_grant)

    @rule(seconds=st.sampled_from([1, 60, 240, 299, 301, 3600, 86400, 3 * 86400]))
    def advance(self, seconds: int) -> None:
        self.w.clock.advance(seconds=seconds)
        self.model.now = self.w.clock.now()

    def edges(self) -> list[datetime]:
        m = self.model
        moments = {t for g in (*m.grants.values(), *m.seal_grants.values()) for t in (g.start, g.end)}
        return sorted(t for t in moments | {t + FRESH for t in m.liveness.values()} if t > m.now)

    @precondition(lambda self: self.edges())
    @rule(pick=st.integers(0, 99))
    def advance_to_edge(self, pick: int) -> None:
        """Straight to a moment a grant starts or ends, or a liveness check is exactly 300 s old:
        the edges of [start, end) and of "within 300 s"."""
        edges = self.edges()
        self.w.clock.advance(microseconds=(edges[pick % len(edges)] - self.model.now)
                             // timedelta(microseconds=1))
        self.model.now = self.w.clock.now()

    # -- every answer, after every step

    @invariant()
    def answers_match(self) -> None:
        m = self.model
        self.checks += 1
        wrong = []
        with self.w.container.uow() as tx:
            for actor in range(PEOPLE):
                for action, fields, expected in self.questions(actor):
                    decision = authorization.decide(
                        self.pid(actor), action, resource_of(self.enterprise, **fields), m.now,
                        tx=tx, fresh_liveness=FRESH)
                    if decision.allowed != expected:
                        wrong.append(f"{actor} {action.value} {fields}: {decision.allowed} "
                                     f"({decision.reason}), model {expected}")
        assert not wrong, f"roles {m.roles} at {m.now}:\n" + "\n".join(wrong)

    def questions(self, actor: int) -> list[tuple[Action, dict[str, object], bool]]:
        """A dozen questions per person; the subject of most management questions turns with
        every check (oneself included), so a run asks about every pair. Revocation, whose answer
        also turns on the clock (the 300 s), is asked about everyone every time."""
        m, subject = self.model, (actor + self.checks) % PEOPLE
        person: dict[str, object] = {"subject_person": self.pid(subject)}
        asked: list[tuple[Action, dict[str, object], bool]] = [
            (Action.VIEW, {}, m.role(actor) is not None),
            (Action.APPROVE_ROLE, {**person, "role": Role.ADMIN},
             m.may_give_role(actor, "admin", subject)),
            (Action.GRANT_ROLE, {**person, "role": Role.AGENT},
             m.may_give_role(actor, "agent", subject)),
            (Action.GRANT, person, m.may_grant(actor, subject, seal=False)),
            (Action.GRANT_SEAL, {**person, "seal_id": self.seal_ids["seal-1"],
                                 "business_system": "tax"},
             m.may_grant(actor, subject, seal=True)),
        ]
        asked += [(Action.ACT, {"scope": s}, m.may_act(actor, s)) for s in ASKED]
        asked += [(Action.USE_SEAL, {"seal_id": self.seal_ids[seal], "business_system": system},
                   m.may_use_seal(actor, (seal, system))) for seal, system in ASKED_SEALS]
        asked += [(Action.REVOKE_ROLE, {"subject_person": self.pid(p)}, m.may_revoke_role(actor, p))
                  for p in range(PEOPLE)]
        return asked


def test_decisions_follow_the_rules(container: Container, clock: FixedClock) -> None:
    world = World(container, clock,
                  container.settings.model_copy(update={"max_license_admins": ADMIN_LIMIT}),
                  container.passwords.hash("model-test"))
    assert world.settings.fresh_liveness_seconds == FRESH.total_seconds()
    run_state_machine_as_test(
        lambda: AuthzMachine(world),  # type: ignore[arg-type]  # any factory will do
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow]))
