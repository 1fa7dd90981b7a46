"""Public shapes of ads, orders and stats. Token amounts are decimal strings (uint256)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.columns import Amount
from backend.market.models import Ad, Credit, Order
from backend.protocol import CancelReason, OrderStatus, Side
from backend.reputation.schemas import FeedbackSummary
from backend.validation import Address, Uint256Str


class _FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AdPublic(_FromRow):
    id: int
    maker: str = Field(description="who posted the ad: the seller of a sell ad, the buyer of a buy ad")
    side: Side = Field(description="sell: the maker sells the token (its escrow holds it); buy: the maker buys it")
    token: str
    available: Amount
    locked: Amount
    price: Amount
    fiat: str
    min_amount: Amount
    max_amount: Amount
    payment_window: int
    payment_methods: int
    terms_hash: str
    active: bool
    closed: bool
    created_block: int
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, ad: Ad) -> "AdPublic":
        return cls.model_validate(ad)


class TraderStats(BaseModel):
    address: str
    completed_trades: int = Field(description="released orders, as seller or as buyer")
    ended_trades: int = Field(description="ended orders, as seller or as buyer")
    ended_on_own_ads: int = Field(description="ended orders on the trader's own ads, sell or buy")
    completion_rate: float | None = Field(
        description="released / ended among the orders on the trader's own ads, sell or buy (their orders on "
        "others' ads do not count); null before one ended"
    )
    median_release_seconds: float | None
    as_seller: int = Field(description="orders as seller, on either side's ads")
    as_buyer: int = Field(description="orders as buyer, on either side's ads")
    disputes: int
    feedback: FeedbackSummary  # positive / negative counts of what others left about them


class AdWithStats(AdPublic):
    maker_stats: TraderStats


class AdPage(BaseModel):
    items: list[AdWithStats]
    total: int
    limit: int
    offset: int


class OrderPublic(_FromRow):
    id: int
    ad_id: int
    buyer: str
    seller: str
    side: Side = Field(description="the side of the ad the order was opened on (buy: the seller filled a buy ad)")
    token: str
    fiat: str
    amount: Amount
    price: Amount
    status: OrderStatus
    deadline: int
    opened_at: int
    paid_at: int | None
    ended_at: int | None
    payment_ref: str | None
    fee: Amount | None
    buyer_received: Amount | None
    seller_refunded: Amount | None
    cancel_reason: CancelReason | None
    disputed_by: str | None
    evidence_hash: str | None
    buyer_bps: int | None

    @classmethod
    def of(cls, order: Order) -> "OrderPublic":
        return cls.model_validate(order)


class TimelineEntry(BaseModel):
    event: str
    block_number: int
    timestamp: int
    tx_hash: str
    log_index: int
    args: dict


class OrderDetail(OrderPublic):
    timeline: list[TimelineEntry]
    seconds_to_deadline: int | None
    fiat_total_minor: str  # amount × price / 10**decimals, in fiat minor units


class OrderPage(BaseModel):
    items: list[OrderPublic]
    total: int
    limit: int
    offset: int


TodoAction = Literal["pay", "release", "dispute_reply"]


class TodoItem(BaseModel):
    """An order waiting for the signed-in user, and what it waits for: `pay` (buyer of an
    open order before its deadline), `release` (seller of a paid order), `dispute_reply`
    (the party that did not open the dispute and has not written in the chat since)."""

    action: TodoAction
    order: OrderPublic


class TodoList(BaseModel):
    items: list[TodoItem]
    count: int


AdSort = Literal["price", "-price", "newest", "oldest", "-available"]
AdSide = Literal["sell", "buy", "any"]


class AdFilters(BaseModel):
    """The ads list's query string (`GET /api/ads`), validated as one model."""

    token: Address | None = None
    fiat: str | None = Field(None, pattern="^[A-Za-z]{3}$", description="ISO 4217 code")
    min_price: Uint256Str | None = Field(None, description="fiat minor units per whole token")
    max_price: Uint256Str | None = None
    amount: Uint256Str | None = Field(None, description="token base units the ad must be able to fill")
    payment_method: int | None = Field(None, ge=1, le=2**64 - 1, description="bitmask")
    side: AdSide = Field(
        "sell", description="sell ads (a buyer takes them), buy ads (a seller fills them), or any (both)"
    )
    maker: Address | None = Field(None, description="the ads of one maker")
    include_inactive: bool = False
    sort: AdSort = "price"
    limit: int = Field(20, ge=1, le=100, description="page size")
    offset: int = Field(0, ge=0, le=1_000_000)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data):
        # Ignored, the old name would list everyone's ads as one maker's: refused instead.
        if isinstance(data, dict) and "seller" in data:
            raise ValueError("the `seller` filter is renamed `maker` (ads have makers on both sides)")
        return data

    def as_filters(self) -> dict:
        """What the page builders take: numbers as ints, the currency upper-case."""
        return dict(
            token=self.token,
            fiat=self.fiat.upper() if self.fiat else None,
            min_price=int(self.min_price) if self.min_price is not None else None,
            max_price=int(self.max_price) if self.max_price is not None else None,
            amount=int(self.amount) if self.amount is not None else None,
            payment_method=self.payment_method,
            side=None if self.side == "any" else self.side,
            maker=self.maker,
            include_inactive=self.include_inactive,
            sort=self.sort,
            limit=self.limit,
            offset=self.offset,
        )


class CreditPublic(_FromRow):
    """A payout the token refused, waiting in the escrow: withdraw it with
    `withdraw_credit(token)` from the account's own wallet."""

    token: str
    amount: Amount
    last_order_id: int | None
    updated_at: int

    @classmethod
    def of(cls, credit: Credit) -> "CreditPublic":
        return cls.model_validate(credit)
