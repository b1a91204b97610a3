"""One account per identity: the resident-ID hash of persons becomes unique.

The service checks for another account with the same ID number before recording a verification,
but two verifications at the same time both pass that check; only the database can refuse the
second one.

Revision ID: 0003_unique_identity
Revises: 0002_roles_and_grants
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003_unique_identity"
down_revision = "0002_roles_and_grants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_persons_id_number_hmac", table_name="persons")
    op.create_index("ix_persons_id_number_hmac", "persons", ["id_number_hmac"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_persons_id_number_hmac", table_name="persons")
    op.create_index("ix_persons_id_number_hmac", "persons", ["id_number_hmac"])
