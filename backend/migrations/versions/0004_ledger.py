"""ledger: accounts and immutable transfers (double entry, after TigerBeetle)

Revision ID: 0004_ledger
Revises: 0001_core
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_ledger"
down_revision = "0001_core"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "ledger_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", _str(length=64), nullable=False),
        sa.Column("currency", _str(length=3), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner", "currency", name="uq_ledger_account_owner_currency"),
    )
    op.create_index("ix_ledger_account_owner", "ledger_account", ["owner"])
    op.create_index("ix_ledger_account_currency", "ledger_account", ["currency"])
    op.create_table(
        "ledger_transfer",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", _str(length=128), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), sa.ForeignKey("ledger_account.id"), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), sa.ForeignKey("ledger_account.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", _str(length=3), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("pending_id", _str(length=128), nullable=True),
        sa.Column("expires_at", sa.Integer(), nullable=True),
        sa.Column("code", _str(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("reference", _str(length=66), nullable=True),
        sa.Column("event_tx", _str(length=66), nullable=True),
        sa.Column("event_log", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("uq_ledger_transfer_pending_id", "ledger_transfer", ["pending_id"], unique=True)
    op.create_index("ix_ledger_transfer_debit", "ledger_transfer", ["debit_account_id", "seq"])
    op.create_index("ix_ledger_transfer_credit", "ledger_transfer", ["credit_account_id", "seq"])
    op.create_index("ix_ledger_transfer_expires_at", "ledger_transfer", ["expires_at"])
    op.create_index("ix_ledger_transfer_order_id", "ledger_transfer", ["order_id"])
    op.create_index("ix_ledger_transfer_reference", "ledger_transfer", ["reference"])


def downgrade() -> None:
    op.drop_table("ledger_transfer")
    op.drop_table("ledger_account")
