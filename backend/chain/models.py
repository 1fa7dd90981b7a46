"""What the indexer stores: the blocks it looked at and the raw events it ingested."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class IndexedBlock(SQLModel, table=True):
    """Every block the indexer has passed, accepted or refused; the checkpoint is the highest."""

    __tablename__ = "indexed_block"
    number: int = Field(primary_key=True)
    hash: str = Field(max_length=66)
    parent_hash: str = Field(max_length=66)
    producer: str = Field(max_length=42, index=True)
    timestamp: int
    accepted: bool = True
    reason: str | None = None
    # How many of the desk's logs the block carried: a refused block with some lost them.
    desk_logs: int = 0


class ChainEvent(SQLModel, table=True):
    """A decoded log of one of the project's contracts, from an accepted block."""

    __tablename__ = "chain_event"
    # AUTOINCREMENT (SQLite): ids freed by a reorg's delete are never reused, so the push
    # follower (backend/push.py), which tails this table by id, never skips a new event.
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_chain_event_tx_log"),
        {"sqlite_autoincrement": True},
    )
    id: int | None = Field(default=None, primary_key=True)
    tx_hash: str = Field(max_length=66, index=True)
    log_index: int
    block_number: int = Field(index=True)
    block_hash: str = Field(max_length=66)
    timestamp: int
    contract: str = Field(max_length=32)
    name: str = Field(max_length=64, index=True)
    args: dict = Field(sa_column=Column(JSON, nullable=False))
    ad_id: int | None = Field(default=None, index=True)
    order_id: int | None = Field(default=None, index=True)
    # Lowercased addresses among the arguments, space-separated and space-framed,
    # so `LIKE '% 0xabc… %'` finds every event an account took part in.
    participants: str = Field(default="", max_length=2048)


class ChainIncident(SQLModel, table=True):
    """Something the indexer refused, undid or could not do: an unauthorized producer,
    a reorg, an event the projections could not place, a failing window."""

    __tablename__ = "chain_incident"
    id: int | None = Field(default=None, primary_key=True)
    # "unauthorized_producer" | "reorg" | "projection_gap" | "indexer_error"
    kind: str = Field(max_length=32, index=True)
    block_number: int
    tx_hash: str | None = Field(default=None, max_length=66)
    log_index: int | None = None
    detail: str = Field(max_length=1024)
    created_at: datetime = Field(default_factory=utcnow)
