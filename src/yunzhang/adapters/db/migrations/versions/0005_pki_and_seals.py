"""PKI and seals: certificates, authorities, platform staff,
seal types (with the five built-in ones), seals and their molds.

Revision ID: 0005_pki_and_seals
Revises: 0004_decision_facts
Create Date: 2026-11-22
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005_pki_and_seals"
down_revision = "0004_decision_facts"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

BUILTIN_TYPES: "tuple[tuple[str, str, str, list[str], bool], ...]" = (
    ("official", "公章", "round", [], True),
    ("contract", "合同专用章", "round", [], False),
    ("finance", "财务专用章", "oval", [], False),
    ("invoice", "发票专用章", "oval", [], False),
    ("legal_rep_name", "法定代表人名章", "square",
     ["company", "farmers_cooperative", "social_organization"], False),
)


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("serial", sa.String(42), nullable=False),
        sa.Column("issuer", sa.String(16), nullable=False),
        sa.Column("profile", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(600), nullable=False),
        sa.Column("subject_ref", sa.String(80), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("not_after", TS, nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("key_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("revocation_reason", sa.String(32)),
    )
    op.create_index("ix_certificates_issuer_serial", "certificates", ["issuer", "serial"], unique=True)
    op.create_index("ix_certificates_subject_ref", "certificates", ["subject_ref"])

    op.create_table(
        "authorities",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("certificate_id", sa.Uuid(), sa.ForeignKey("certificates.id"), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.Column("crl_der", sa.LargeBinary()),
        sa.Column("crl_next_update", TS),
    )

    op.create_table(
        "staff_roles",
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("persons.id"), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("granted_by", sa.String(80), nullable=False),
    )

    seal_types = op.create_table(
        "seal_types",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("shape", sa.String(16), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("filing_required", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    created = datetime(2026, 11, 22, tzinfo=UTC)
    op.bulk_insert(seal_types, [
        {"code": code, "name": name, "shape": shape, "kinds": kinds, "filing_required": filing,
         "builtin": True, "created_at": created}
        for code, name, shape, kinds, filing in BUILTIN_TYPES
    ])

    op.create_table(
        "seals",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("enterprise_id", sa.Uuid(), sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type_code", sa.String(32), sa.ForeignKey("seal_types.code"), nullable=False),
        sa.Column("applied_by", sa.Uuid(), nullable=False),
        sa.Column("applied_at", TS, nullable=False),
        sa.Column("filing_number", sa.String(32)),
        sa.Column("seal_code", sa.String(13)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.Uuid()),
        sa.Column("reviewed_at", TS),
        sa.Column("claimed_by", sa.Uuid()),
        sa.Column("claimed_at", TS),
        sa.Column("key_id", sa.String(64)),
        sa.Column("certificate_id", sa.Uuid(), sa.ForeignKey("certificates.id")),
        sa.Column("status_reason", sa.String(500)),
        sa.Column("updated_at", TS),
    )
    op.create_index("ix_seals_enterprise_id", "seals", ["enterprise_id"])
    op.create_index("ix_seals_status", "seals", ["status"])

    op.create_table(
        "seal_images",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("seal_id", sa.Uuid(), sa.ForeignKey("seals.id"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("shape", sa.String(16), nullable=False),
        sa.Column("width_mm", sa.Float(), nullable=False),
        sa.Column("height_mm", sa.Float(), nullable=False),
        sa.Column("colour", sa.String(16), nullable=False),
        sa.Column("width_px", sa.Integer(), nullable=False),
        sa.Column("height_px", sa.Integer(), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.Uuid()),
        sa.Column("reviewed_at", TS),
        sa.Column("review_note", sa.String(500)),
    )
    op.create_index("ix_seal_images_seal_id", "seal_images", ["seal_id"])


def downgrade() -> None:
    for index, table in (("ix_seal_images_seal_id", "seal_images"), ("ix_seals_status", "seals"),
                         ("ix_seals_enterprise_id", "seals")):
        op.drop_index(index, table_name=table)
    for table in ("seal_images", "seals", "seal_types", "staff_roles", "authorities"):
        op.drop_table(table)
    op.drop_index("ix_certificates_subject_ref", table_name="certificates")
    op.drop_index("ix_certificates_issuer_serial", table_name="certificates")
    op.drop_table("certificates")
