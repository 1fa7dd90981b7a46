"""Chat messages of an order's negotiation channel, hash-chained per order."""

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ChatMessage(SQLModel, table=True):
    __tablename__ = "chat_message"
    # The unique pair is what keeps two concurrent appends from sharing a seq: the loser
    # of the race gets an IntegrityError and retries on top of the winner's message.
    __table_args__ = (UniqueConstraint("order_id", "seq", name="uq_chat_message_order_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    # No foreign key to "order": the order row is a chain projection that a reorg may
    # rebuild, and the transcript must outlive that.
    order_id: int = Field(index=True)
    seq: int
    sender: str = Field(max_length=42)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: int
    prev_hash: str = Field(max_length=66)
    hash: str = Field(max_length=66)
