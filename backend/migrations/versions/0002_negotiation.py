"""negotiation: hash-chained chat messages per order

Revision ID: 0002_negotiation
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002_negotiation'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'seq', name='uq_chat_message_order_seq')
    )
    with op.batch_alter_table('chat_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_message_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_message_order_id'))

    op.drop_table('chat_message')
