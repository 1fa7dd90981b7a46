"""kyc: applications (personal data sealed) and the hash-chained audit log

Revision ID: 0006_kyc
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_kyc'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table('kyc_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', s(length=42), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', s(length=16), nullable=False),
    sa.Column('reason_code', s(length=32), nullable=True),
    sa.Column('reason', s(length=256), nullable=True),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.Integer(), nullable=True),
    sa.Column('document_type', s(length=16), nullable=False),
    sa.Column('frame_count', sa.Integer(), nullable=False),
    sa.Column('distance', sa.Float(), nullable=True),
    sa.Column('frame_distances', sa.JSON(), nullable=True),
    sa.Column('match', s(length=16), nullable=True),
    sa.Column('liveness_passed', sa.Boolean(), nullable=True),
    sa.Column('liveness', sa.JSON(), nullable=True),
    sa.Column('timings_ms', sa.JSON(), nullable=True),
    sa.Column('key_id', s(length=32), nullable=True),
    sa.Column('document_image', sa.LargeBinary(), nullable=True),
    sa.Column('document_image_type', s(length=16), nullable=True),
    sa.Column('selfie_image', sa.LargeBinary(), nullable=True),
    sa.Column('selfie_image_type', s(length=16), nullable=True),
    sa.Column('document_number', sa.LargeBinary(), nullable=True),
    sa.Column('document_sha256', s(length=64), nullable=False),
    sa.Column('selfie_sha256', s(length=64), nullable=True),
    sa.Column('document_number_sha256', s(length=64), nullable=False),
    sa.Column('salt', s(length=64), nullable=False),
    sa.Column('record_hash', s(length=66), nullable=True),
    sa.Column('erased_at', sa.Integer(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.Integer(), nullable=True),
    sa.Column('attest_tx', s(length=66), nullable=True),
    sa.Column('revoke_tx', s(length=66), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kyc_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kyc_application_account'), ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_kyc_application_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kyc_application_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_kyc_application_created_at'), ['created_at'], unique=False)

    op.create_table('kyc_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.Integer(), nullable=False),
    sa.Column('actor', s(length=128), nullable=False),
    sa.Column('action', s(length=32), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('account', s(length=42), nullable=True),
    sa.Column('record_hash', s(length=66), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', s(length=64), nullable=False),
    sa.Column('hash', s(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq', name='uq_kyc_audit_seq')
    )
    with op.batch_alter_table('kyc_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kyc_audit_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kyc_audit_account'), ['account'], unique=False)


def downgrade() -> None:
    op.drop_table('kyc_audit')
    op.drop_table('kyc_application')
