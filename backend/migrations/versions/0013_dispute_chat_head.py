"""market: the order's chat head when its dispute was indexed (what answers a dispute)

Revision ID: 0013_dispute_chat_head
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_dispute_chat_head"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order") as batch:
        batch.add_column(sa.Column("dispute_chat_head", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order") as batch:
        batch.drop_column("dispute_chat_head")
