"""Webhooks of business systems: URL, sealed signing secret, deliveries.

Revision ID: 0009_webhooks
Revises: 0008_signing_requests
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_webhooks"
down_revision = "0008_signing_requests"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("business_systems") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(500)))
        batch.add_column(sa.Column("webhook_secret", sa.String(200)))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("business_system", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(300)),
        sa.Column("delivered_at", TS),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries",
                    ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_system", "webhook_deliveries",
                    ["business_system", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_system", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("business_systems") as batch:
        batch.drop_column("webhook_secret")
        batch.drop_column("webhook_url")
