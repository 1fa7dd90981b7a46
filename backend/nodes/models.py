"""Authorities, nodes and proposals as NodeRegistry records them."""

from sqlmodel import Field, SQLModel


class Authority(SQLModel, table=True):
    __tablename__ = "authority"
    address: str = Field(primary_key=True, max_length=42)
    active: bool = True
    since_block: int


class NodeRecord(SQLModel, table=True):
    __tablename__ = "node_record"
    address: str = Field(primary_key=True, max_length=42)
    endpoint: str = Field(max_length=256)
    hardware_hash: str = Field(max_length=66)
    challenge_digest: str = Field(max_length=66)
    active: bool = True
    admitted_block: int
    revoked_reason: str | None = Field(default=None, max_length=128)


class NodeProposal(SQLModel, table=True):
    __tablename__ = "node_proposal"
    id: int = Field(primary_key=True)
    kind: int
    subject: str = Field(max_length=42, index=True)
    proposer: str = Field(max_length=42)
    epoch: int
    approvals: int = 0
    quorum: int | None = None
    created_block: int
