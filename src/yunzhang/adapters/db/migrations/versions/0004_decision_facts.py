"""Decision facts in one call: the SQL functions behind ``memberships.active_with_grants`` and
``memberships.active_with_seal_grants`` on PostgreSQL (SQLite reads the same facts with a join).

Every authorization decision reads the actor's active membership and grants afresh. As plain SQL
that is one statement, but psycopg drops its prepared statements whenever a transaction rolls back
(every read-only request ends that way), so PostgreSQL would parse and plan the join again for every
decision, and planning costs several times the indexed lookups themselves. A PL/pgSQL function
keeps its plans for the life of the connection; the call returns one JSON document:
``{"membership": <row>, "grants": [<row>, ...]}`` with the grants in id order, or NULL without an
active membership. The rows are whole table rows (``to_json``), so a column added later reaches the
domain objects without changing these functions.

Revision ID: 0004_decision_facts
Revises: 0003_unique_identity
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004_decision_facts"
down_revision = "0003_unique_identity"
branch_labels = None
depends_on = None

ACT_FACTS = """
CREATE FUNCTION yunzhang_act_facts(p_person uuid, p_enterprise uuid, p_ending_after timestamptz)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    facts json;
BEGIN
    SELECT json_build_object('membership', to_json(m), 'grants', coalesce(
               (SELECT json_agg(g ORDER BY g.id) FROM grants AS g
                 WHERE g.grantee_id = p_person AND g.enterprise_id = p_enterprise
                   AND g.ends_at > p_ending_after),
               '[]'::json))
      INTO facts
      FROM memberships AS m
     WHERE m.person_id = p_person AND m.enterprise_id = p_enterprise AND m.status = 'active';
    RETURN facts;
END
$$
"""

SEAL_FACTS = """
CREATE FUNCTION yunzhang_seal_facts(p_person uuid, p_enterprise uuid, p_seal_id varchar,
                                    p_business_system varchar, p_ending_after timestamptz)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    facts json;
BEGIN
    SELECT json_build_object('membership', to_json(m), 'grants', coalesce(
               (SELECT json_agg(g ORDER BY g.id) FROM seal_grants AS g
                 WHERE g.grantee_id = p_person AND g.enterprise_id = p_enterprise
                   AND g.seal_id = p_seal_id AND g.business_system = p_business_system
                   AND g.ends_at > p_ending_after),
               '[]'::json))
      INTO facts
      FROM memberships AS m
     WHERE m.person_id = p_person AND m.enterprise_id = p_enterprise AND m.status = 'active';
    RETURN facts;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(ACT_FACTS)
    op.execute(SEAL_FACTS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION yunzhang_seal_facts(uuid, uuid, varchar, varchar, timestamptz)")
    op.execute("DROP FUNCTION yunzhang_act_facts(uuid, uuid, timestamptz)")
