"""Stamp and sign requests, handwritten signatures, bindings; scan sessions carry them out.

Revision ID: 0008_signing_requests
Revises: 0007_scan_sessions
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_signing_requests"
down_revision = "0007_scan_sessions"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("scan_sessions") as batch:
        batch.add_column(sa.Column("subject", sa.String(400)))
        batch.add_column(sa.Column("request_step_id", sa.Uuid()))
        batch.add_column(sa.Column("binding_id", sa.Uuid()))
        batch.add_column(sa.Column("outcome", sa.String(500)))
    op.create_table(
        "signing_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("business_system", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("order", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(200)),
        sa.Column("reference", sa.String(100)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("completed_at", TS),
    )
    op.create_index("ix_signing_requests_system", "signing_requests",
                    ["business_system", "created_at"])
    op.create_table(
        "request_steps",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("signing_requests.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("placement", sa.JSON(), nullable=False),
        sa.Column("seal_id", sa.Uuid(), sa.ForeignKey("seals.id")),
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("persons.id")),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done_by", sa.Uuid()),
        sa.Column("done_at", TS),
    )
    op.create_index("ix_request_steps_request", "request_steps", ["request_id", "position"],
                    unique=True)
    op.create_table(
        "request_documents",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("signing_requests.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sha256_original", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_request_documents_request", "request_documents",
                    ["request_id", "position"], unique=True)
    op.create_table(
        "prepared_signatures",
        sa.Column("session_id", sa.String(64), sa.ForeignKey("scan_sessions.id"),
                  primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("prepared", sa.LargeBinary(), nullable=False),
        sa.Column("to_sign", sa.LargeBinary(), nullable=False),
        sa.Column("document_digest", sa.LargeBinary(), nullable=False),
        sa.Column("reserved_start", sa.Integer(), nullable=False),
        sa.Column("reserved_end", sa.Integer(), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
    )
    op.create_table(
        "signature_images",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("certificate_serial", sa.String(64), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("proof", sa.LargeBinary(), nullable=False),
        sa.Column("width_mm", sa.Float(), nullable=False),
        sa.Column("height_mm", sa.Float(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_signature_images_person", "signature_images", ["person_id", "created_at"])
    op.create_table(
        "bindings",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("business_system", sa.String(64), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("enterprise_id", sa.Uuid(), sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("seal_id", sa.Uuid(), sa.ForeignKey("seals.id")),
        sa.Column("scope", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("bound_by", sa.Uuid()),
        sa.Column("bound_at", TS),
        sa.Column("removed_by", sa.Uuid()),
        sa.Column("removed_at", TS),
    )
    op.create_index("ix_bindings_system_account", "bindings", ["business_system", "account"])


def downgrade() -> None:
    op.drop_index("ix_bindings_system_account", table_name="bindings")
    op.drop_table("bindings")
    op.drop_index("ix_signature_images_person", table_name="signature_images")
    op.drop_table("signature_images")
    op.drop_table("prepared_signatures")
    op.drop_index("ix_request_documents_request", table_name="request_documents")
    op.drop_table("request_documents")
    op.drop_index("ix_request_steps_request", table_name="request_steps")
    op.drop_table("request_steps")
    op.drop_index("ix_signing_requests_system", table_name="signing_requests")
    op.drop_table("signing_requests")
    with op.batch_alter_table("scan_sessions") as batch:
        for column in ("outcome", "binding_id", "request_step_id", "subject"):
            batch.drop_column(column)
