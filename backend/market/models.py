"""Ads and orders: projections of OtcEscrow events (see projections.py)."""

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.columns import Bitmask64, Uint256


class Ad(SQLModel, table=True):
    __tablename__ = "ad"
    id: int = Field(primary_key=True)
    # Who posted the ad: the seller of a sell ad, the buyer of a buy ad.
    maker: str = Field(max_length=42, index=True)
    side: str = Field(default="sell", max_length=4, index=True)  # backend.protocol.Side
    token: str = Field(max_length=42, index=True)
    available: int = Field(sa_column=Column(Uint256, nullable=False, index=True))
    locked: int = Field(sa_column=Column(Uint256, nullable=False))
    price: int = Field(sa_column=Column(Uint256, nullable=False, index=True))
    fiat: str = Field(max_length=3, index=True)
    min_amount: int = Field(sa_column=Column(Uint256, nullable=False))
    max_amount: int = Field(sa_column=Column(Uint256, nullable=False))
    payment_window: int
    payment_methods: int = Field(sa_column=Column(Bitmask64, nullable=False))
    terms_hash: str = Field(max_length=66)
    active: bool = True
    closed: bool = False
    created_block: int
    created_at: int
    updated_at: int


class Order(SQLModel, table=True):
    __tablename__ = "order"
    id: int = Field(primary_key=True)
    ad_id: int = Field(index=True, foreign_key="ad.id")
    buyer: str = Field(max_length=42, index=True)
    seller: str = Field(max_length=42, index=True)
    side: str = Field(default="sell", max_length=4)  # the side of its ad
    token: str = Field(max_length=42)
    fiat: str = Field(max_length=3)
    amount: int = Field(sa_column=Column(Uint256, nullable=False))
    price: int = Field(sa_column=Column(Uint256, nullable=False))
    status: str = Field(max_length=16, index=True)
    deadline: int
    opened_at: int
    paid_at: int | None = None
    ended_at: int | None = None
    payment_ref: str | None = Field(default=None, max_length=66, index=True)
    fee: int | None = Field(default=None, sa_column=Column(Uint256, nullable=True))
    buyer_received: int | None = Field(default=None, sa_column=Column(Uint256, nullable=True))
    seller_refunded: int | None = Field(default=None, sa_column=Column(Uint256, nullable=True))
    cancel_reason: str | None = Field(default=None, max_length=16)
    disputed_by: str | None = Field(default=None, max_length=42)
    # The order's last chat message when the dispute reached the desk: a party's later
    # message answers it (ids, not the two clocks of chat and chain).
    dispute_chat_head: int | None = None
    evidence_hash: str | None = Field(default=None, max_length=66)
    buyer_bps: int | None = None


class Credit(SQLModel, table=True):
    """A payout the token refused at settlement (a blocklisted or paused recipient), held
    in the escrow for its owner to withdraw (`withdraw_credit`); zero once withdrawn."""

    __tablename__ = "escrow_credit"
    account: str = Field(primary_key=True, max_length=42)
    token: str = Field(primary_key=True, max_length=42)
    amount: int = Field(sa_column=Column(Uint256, nullable=False))
    last_order_id: int | None = None
    updated_at: int
