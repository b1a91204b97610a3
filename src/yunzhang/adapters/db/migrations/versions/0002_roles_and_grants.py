"""Roles and authorizations: memberships, role applications, business grants, seal grants.

Revision ID: 0002_roles_and_grants
Revises: 0001_foundation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_roles_and_grants"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _grant_columns() -> "list[sa.Column[object]]":
    return [
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.Uuid(), nullable=False),
        sa.Column("grantee_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("revoked_by", sa.Uuid()),
        sa.Column("revoke_reason", sa.String(500)),
    ]


def upgrade() -> None:
    with op.batch_alter_table("sms_codes") as batch:
        batch.add_column(sa.Column("subject", sa.String(64)))

    op.create_table(
        "memberships",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("granted_by", sa.Uuid()),
        sa.Column("ended_at", TS),
        sa.Column("end_reason", sa.String(16)),
        sa.Column("ended_by", sa.Uuid()),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name="fk_memberships_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name="fk_memberships_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
    )
    op.create_index("ix_memberships_person_enterprise", "memberships", ["person_id", "enterprise_id"])
    op.create_index("ix_memberships_enterprise_status", "memberships", ["enterprise_id", "status"])
    op.create_index("uq_memberships_active", "memberships", ["person_id", "enterprise_id"],
                    unique=True, sqlite_where=sa.text("status = 'active'"),
                    postgresql_where=sa.text("status = 'active'"))

    op.create_table(
        "role_applications",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.Uuid(), nullable=False),
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirm_by_legal_rep_sms", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Uuid()),
        sa.Column("decided_at", TS),
        sa.Column("decision_note", sa.String(500)),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name="fk_role_applications_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["applicant_id"], ["persons.id"],
                                name="fk_role_applications_applicant_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_role_applications"),
    )
    op.create_index("ix_role_applications_enterprise_status", "role_applications",
                    ["enterprise_id", "status"])
    op.create_index("ix_role_applications_applicant", "role_applications", ["applicant_id"])

    op.create_table(
        "grants",
        *_grant_columns(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name="fk_grants_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["grantee_id"], ["persons.id"], name="fk_grants_grantee_id_persons"),
    )
    op.create_index("ix_grants_grantee_enterprise", "grants", ["grantee_id", "enterprise_id"])
    op.create_index("ix_grants_enterprise", "grants", ["enterprise_id"])

    op.create_table(
        "seal_grants",
        *_grant_columns(),
        sa.Column("seal_id", sa.String(64), nullable=False),
        sa.Column("business_system", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name="fk_seal_grants_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["grantee_id"], ["persons.id"],
                                name="fk_seal_grants_grantee_id_persons"),
    )
    op.create_index("ix_seal_grants_grantee_seal", "seal_grants",
                    ["grantee_id", "enterprise_id", "seal_id", "business_system"])
    op.create_index("ix_seal_grants_enterprise", "seal_grants", ["enterprise_id"])


def downgrade() -> None:
    for table in ("seal_grants", "grants", "role_applications", "memberships"):
        op.drop_table(table)
    with op.batch_alter_table("sms_codes") as batch:
        batch.drop_column("subject")
