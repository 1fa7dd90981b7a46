"""market: buy ads (an ad's maker and side, an order's side)

Revision ID: 0014_buy_ads
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_buy_ads"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite renames and adds NOT NULL columns by copying the table.
    with op.batch_alter_table("ad") as batch:
        batch.drop_index("ix_ad_seller")
        batch.alter_column("seller", new_column_name="maker", existing_type=sa.String(42), existing_nullable=False)
        batch.add_column(sa.Column("side", sa.String(4), nullable=False, server_default="sell"))
        batch.create_index("ix_ad_side", ["side"], unique=False)
    # The renamed column is indexable only once its batch has run.
    op.create_index("ix_ad_maker", "ad", ["maker"], unique=False)
    with op.batch_alter_table("order") as batch:
        batch.add_column(sa.Column("side", sa.String(4), nullable=False, server_default="sell"))


def downgrade() -> None:
    with op.batch_alter_table("order") as batch:
        batch.drop_column("side")
    with op.batch_alter_table("ad") as batch:
        batch.drop_index("ix_ad_side")
        batch.drop_column("side")
        batch.drop_index("ix_ad_maker")
        batch.alter_column("maker", new_column_name="seller", existing_type=sa.String(42), existing_nullable=False)
    op.create_index("ix_ad_seller", "ad", ["seller"], unique=False)
