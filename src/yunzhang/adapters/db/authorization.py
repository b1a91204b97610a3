"""Reading the facts of one authorization decision (the actor's active membership and grants) in
one round trip: a call of a SQL function on PostgreSQL (migration 0004 says why), a join on SQLite.

The objects returned are fresh copies for the decision to read, not the session's tracked ones.
Every call reads the current rows of the caller's transaction: nothing is cached.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, Select, Table, Uuid, and_, bindparam, select
from sqlalchemy.exc import DBAPIError

from yunzhang.adapters.db import tables
from yunzhang.adapters.db.types import EnumText, UtcDateTime
from yunzhang.domain.grants import Grant, GrantKind, SealGrant
from yunzhang.domain.roles import Membership, MembershipStatus
from yunzhang.domain.scopes import scope_covers

G = TypeVar("G", Grant, SealGrant)
Loaded = tuple[Membership | None, list[G]]

_PERSON = bindparam("person_id", type_=Uuid())
_ENTERPRISE = bindparam("enterprise_id", type_=Uuid())
_ENDING_AFTER = bindparam("ending_after", type_=UtcDateTime())
_SEAL = bindparam("seal_id", type_=tables.seal_grants.c.seal_id.type)
_SYSTEM = bindparam("business_system", type_=tables.seal_grants.c.business_system.type)

# PostgreSQL: the functions of migration 0004, one JSON document (or NULL) per call.
_ACT_CALL = "SELECT yunzhang_act_facts(%s::uuid, %s::uuid, %s::timestamptz)"
_SEAL_CALL = ("SELECT yunzhang_seal_facts(%s::uuid, %s::uuid, %s::varchar, %s::varchar, "
              "%s::timestamptz)")


def _joined(grant_table: Table, *also: Any) -> Select[Any]:
    """SQLite: the active membership (or no row) with the grants ending after ``ending_after``."""
    m, g = tables.memberships.c, grant_table.c
    mine = and_(g.grantee_id == m.person_id, g.enterprise_id == m.enterprise_id,
                g.ends_at > _ENDING_AFTER, *also)
    return (select(*tables.memberships.c, *grant_table.c)
            .select_from(tables.memberships.outerjoin(grant_table, mine))
            .where(m.person_id == _PERSON, m.enterprise_id == _ENTERPRISE,
                   m.status == MembershipStatus.ACTIVE)
            .order_by(g.id))


_ACT_JOIN = _joined(tables.grants)
_SEAL_JOIN = _joined(tables.seal_grants, tables.seal_grants.c.seal_id == _SEAL,
                     tables.seal_grants.c.business_system == _SYSTEM)


def act_facts(conn: Connection, person_id: uuid.UUID, enterprise_id: uuid.UUID, *, scope: str,
              ending_after: datetime) -> Loaded[Grant]:
    keep = may_cover(scope)
    if conn.dialect.name == "postgresql":
        document = _call(conn, _ACT_CALL, (person_id, enterprise_id, _aware(ending_after)))
        return _from_document(document, Grant, _GRANT, keep, (person_id, enterprise_id))
    params = {"person_id": person_id, "enterprise_id": enterprise_id, "ending_after": ending_after}
    return _from_rows(conn.execute(_ACT_JOIN, params).all(), Grant, tables.grants, keep)


def seal_facts(conn: Connection, person_id: uuid.UUID, enterprise_id: uuid.UUID, seal_id: str,
               business_system: str, *, ending_after: datetime) -> Loaded[SealGrant]:
    if conn.dialect.name == "postgresql":
        document = _call(conn, _SEAL_CALL, (person_id, enterprise_id, seal_id, business_system,
                                            _aware(ending_after)))
        return _from_document(document, SealGrant, _SEAL_GRANT, _keep_all,
                              (person_id, enterprise_id))
    params = {"person_id": person_id, "enterprise_id": enterprise_id, "seal_id": seal_id,
              "business_system": business_system, "ending_after": ending_after}
    return _from_rows(conn.execute(_SEAL_JOIN, params).all(), SealGrant, tables.seal_grants,
                      _keep_all)


def _call(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    """Call a database function through the driver's cursor, in the connection's transaction.

    This is SQLAlchemy's documented way to call stored functions; for a call that returns one
    value it also skips the statement and result machinery, about a quarter of the decision's
    time in benchmarks/authz.py. Driver errors are wrapped as SQLAlchemy wraps them, so the
    unit of work translates them as any other."""
    if not conn.in_transaction():
        conn.begin()  # as Connection.execute would: the caller's commit or rollback ends it
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    except dbapi.Error as err:
        raise DBAPIError.instance(sql, params, err, dbapi.Error, dialect=conn.dialect) from err
    finally:
        cursor.close()
    return None if row is None else row[0]


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:  # as UtcDateTime refuses it for the columns
        raise ValueError("naive datetime given to a UTC column")
    return at


# --- rows and documents to domain objects ---------------------------------------------------------

T = TypeVar("T", Membership, Grant, SealGrant)


def _copy(cls: type[T], fields: dict[str, Any]) -> T:
    """A read-only copy: an instance of the mapped domain class holding ``fields``, built without
    the ORM's instrumented ``__init__``, which records every attribute as a change to flush
    (several times what the rest of reading a decision's rows costs). SQLAlchemy reads an
    attribute found in the instance's ``__dict__`` directly, as it does for loaded objects;
    setting one or adding the copy to a session fails, which suits what the decision needs."""
    copy = cls.__new__(cls)
    copy.__dict__.update(fields)
    return copy


def _check_fields_are_columns(cls: type[Any], table: Table) -> None:
    # Every dataclass field must come from a column, or a copy would miss it.
    missing = {f.name for f in dataclasses.fields(cls)} - set(table.c.keys())
    if missing:
        raise TypeError(f"{cls.__name__} fields without a column in {table.name}: {missing}")


_check_fields_are_columns(Membership, tables.memberships)
_check_fields_are_columns(Grant, tables.grants)
_check_fields_are_columns(SealGrant, tables.seal_grants)

Keep = Callable[[Mapping[str, Any]], bool]


def may_cover(scope: str) -> Keep:
    """Whether a business grant's fields may cover ``scope``. It passes every grant that covers
    it (``Grant.covers`` still decides) and skips copying the precise grants for other scopes."""
    def keep(fields: Mapping[str, Any]) -> bool:
        return (fields["kind"] != GrantKind.PRECISE
                or any(scope_covers(granted, scope) for granted in fields["scopes"]))
    return keep


def _keep_all(fields: Mapping[str, Any]) -> bool:
    return True


def _from_rows(rows: Sequence[Row[Any]], cls: type[G], table: Table, keep: Keep) -> Loaded[G]:
    # The mapped tables' column keys are the dataclasses' field names (see tables.map_domain).
    if not rows:
        return None, []
    n = len(tables.memberships.c)
    membership = _copy(Membership, dict(zip(tables.memberships.c.keys(), rows[0][:n], strict=True)))
    keys = table.c.keys()
    found = (dict(zip(keys, row[n:], strict=True)) for row in rows if row[n] is not None)
    return membership, [_copy(cls, fields) for fields in found if keep(fields)]


Converters = tuple[tuple[str, Callable[[Any], Any] | None], ...]


def _timestamp(value: str) -> datetime:
    # to_json writes ISO 8601 with the session's UTC offset; UtcDateTime hands out UTC.
    return datetime.fromisoformat(value).astimezone(UTC)


def _converters(table: Table) -> Converters:
    """How to turn each JSON value of a row of ``table`` into what the column type gives."""
    found: list[tuple[str, Callable[[Any], Any] | None]] = []
    for column in table.c:
        kind = column.type
        convert: Callable[[Any], Any] | None = None
        if isinstance(kind, UtcDateTime):
            convert = _timestamp
        elif isinstance(kind, Uuid):
            convert = uuid.UUID
        elif isinstance(kind, EnumText):
            convert = kind.enum_cls
        found.append((column.key, convert))
    return tuple(found)


_MEMBERSHIP = _converters(tables.memberships)
_GRANT = _converters(tables.grants)
_SEAL_GRANT = _converters(tables.seal_grants)


def _fields(row: Mapping[str, Any], converters: Converters,
            known: Mapping[str, uuid.UUID]) -> dict[str, Any]:
    fields = {}
    for key, convert in converters:
        value = row[key]
        if value is None or convert is None:
            fields[key] = value
        elif convert is uuid.UUID and value in known:
            fields[key] = known[value]  # the person's and enterprise's ids recur: reuse them
        else:
            fields[key] = convert(value)
    return fields


def _from_document(document: Any, cls: type[G], converters: Converters, keep: Keep,
                   known: Sequence[uuid.UUID]) -> Loaded[G]:
    if document is None:
        return None, []
    ids = {str(value): value for value in known}
    membership = _copy(Membership, _fields(document["membership"], _MEMBERSHIP, ids))
    return membership, [_copy(cls, _fields(row, converters, ids))
                        for row in document["grants"] if keep(row)]
