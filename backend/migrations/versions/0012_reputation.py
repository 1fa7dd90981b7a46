"""reputation: feedback each party of an ended order leaves once, signed by their wallet

Revision ID: 0012_reputation
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012_reputation'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('author', s(length=42), nullable=False),
    sa.Column('subject', s(length=42), nullable=False),
    sa.Column('author_role', s(length=8), nullable=False),
    sa.Column('positive', sa.Boolean(), nullable=False),
    sa.Column('comment', s(length=280), nullable=False),
    sa.Column('signature', s(length=132), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'author', name='uq_feedback_order_author')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_author'), ['author'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_subject'), ['subject'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_subject'))
        batch_op.drop_index(batch_op.f('ix_feedback_order_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_feedback_author'))

    op.drop_table('feedback')
