"""push: chain_event ids are never reused on SQLite (AUTOINCREMENT), so followers tailing
the table by id see the events a reorg re-ingests

Revision ID: 0008_push
Revises: 0001_core
"""

from alembic import op

revision = "0008_push"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL sequences never hand an id out twice already.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("chain_event", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("chain_event", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
