"""market: payouts a token refused, credited in the escrow until withdrawn

Revision ID: 0011_credits
Revises: 0001_core
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.columns

revision = "0011_credits"
down_revision = "0001_core"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "escrow_credit",
        sa.Column("account", _str(length=42), nullable=False),
        sa.Column("token", _str(length=42), nullable=False),
        sa.Column("amount", backend.columns.Uint256(length=78), nullable=False),
        sa.Column("last_order_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account", "token"),
    )


def downgrade() -> None:
    op.drop_table("escrow_credit")
