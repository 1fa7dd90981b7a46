"""Authorities, nodes and proposals as NodeRegistry records them."""

from sqlalchemy import JSON, BigInteger, Column
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


# ---------------------------------------------------------- admission (off chain)


class NodeChallenge(SQLModel, table=True):
    """A challenge one authority key gave one candidate: single use, with a deadline."""

    __tablename__ = "node_challenge"
    id: str = Field(primary_key=True, max_length=32)
    candidate: str = Field(max_length=42, index=True)
    authority: str = Field(max_length=42)
    nonce: str = Field(max_length=66)
    packets: list = Field(sa_column=Column(JSON, nullable=False))
    difficulty_bits: int
    digest: str = Field(max_length=66)
    issued_ms: int = Field(sa_type=BigInteger)
    deadline_ms: int = Field(sa_type=BigInteger)
    answered_ms: int | None = Field(default=None, sa_type=BigInteger)


class NodeAdmission(SQLModel, table=True):
    """Every admission decision an authority key made, accepted or refused, with the reason."""

    __tablename__ = "node_admission"
    id: int | None = Field(default=None, primary_key=True)
    candidate: str = Field(max_length=42, index=True)
    authority: str | None = Field(default=None, max_length=42)
    challenge_id: str | None = Field(default=None, max_length=32)
    outcome: str = Field(max_length=16)  # "accepted" | "refused"
    # "passed" or the check that failed: "deadline", "results", "replay", "signature",
    # "hardware", "revoked", "unknown_challenge", "chain"
    check: str = Field(max_length=32)
    reason: str = Field(max_length=512)
    elapsed_ms: int | None = Field(default=None, sa_type=BigInteger)
    endpoint: str | None = Field(default=None, max_length=256)
    hardware: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    report_hash: str | None = Field(default=None, max_length=66)
    challenge_digest: str | None = Field(default=None, max_length=66)
    proposal_id: int | None = None
    approvals: int | None = None
    quorum: int | None = None
    tx_hash: str | None = Field(default=None, max_length=66)
    created_ms: int = Field(sa_type=BigInteger)


class NodeHeartbeat(SQLModel, table=True):
    """The last signed heartbeat of each node; the relay routes to the freshest."""

    __tablename__ = "node_heartbeat"
    address: str = Field(primary_key=True, max_length=42)
    endpoint: str = Field(max_length=256)
    # The node's clock: it must grow, so a captured heartbeat cannot be replayed.
    sent_ms: int = Field(sa_type=BigInteger)
    received_ms: int = Field(index=True, sa_type=BigInteger)
    hardware: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    relayed: int = 0
    # The platform could not reach it after this heartbeat: not routed to until the next.
    failed_ms: int | None = Field(default=None, sa_type=BigInteger)
