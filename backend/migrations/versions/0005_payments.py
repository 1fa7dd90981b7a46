"""payments: sealed payment details, terms documents, proofs of payment

Revision ID: 0005_payments
Revises: 0001_core
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_payments"
down_revision = "0001_core"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "payment_detail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", _str(length=42), nullable=False),
        sa.Column("method", sa.Integer(), nullable=False),
        sa.Column("label", _str(length=64), nullable=False),
        sa.Column("key_id", _str(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("commitment", _str(length=66), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_detail_owner", "payment_detail", ["owner"])
    op.create_index("ix_payment_detail_commitment", "payment_detail", ["commitment"])
    op.create_table(
        "terms_document",
        sa.Column("terms_hash", _str(length=66), nullable=False),
        sa.Column("owner", _str(length=42), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("detail_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("terms_hash"),
    )
    op.create_index("ix_terms_document_owner", "terms_document", ["owner"])
    op.create_table(
        "payment_proof",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("buyer", _str(length=42), nullable=False),
        sa.Column("key_id", _str(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_file", sa.LargeBinary(), nullable=True),
        sa.Column("mime", _str(length=32), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("file_sha256", _str(length=64), nullable=True),
        sa.Column("record_hash", _str(length=66), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_proof_order_id", "payment_proof", ["order_id"])
    op.create_index("ix_payment_proof_record_hash", "payment_proof", ["record_hash"])


def downgrade() -> None:
    op.drop_table("payment_proof")
    op.drop_table("terms_document")
    op.drop_table("payment_detail")
