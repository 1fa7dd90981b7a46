"""Feedback rows: one per party per order, kept with the signature that authorised it."""

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    # One per party per order: the database refuses a second even under a race.
    __table_args__ = (UniqueConstraint("order_id", "author", name="uq_feedback_order_author"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(index=True, foreign_key="order.id")
    author: str = Field(max_length=42, index=True)
    subject: str = Field(max_length=42, index=True)  # the other party: whom the feedback is about
    author_role: str = Field(max_length=8)  # "buyer" | "seller" in this order
    positive: bool
    comment: str = Field(max_length=280)
    signature: str = Field(max_length=132)
    created_at: int = Field(index=True)
