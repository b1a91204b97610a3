"""OpenID Connect provider: authorizations (a login from its QR code to its tokens) and consents.

Revision ID: 0011_oidc
Revises: 0010_licenses
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_oidc"
down_revision = "0010_licenses"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oidc_authorizations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("state", sa.String(512)),
        sa.Column("nonce", sa.String(255)),
        sa.Column("force_consent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("person_id", sa.Uuid()),
        sa.Column("license_id", sa.Uuid()),
        sa.Column("enterprise_id", sa.Uuid()),
        sa.Column("uscc", sa.String(18)),
        sa.Column("enterprise_name", sa.String(200)),
        sa.Column("role", sa.String(16)),
        sa.Column("auth_time", TS),
        sa.Column("code_hash", sa.String(64)),
        sa.Column("code_expires_at", TS),
        sa.Column("access_hash", sa.String(64)),
        sa.Column("access_expires_at", TS),
        sa.Column("refresh_hash", sa.String(64)),
        sa.Column("previous_refresh_hash", sa.String(64)),
        sa.Column("refresh_expires_at", TS),
        sa.Column("redeemed_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_index("ix_oidc_authorizations_code_hash", "oidc_authorizations", ["code_hash"],
                    unique=True)
    op.create_index("ix_oidc_authorizations_access_hash", "oidc_authorizations",
                    ["access_hash"], unique=True)
    op.create_index("ix_oidc_authorizations_refresh_hash", "oidc_authorizations",
                    ["refresh_hash"], unique=True)
    op.create_index("ix_oidc_authorizations_previous_refresh_hash", "oidc_authorizations",
                    ["previous_refresh_hash"])
    op.create_index("ix_oidc_authorizations_person", "oidc_authorizations",
                    ["person_id", "client_id"])
    op.create_table(
        "oidc_consents",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.Uuid()),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("withdrawn_at", TS),
    )
    op.create_index("ix_oidc_consents_person", "oidc_consents", ["person_id", "client_id"])


def downgrade() -> None:
    op.drop_index("ix_oidc_consents_person", table_name="oidc_consents")
    op.drop_table("oidc_consents")
    op.drop_index("ix_oidc_authorizations_person", table_name="oidc_authorizations")
    op.drop_index("ix_oidc_authorizations_previous_refresh_hash",
                  table_name="oidc_authorizations")
    op.drop_index("ix_oidc_authorizations_refresh_hash", table_name="oidc_authorizations")
    op.drop_index("ix_oidc_authorizations_access_hash", table_name="oidc_authorizations")
    op.drop_index("ix_oidc_authorizations_code_hash", table_name="oidc_authorizations")
    op.drop_table("oidc_authorizations")
