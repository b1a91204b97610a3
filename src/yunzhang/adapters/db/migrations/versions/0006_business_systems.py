"""Business systems (relying parties), their auto-stamp grants, and the record of stamps.

Revision ID: 0006_business_systems
Revises: 0005_pki_and_seals
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_business_systems"
down_revision = "0005_pki_and_seals"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "business_systems",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.UniqueConstraint("client_id", name="uq_business_systems_client_id"),
    )
    op.create_table(
        "auto_stamp_grants",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.Uuid(), sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("grantee_id", sa.Uuid(), sa.ForeignKey("business_systems.id"), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("revoked_by", sa.Uuid()),
        sa.Column("revoke_reason", sa.String(500)),
        sa.Column("seal_id", sa.String(64), nullable=False),
        sa.Column("business_system", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("max_count", sa.Integer()),
        sa.Column("used_count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_auto_stamp_grants_grantee_seal", "auto_stamp_grants",
                    ["grantee_id", "enterprise_id", "seal_id"])
    op.create_index("ix_auto_stamp_grants_enterprise", "auto_stamp_grants", ["enterprise_id"])
    op.create_table(
        "stamps",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("seal_id", sa.Uuid(), sa.ForeignKey("seals.id"), nullable=False),
        sa.Column("enterprise_id", sa.Uuid(), sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("business_system", sa.String(64), nullable=False),
        sa.Column("document_name", sa.String(200), nullable=False),
        sa.Column("sha256_in", sa.String(64), nullable=False),
        sa.Column("sha256_out", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("auto_stamp_grant_id", ID, sa.ForeignKey("auto_stamp_grants.id")),
        sa.Column("idempotency_key", sa.String(100)),
    )
    op.create_index("ix_stamps_system_key", "stamps", ["business_system", "idempotency_key"],
                    unique=True)
    op.create_index("ix_stamps_seal_id", "stamps", ["seal_id"])


def downgrade() -> None:
    op.drop_index("ix_stamps_seal_id", table_name="stamps")
    op.drop_index("ix_stamps_system_key", table_name="stamps")
    op.drop_table("stamps")
    op.drop_index("ix_auto_stamp_grants_enterprise", table_name="auto_stamp_grants")
    op.drop_index("ix_auto_stamp_grants_grantee_seal", table_name="auto_stamp_grants")
    op.drop_table("auto_stamp_grants")
    op.drop_table("business_systems")
