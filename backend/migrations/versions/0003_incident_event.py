"""chain: an incident may name the event it concerns (projection gaps)

Revision ID: 0003_incident_event
Revises: 0001_core
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_incident_event"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chain_incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tx_hash", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True))
        batch_op.add_column(sa.Column("log_index", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chain_incident", schema=None) as batch_op:
        batch_op.drop_column("log_index")
        batch_op.drop_column("tx_hash")
