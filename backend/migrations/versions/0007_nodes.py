"""nodes: admission challenges, decisions with their reasons, node heartbeats

Revision ID: 0007_nodes
Revises: 0001_core
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_nodes"
down_revision = "0001_core"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "node_challenge",
        sa.Column("id", _str(length=32), nullable=False),
        sa.Column("candidate", _str(length=42), nullable=False),
        sa.Column("authority", _str(length=42), nullable=False),
        sa.Column("nonce", _str(length=66), nullable=False),
        sa.Column("packets", sa.JSON(), nullable=False),
        sa.Column("difficulty_bits", sa.Integer(), nullable=False),
        sa.Column("digest", _str(length=66), nullable=False),
        sa.Column("issued_ms", sa.BigInteger(), nullable=False),
        sa.Column("deadline_ms", sa.BigInteger(), nullable=False),
        sa.Column("answered_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_node_challenge_candidate", "node_challenge", ["candidate"])
    op.create_table(
        "node_admission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate", _str(length=42), nullable=False),
        sa.Column("authority", _str(length=42), nullable=True),
        sa.Column("challenge_id", _str(length=32), nullable=True),
        sa.Column("outcome", _str(length=16), nullable=False),
        sa.Column("check", _str(length=32), nullable=False),
        sa.Column("reason", _str(length=512), nullable=False),
        sa.Column("elapsed_ms", sa.BigInteger(), nullable=True),
        sa.Column("endpoint", _str(length=256), nullable=True),
        sa.Column("hardware", sa.JSON(), nullable=True),
        sa.Column("report_hash", _str(length=66), nullable=True),
        sa.Column("challenge_digest", _str(length=66), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("approvals", sa.Integer(), nullable=True),
        sa.Column("quorum", sa.Integer(), nullable=True),
        sa.Column("tx_hash", _str(length=66), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_node_admission_candidate", "node_admission", ["candidate"])
    op.create_table(
        "node_heartbeat",
        sa.Column("address", _str(length=42), nullable=False),
        sa.Column("endpoint", _str(length=256), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("hardware", sa.JSON(), nullable=True),
        sa.Column("relayed", sa.Integer(), nullable=False),
        sa.Column("failed_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_index("ix_node_heartbeat_received_ms", "node_heartbeat", ["received_ms"])


def downgrade() -> None:
    op.drop_index("ix_node_heartbeat_received_ms", table_name="node_heartbeat")
    op.drop_table("node_heartbeat")
    op.drop_index("ix_node_admission_candidate", table_name="node_admission")
    op.drop_table("node_admission")
    op.drop_index("ix_node_challenge_candidate", table_name="node_challenge")
    op.drop_table("node_challenge")
