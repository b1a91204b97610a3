"""Token keys (JWS signing keys per purpose, rotated) and e-licenses; the license a login
scan session was confirmed with.

Revision ID: 0010_licenses
Revises: 0009_webhooks
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_licenses"
down_revision = "0009_webhooks"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "token_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS),
        sa.Column("published_until", TS),
    )
    op.create_index("ix_token_keys_purpose", "token_keys", ["purpose", "created_at"])
    op.create_table(
        "licenses",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("enterprise_id", sa.Uuid(), sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("membership_id", ID, sa.ForeignKey("memberships.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("device_id", sa.Uuid(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ended_at", TS),
    )
    op.create_index("ix_licenses_person", "licenses", ["person_id", "enterprise_id"])
    op.create_index("ix_licenses_device", "licenses", ["device_id"])
    with op.batch_alter_table("scan_sessions") as batch:
        batch.add_column(sa.Column("license_id", sa.Uuid()))


def downgrade() -> None:
    with op.batch_alter_table("scan_sessions") as batch:
        batch.drop_column("license_id")
    op.drop_index("ix_licenses_device", table_name="licenses")
    op.drop_index("ix_licenses_person", table_name="licenses")
    op.drop_table("licenses")
    op.drop_index("ix_token_keys_purpose", table_name="token_keys")
    op.drop_table("token_keys")
