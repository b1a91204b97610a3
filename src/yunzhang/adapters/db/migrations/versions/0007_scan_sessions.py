"""Wallet devices and scan sessions.

Revision ID: 0007_scan_sessions
Revises: 0006_business_systems
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_scan_sessions"
down_revision = "0006_business_systems"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_index("ix_devices_person_id", "devices", ["person_id"])
    op.create_table(
        "scan_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("business_system", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(200)),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("binding_code", sa.String(8)),
        sa.Column("poll_hash", sa.String(64), nullable=False),
        sa.Column("requester_ip", sa.String(64)),
        sa.Column("requester_agent", sa.String(300)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("device_id", sa.Uuid(), sa.ForeignKey("devices.id")),
        sa.Column("person_id", sa.Uuid()),
        sa.Column("scanned_at", TS),
        sa.Column("decided_at", TS),
    )
    op.create_index("ix_scan_sessions_expires_at", "scan_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_scan_sessions_expires_at", table_name="scan_sessions")
    op.drop_table("scan_sessions")
    op.drop_index("ix_devices_person_id", table_name="devices")
    op.drop_table("devices")
