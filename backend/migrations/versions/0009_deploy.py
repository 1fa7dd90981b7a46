"""chain: how many of the desk's logs each indexed block carried (a refused one lost them)

Revision ID: 0009_deploy
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_deploy"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indexed_block", schema=None) as batch_op:
        batch_op.add_column(sa.Column("desk_logs", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("indexed_block", schema=None) as batch_op:
        batch_op.drop_column("desk_logs")
