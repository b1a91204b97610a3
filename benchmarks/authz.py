"""Benchmark of the authorization decision: yunzhang's ``decide`` on PostgreSQL against pycasbin.

Run ``.venv/bin/python benchmarks/authz.py`` (needs the ``bench`` extra: ``pip install -e .[bench]``)
with PostgreSQL on 127.0.0.1 (``YUNZHANG_BENCH_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``). It creates a database of its own
(``yunzhang_bench_<pid>_<hex>``), migrates it, loads 10,000 enterprises with their legal
representatives, administrators, agents, linked members without a role and former agents, 100,000
business grants (全业务 and 精准, windows in the past, current and future, some revoked, the former
agents' ended) and 10,000 seal grants, asks both engines the same 20,000 questions and drops the
database at the end, also on failure. Output (stdout)::

    header: data sizes and the anchors of docs (pycasbin ~0.85 ms at 1,100 rules; SpiceDB p95 5.8 ms)
    yunzhang: N decisions/s, p50 X ms, p99 Y ms
    pycasbin: N decisions/s, p50 X ms, p99 Y ms
    agreement: A/Q questions ...

What is timed. yunzhang: one unit of work per question, as a service opens one transaction per
request; it ends without a commit, i.e. rolls back, as a read-only request does (which also
discards psycopg's prepared statements, so nothing here profits from them). The service's own
first read (the enterprise by id, which also opens the transaction) is not timed; the call
``yunzhang.services.authorization.decide(actor, action, resource, at, tx=tx)`` is, with everything
it does: the round trip to PostgreSQL for the actor's membership and grants, building the domain
objects, and the pure decision with its reason. Nothing is cached between questions: every
decision reads the current rows. pycasbin: ``FastEnforcer.enforce(...)`` over policies held in
memory, loaded once before the run. decisions/s is questions divided by the summed time inside
the call, on one thread; p50 and p99 are of the single calls (nearest rank). Both engines first
answer a separate warm-up set, and the garbage collector's survivors are frozen before each timed
run (the same for both). Other processes on the machine show in the figures: run it on a quiet one.

The pycasbin model is RBAC with domains (request ``sub, dom, obj, act, at``; roles per enterprise
via ``g = _, _, _``), chosen to give the same answers, not to be slow:

* domain = the enterprise's id, subject = the person's id;
* ``g, <person>, role:legal_rep|role:admin, <enterprise>`` for every active membership with that
  role; per enterprise ``p, role:legal_rep, <ent>, *, business:act``, ``p, role:legal_rep, <ent>,
  *, seal:use`` and ``p, role:admin, <ent>, *, business:act`` (managers act in every scope; only
  the legal representative stamps without a seal grant);
* every ACTIVE business grant becomes one line per scope, ``p, <agent>, <ent>, <scope>,
  business:act, <start>, <end>`` (``*`` for all business), every ACTIVE seal grant ``p, <person>,
  <ent>, seal:<seal>@<system>, seal:use, <start>, <end>``; revoked and ended grants are left out,
  which is what a casbin deployment does when a grant is revoked (remove_policy);
* matcher ``g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.act == p.act && covers(p.obj, r.obj)
  && within(r.at, p.start, p.end)``: ``covers`` is yunzhang's "a scope covers itself and its
  descendants" (plus ``*``), ``within`` the half-open window [start, end) on fixed-width UTC
  timestamps, so time windows are evaluated per question, as yunzhang does, rather than encoding
  only the grants active at one instant. Role lines carry an unbounded window.

Plain ``casbin.Enforcer`` evaluates the matcher against every policy line for every request (close
to 200,000 lines here: one request did not finish within four minutes on the 2-core benchmark
machine); ``casbin.FastEnforcer`` with ``cache_key_order=[1]`` first narrows the lines to the
request's domain (pycasbin's answer for large policy sets), so that is what is measured. casbin's
per-request log line is silenced (logger level ERROR). The engines agree only because the data
is consistent the way yunzhang's services keep it: business grants go to agents, a member who
leaves has their grants ended; casbin alone would not know that an agent's membership ended.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from yunzhang.adapters.db import migrate
from yunzhang.adapters.db.engine import make_engine, normalize_url
from yunzhang.adapters.scope_files import load_scope_tree
from yunzhang.bootstrap import build_container
from yunzhang.config import load_settings
from yunzhang.domain.authz import Action, Resource
from yunzhang.services.authorization import decide

ADMIN_URL = os.environ.get("YUNZHANG_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SYSTEMS = ("ebidding", "tax", "social_insurance", "customs")
ANCHORS = "anchors: pycasbin ~0.85 ms at 1,100 rules, SpiceDB p95 5.8 ms; target p99 < 0.5 ms"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data ---------------------------------------------------------------------------------------


@dataclass
class Member:
    person: uuid.UUID
    enterprise: int  # index into World.enterprises
    role: str | None
    active: bool = True
    scopes: list[str] = field(default_factory=list)  # of the member's business grants
    seals: list[tuple[str, str]] = field(default_factory=list)  # of the member's seal grants


@dataclass
class World:
    enterprises: list[uuid.UUID] = field(default_factory=list)
    persons: list[uuid.UUID] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    seals: list[list[str]] = field(default_factory=list)  # seal ids per enterprise
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def _window(rng: random.Random) -> tuple[datetime, datetime]:
    start = NOW + timedelta(seconds=rng.randint(-60 * 86400, 20 * 86400))
    pick = rng.random()
    if pick < 0.4:
        length = timedelta(days=3)  # seed 002 §1: the default window
    elif pick < 0.6:
        length = timedelta(seconds=rng.randint(3600, 2 * 86400))
    else:
        length = timedelta(days=rng.randint(7, 90))
    return start, start + length


def _status(rng: random.Random, member: Member, start: datetime) -> tuple[str, datetime | None]:
    if not member.active:
        return "ended", NOW - timedelta(days=rng.randint(1, 20))
    if rng.random() < 0.08:
        return "revoked", max(start, NOW - timedelta(days=rng.randint(0, 30)))
    return "active", None


def build_world(rng: random.Random, *, enterprises: int, grants: int, seal_grants: int,
                scopes: Sequence[str]) -> World:
    """Rows for COPY, and what the question set needs to know about them."""
    w = World()
    persons, memberships = [], []
    agency = [uuid.uuid4() for _ in range(1000)]  # agents who serve many enterprises
    legal_reps: list[uuid.UUID] = []

    def person(pid: uuid.UUID | None = None) -> uuid.UUID:
        pid = pid or uuid.uuid4()
        persons.append((pid, f"1{len(persons):010d}", "-", f"P{len(persons)}", None, None,
                        "identity", NOW, None, "active", NOW))
        w.persons.append(pid)
        return pid

    for pid in agency:
        person(pid)

    def member(ent: int, pid: uuid.UUID, role: str | None, *, active: bool = True) -> None:
        started = NOW - timedelta(days=rng.randint(60, 900))
        memberships.append((w.enterprises[ent], pid, role, "active" if active else "ended",
                            started, "benchmark", None, None if active else NOW - timedelta(days=5),
                            None if active else "unlinked", None))
        w.members.append(Member(pid, ent, role, active))

    ent_rows = []
    for i in range(enterprises):
        eid = uuid.uuid4()
        w.enterprises.append(eid)
        w.seals.append([f"seal-{eid.hex[:8]}-{k}" for k in range(rng.randint(1, 3))])
        ent_rows.append((eid, f"91310000{i:010d}", f"Enterprise {i}", "company", "310000",
                         "active", f"Rep {i}", secrets.token_hex(32), "310***********0000",
                         NOW, NOW))
        rep = rng.choice(legal_reps) if legal_reps and rng.random() < 0.1 else person()
        legal_reps.append(rep)
        member(i, rep, "legal_rep")
        for _ in range(rng.choices((0, 1, 2), (3, 5, 2))[0]):
            member(i, person(), "admin")
        chosen: set[uuid.UUID] = set()
        for _ in range(rng.randint(3, 7)):
            pid = rng.choice(agency) if rng.random() < 0.2 else person()
            if pid not in chosen:
                chosen.add(pid)
                member(i, pid, "agent")
        if rng.random() < 0.2:
            member(i, person(), None)  # linked, no role yet
        if rng.random() < 0.1:
            member(i, person(), "agent", active=False)  # a former agent

    agents = [m for m in w.members if m.role == "agent"]
    grant_rows = []
    for _ in range(grants):
        m = rng.choice(agents)
        start, end = _window(rng)
        status, stopped = _status(rng, m, start)
        if rng.random() < 0.25:
            kind, granted = "all_business", []
            m.scopes.append("")  # every scope
        else:
            kind, granted = "precise", sorted(rng.sample(list(scopes), rng.randint(1, 3)))
            m.scopes.extend(granted)
        grant_rows.append((w.enterprises[m.enterprise], m.person, start, end, uuid.uuid4(),
                           "legal_rep", NOW, status, stopped, None, None, kind,
                           "[" + ", ".join(f'"{s}"' for s in granted) + "]"))
    holders = [m for m in w.members if m.role in ("agent", "admin")]
    seal_rows = []
    for _ in range(seal_grants):
        m = rng.choice(holders)
        seal, system = rng.choice(w.seals[m.enterprise]), rng.choice(SYSTEMS)
        m.seals.append((seal, system))
        start, end = _window(rng)
        status, stopped = _status(rng, m, start)
        seal_rows.append((w.enterprises[m.enterprise], m.person, start, end, uuid.uuid4(),
                          "legal_rep", NOW, status, stopped, None, None, seal, system))
    w.rows = {"persons": persons, "enterprises": ent_rows, "memberships": memberships,
              "grants": grant_rows, "seal_grants": seal_rows}
    return w


COLUMNS = {
    "persons": "id, phone, password_hash, name, id_number_hmac, id_number_masked, "
               "verification_level, identity_verified_at, liveness_verified_at, status, created_at",
    "enterprises": "id, uscc, name, kind, region, status, legal_rep_name, legal_rep_id_hmac, "
                   "legal_rep_id_masked, created_at, updated_at",
    "memberships": "enterprise_id, person_id, role, status, started_at, authority, granted_by, "
                   "ended_at, end_reason, ended_by",
    "grants": "enterprise_id, grantee_id, starts_at, ends_at, granted_by, authority, created_at, "
              "status, revoked_at, revoked_by, revoke_reason, kind, scopes",
    "seal_grants": "enterprise_id, grantee_id, starts_at, ends_at, granted_by, authority, "
                   "created_at, status, revoked_at, revoked_by, revoke_reason, seal_id, "
                   "business_system",
}


def load(engine: Engine, world: World) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        with conn.cursor() as cur:
            for table, columns in COLUMNS.items():
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in world.rows[table]:
                        copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.autocommit = False
    finally:
        raw.close()


# --- questions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    person: uuid.UUID
    enterprise: uuid.UUID
    action: Action
    at: datetime
    scope: str | None = None
    seal_id: str | None = None
    system: str | None = None

    def casbin(self) -> tuple[str, str, str, str, str]:
        obj = self.scope if self.action is Action.ACT else f"seal:{self.seal_id}@{self.system}"
        return str(self.person), str(self.enterprise), obj or "", self.action.value, stamp(self.at)


def stamp(at: datetime) -> str:
    """Fixed-width UTC text: compares as the instants do."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def questions(rng: random.Random, world: World, scopes: Sequence[str], count: int) -> list[Question]:
    """Mostly agents acting in a scope, some managers, seal use, linked members without a role,
    former agents, and persons of other enterprises."""
    by_role: dict[str | None, list[Member]] = {}
    for m in world.members:
        by_role.setdefault(m.role if m.active else "former", []).append(m)
    managers = by_role["legal_rep"] + by_role["admin"]
    holders = by_role["agent"] + by_role["admin"]
    idle = by_role.get(None, []) + by_role.get("former", [])
    out = []
    for _ in range(count):
        at = NOW + timedelta(seconds=rng.randint(-3 * 86400, 3 * 86400))
        pick = rng.random()
        if pick < 0.62:
            m = rng.choice(by_role["agent"])
        elif pick < 0.72:
            m = rng.choice(managers)
        elif pick < 0.84:
            m = rng.choice(holders if rng.random() < 0.8 else by_role["legal_rep"])
            ent = m.enterprise
            seal, system = (rng.choice(m.seals) if m.seals and rng.random() < 0.7
                            else (rng.choice(world.seals[ent]), rng.choice(SYSTEMS)))
            out.append(Question(m.person, world.enterprises[ent], Action.USE_SEAL, at,
                                seal_id=seal, system=system))
            continue
        elif pick < 0.92:
            m = rng.choice(idle)
        else:
            out.append(Question(rng.choice(world.persons), rng.choice(world.enterprises),
                                Action.ACT, at, scope=rng.choice(scopes)))
            continue
        if m.scopes and rng.random() < 0.6:
            granted = rng.choice(m.scopes)  # a granted scope or one below it
            below = [s for s in scopes if s == granted or s.startswith(granted + ".") or not granted]
            scope = rng.choice(below)
        else:
            scope = rng.choice(scopes)
        out.append(Question(m.person, world.enterprises[m.enterprise], Action.ACT, at, scope=scope))
    return out


# --- engines ------------------------------------------------------------------------------------


@dataclass
class Run:
    latencies_ns: list[int]
    allowed: list[bool]

    def line(self, name: str) -> str:
        lat = sorted(self.latencies_ns)
        p50 = statistics.median(lat) / 1e6
        p99 = lat[math.ceil(len(lat) * 0.99) - 1] / 1e6  # nearest rank
        per_second = len(lat) / (sum(lat) / 1e9)
        return f"{name}: {per_second:,.0f} decisions/s, p50 {p50:.3f} ms, p99 {p99:.3f} ms"


def run_yunzhang(url: str, warmup: list[Question], timed: list[Question]) -> Run:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(env="development", data_dir=Path(data_dir), database_url=url)
        container = build_container(settings)
        try:
            container.require_current_schema()
            uow = container.uow

            def ask(q: Question) -> tuple[int, bool]:
                with uow(request_id="bench") as tx:
                    # The service's own first read, which also opens the transaction: not timed.
                    enterprise = tx.enterprises.get(q.enterprise)
                    assert enterprise is not None
                    resource = Resource(enterprise_id=enterprise.id, enterprise_name=enterprise.name,
                                        uscc=enterprise.uscc, scope=q.scope, seal_id=q.seal_id,
                                        business_system=q.system)
                    started = time.perf_counter_ns()
                    decision = decide(q.person, q.action, resource, q.at, tx=tx)
                    took = time.perf_counter_ns() - started
                return took, decision.allowed

            return measure(ask, warmup, timed)
        finally:
            container.engine.dispose()


CASBIN_MODEL = """
[request_definition]
r = sub, dom, obj, act, at

[policy_definition]
p = sub, dom, obj, act, start, end

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.act == p.act && covers(p.obj, r.obj) \
&& within(r.at, p.start, p.end)
"""
FOREVER = ("0000-00-00T00:00:00.000000", "9999-12-31T23:59:59.999999")


def covers(granted: str, wanted: str) -> bool:
    """yunzhang.domain.scopes.scope_covers, plus ``*`` for every scope and seal."""
    return granted == "*" or wanted == granted or wanted.startswith(granted + ".")


def within(at: str, start: str, end: str) -> bool:
    return start <= at < end


def casbin_policies(engine: Engine) -> tuple[list[list[str]], list[list[str]]]:
    """The policy and grouping lines, read from the same database yunzhang decides on."""
    policies: list[list[str]] = []
    groupings: list[list[str]] = []
    with engine.connect() as conn:
        for (eid,) in conn.execute(text("SELECT id FROM enterprises")):
            dom = str(eid)
            policies += [["role:legal_rep", dom, "*", Action.ACT.value, *FOREVER],
                         ["role:legal_rep", dom, "*", Action.USE_SEAL.value, *FOREVER],
                         ["role:admin", dom, "*", Action.ACT.value, *FOREVER]]
        for pid, eid, role in conn.execute(text(
                "SELECT person_id, enterprise_id, role FROM memberships "
                "WHERE status = 'active' AND role IN ('legal_rep', 'admin')")):
            groupings.append([str(pid), f"role:{role}", str(eid)])
        for pid, eid, kind, scopes, start, end in conn.execute(text(
                "SELECT grantee_id, enterprise_id, kind, scopes, starts_at, ends_at FROM grants "
                "WHERE status = 'active'")):
            for scope in (["*"] if kind == "all_business" else scopes):
                policies.append([str(pid), str(eid), scope, Action.ACT.value, stamp(start),
                                 stamp(end)])
        for pid, eid, seal, system, start, end in conn.execute(text(
                "SELECT grantee_id, enterprise_id, seal_id, business_system, starts_at, ends_at "
                "FROM seal_grants WHERE status = 'active'")):
            policies.append([str(pid), str(eid), f"seal:{seal}@{system}", Action.USE_SEAL.value,
                             stamp(start), stamp(end)])
    return policies, groupings


def run_casbin(engine: Engine, warmup: list[Question], timed: list[Question]) -> tuple[Run, int]:
    import logging

    import casbin
    from casbin.model import FastModel

    logging.getLogger("casbin").setLevel(logging.ERROR)
    policies, groupings = casbin_policies(engine)
    model = FastModel([1])  # policy lines indexed by domain (p.dom)
    model.load_model_from_text(CASBIN_MODEL)
    enforcer = casbin.FastEnforcer(model, cache_key_order=[1])
    enforcer.add_function("covers", covers)
    enforcer.add_function("within", within)
    enforcer.add_policies(policies)
    enforcer.add_grouping_policies(groupings)
    log(f"pycasbin: {len(policies):,} policy lines, {len(groupings):,} role links loaded")
    requests = {id(q): q.casbin() for q in [*warmup, *timed]}

    def ask(q: Question) -> tuple[int, bool]:
        request = requests[id(q)]
        started = time.perf_counter_ns()
        allowed = enforcer.enforce(*request)
        return time.perf_counter_ns() - started, bool(allowed)

    return measure(ask, warmup, timed), len(policies) + len(groupings)


def measure(ask: Callable[[Question], tuple[int, bool]], warmup: list[Question],
            timed: list[Question]) -> Run:
    for q in warmup:
        ask(q)
    gc.collect()
    gc.freeze()
    run = Run([], [])
    try:
        for q in timed:
            took, allowed = ask(q)
            run.latencies_ns.append(took)
            run.allowed.append(allowed)
    finally:
        gc.unfreeze()
    return run


# --- main ---------------------------------------------------------------------------------------


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new database on the server of ``admin_url``, dropped at the end whatever happens."""
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"yunzhang_bench_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield normalize_url(admin_url).rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            log(f"dropped database {name}")
    finally:
        admin.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=ADMIN_URL, help="PostgreSQL server (its admin database)")
    parser.add_argument("--enterprises", type=int, default=10_000)
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--seal-grants", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args(argv)
    if importlib.util.find_spec("casbin") is None:
        raise SystemExit("pycasbin is missing: install the bench extra, pip install -e '.[bench]'")

    rng = random.Random(args.seed)
    scopes = sorted(load_scope_tree(None).titles)
    with scratch_database(args.url) as url:
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            migrate.upgrade(engine)
            world = build_world(rng, enterprises=args.enterprises, grants=args.grants,
                                seal_grants=args.seal_grants, scopes=scopes)
            load(engine, world)
            sizes = {table: len(rows) for table, rows in world.rows.items()}
            log(f"seeded in {time.perf_counter() - started:.1f} s: {sizes}")
            warmup = questions(rng, world, scopes, args.warmup)
            timed = questions(rng, world, scopes, args.questions)
            del world

            ours = run_yunzhang(url, warmup, timed)
            log("yunzhang measured")
            theirs, rules = run_casbin(engine, warmup, timed)
        finally:
            engine.dispose()

    print(f"authz benchmark: {sizes['enterprises']:,} enterprises, {sizes['persons']:,} persons, "
          f"{sizes['memberships']:,} memberships, {sizes['grants']:,} grants, "
          f"{sizes['seal_grants']:,} seal grants ({rules:,} casbin rules); {len(timed):,} "
          f"questions after {len(warmup):,} warm-up, one thread, {os.cpu_count()} CPUs; {ANCHORS}")
    print(ours.line("yunzhang"))
    print(theirs.line("pycasbin"))
    agree = sum(a == b for a, b in zip(ours.allowed, theirs.allowed, strict=True))
    print(f"agreement: {agree:,}/{len(timed):,} questions (allowed by yunzhang: "
          f"{sum(ours.allowed):,}, by pycasbin: {sum(theirs.allowed):,})")
    for q, a, b in zip(timed, ours.allowed, theirs.allowed, strict=True):
        if a != b:
            log(f"DISAGREE yunzhang={a} pycasbin={b}: {q}")
    return 0 if agree == len(timed) else 1


if __name__ == "__main__":
    sys.exit(main())
