"""Queries over the market projections."""

import time

from sqlalchemy import and_, case, func, literal, or_, union_all
from sqlmodel import Session, select

from backend.chain.models import ChainEvent, IndexedBlock
from backend.market.models import Ad, Credit, Order
from backend.market.schemas import AdPublic, AdWithStats, TraderStats
from backend.negotiation.models import ChatMessage
from backend.protocol import ENDED_STATUSES, OrderStatus, Side
from backend.reputation.service import summaries as feedback_summaries

AD_FIELDS = tuple(AdPublic.model_fields)


def ad_ids(
    session: Session,
    *,
    token: str | None = None,
    fiat: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    amount: int | None = None,
    payment_method: int | None = None,
    side: str | None = "sell",
    maker: str | None = None,
    include_inactive: bool = False,
    sort: str = "price",
    limit: int = 20,
    offset: int = 0,
    total: int | None = None,
) -> tuple[list[int], int]:
    """The ids of one page of the ads matching the filters, and how many match in all
    (counted unless `total` is given). Ids only: the ads' JSON is cached per ad. `side`
    None lists both sides."""
    query = select(Ad.id)
    if not include_inactive:
        query = query.where(Ad.active == True, Ad.closed == False, Ad.available > 0)  # noqa: E712
    if token:
        query = query.where(Ad.token == token)
    if fiat:
        query = query.where(Ad.fiat == fiat.upper())
    if min_price is not None:
        query = query.where(Ad.price >= min_price)
    if max_price is not None:
        query = query.where(Ad.price <= max_price)
    if amount is not None:
        # The ad can fill this amount: within its limits and what it has left.
        query = query.where(Ad.min_amount <= amount, Ad.max_amount >= amount, Ad.available >= amount)
    if payment_method is not None:
        # The literal takes the column's type, so Bitmask64 maps bit 63 to the signed column.
        query = query.where(Ad.payment_methods.op("&")(payment_method) != 0)
    if side is not None:
        query = query.where(Ad.side == side)
    if maker:
        query = query.where(Ad.maker == maker)
    if total is None:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
    order_by = {
        "price": (Ad.price.asc(), Ad.id.asc()),
        "-price": (Ad.price.desc(), Ad.id.asc()),
        "newest": (Ad.id.desc(),),
        "oldest": (Ad.id.asc(),),
        "-available": (Ad.available.desc(), Ad.id.asc()),
    }[sort]
    ids = session.exec(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return list(ids), total


def ads_by_id(session: Session, ids: list[int]) -> list[Ad]:
    return list(session.exec(select(Ad).where(Ad.id.in_(ids))).all())


def ad_with_stats(ad: Ad, stats: TraderStats) -> AdWithStats:
    return AdWithStats.model_validate({**{name: getattr(ad, name) for name in AD_FIELDS}, "maker_stats": stats})


def trader_stats(session: Session, address: str) -> TraderStats:
    return trader_stats_many(session, {address})[address]


def trader_stats_many(session: Session, addresses: set[str]) -> dict[str, TraderStats]:
    """Completed trades, completion rate and median release time of several traders, from
    chain events only, computed by the database: two aggregate queries whatever the
    traders' history (the ads list shows one per maker)."""
    if not addresses:
        return {}
    counts = {row.party: row for row in session.exec(_party_counts(addresses)).all()}
    medians = dict(session.exec(_median_release_seconds(addresses)).all())
    feedback = feedback_summaries(session=session, addresses=addresses)
    stats = {}
    for address in addresses:
        row = counts.get(address)
        ended = row.ended if row else 0
        completed = row.completed if row else 0
        # The completion rate is the maker's record: orders on their own ads (sell or buy),
        # not the orders they opened (and perhaps cancelled) on others' ads.
        own_ended = row.own_ended if row else 0
        own_completed = row.own_completed if row else 0
        median = medians.get(address)
        stats[address] = TraderStats(
            address=address,
            completed_trades=completed,
            ended_trades=ended,
            ended_on_own_ads=own_ended,
            completion_rate=round(own_completed / own_ended, 4) if own_ended else None,
            median_release_seconds=float(median) if median is not None else None,
            as_seller=row.as_seller if row else 0,
            as_buyer=row.as_buyer if row else 0,
            disputes=row.disputes if row else 0,
            feedback=feedback[address],
        )
    return stats


def _party_counts(addresses: set[str]):
    """Per trader: orders as seller and as buyer, ended, completed (both roles, and on the
    trader's own ads), disputed. An order is on the seller's own ad when its ad is a sell ad,
    on the buyer's own ad when it is a buy ad: the order's side says which, without a join."""
    own_as_seller = case((Order.side == str(Side.SELL), 1), else_=0).label("own")
    own_as_buyer = case((Order.side == str(Side.BUY), 1), else_=0).label("own")
    sides = union_all(
        select(
            Order.seller.label("party"), literal(1).label("sold"), own_as_seller, Order.status, Order.disputed_by
        ).where(Order.seller.in_(addresses)),
        select(
            Order.buyer.label("party"), literal(0).label("sold"), own_as_buyer, Order.status, Order.disputed_by
        ).where(Order.buyer.in_(addresses)),
    ).subquery()

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return select(
        sides.c.party,
        count_if(sides.c.sold == 1).label("as_seller"),
        count_if(sides.c.sold == 0).label("as_buyer"),
        count_if(sides.c.status.in_([str(s) for s in ENDED_STATUSES])).label("ended"),
        count_if(sides.c.status == str(OrderStatus.RELEASED)).label("completed"),
        count_if((sides.c.own == 1) & sides.c.status.in_([str(s) for s in ENDED_STATUSES])).label("own_ended"),
        count_if((sides.c.own == 1) & (sides.c.status == str(OrderStatus.RELEASED))).label("own_completed"),
        count_if(sides.c.disputed_by.is_not(None)).label("disputes"),
    ).group_by(sides.c.party)


def _median_release_seconds(addresses: set[str]):
    """Per seller, the median of paid-to-released seconds: the middle row (or the mean of
    the two middle rows) by window functions, which SQLite and PostgreSQL both have."""
    seconds = (Order.ended_at - Order.paid_at).label("seconds")
    ranked = (
        select(
            Order.seller.label("party"),
            seconds,
            func.row_number().over(partition_by=Order.seller, order_by=seconds).label("rank"),
            func.count().over(partition_by=Order.seller).label("n"),
        )
        .where(
            Order.seller.in_(addresses),
            Order.status == str(OrderStatus.RELEASED),
            Order.paid_at.is_not(None),
        )
        .subquery()
    )
    # Integer halves: for n odd both name the middle row, for n even the two middle rows.
    middle = or_(ranked.c.rank == (ranked.c.n + 1) // 2, ranked.c.rank == (ranked.c.n + 2) // 2)
    return select(ranked.c.party, func.avg(ranked.c.seconds)).where(middle).group_by(ranked.c.party)


def order_timeline(session: Session, order_id: int) -> list[ChainEvent]:
    return list(
        session.exec(
            select(ChainEvent)
            .where(ChainEvent.order_id == order_id)
            .order_by(ChainEvent.block_number, ChainEvent.log_index)
        ).all()
    )


def orders_of(
    session: Session, address: str, *, role: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[Order], int]:
    if role == "buyer":
        query = select(Order).where(Order.buyer == address)
    elif role == "seller":
        query = select(Order).where(Order.seller == address)
    else:
        query = select(Order).where(or_(Order.buyer == address, Order.seller == address))
    if status:
        query = query.where(Order.status == status.upper())
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    orders = session.exec(query.order_by(Order.id.desc()).limit(limit).offset(offset)).all()
    return list(orders), total


def todos_of(session: Session, *, address: str) -> list[tuple[Order, str]]:
    """The orders of `address` that wait for it, newest first, each with its action (see
    `TodoItem`), in one query.

    "Now" for the payment deadline is the timestamp of the newest indexed block: the chain's
    clock decides whether an order can still be paid, and the index is what this answer
    reads anyway. A dispute counts as answered once the party posts in the order's chat
    after the desk indexed `DisputeOpened` (a message id above the order's chat head then:
    one written between the block and its indexing asks once more, never the reverse).
    """
    now = func.coalesce(
        select(IndexedBlock.timestamp)
        .where(IndexedBlock.accepted)
        .order_by(IndexedBlock.number.desc())
        .limit(1)
        .scalar_subquery(),
        0,
    )
    answered = (
        select(ChatMessage.id)
        .where(
            ChatMessage.order_id == Order.id,
            ChatMessage.sender == address,
            ChatMessage.id > func.coalesce(Order.dispute_chat_head, 0),
        )
        .correlate(Order)
        .exists()
    )
    action = case(
        (and_(Order.buyer == address, Order.status == str(OrderStatus.OPEN), Order.deadline > now), literal("pay")),
        (and_(Order.seller == address, Order.status == str(OrderStatus.PAID)), literal("release")),
        (
            and_(Order.status == str(OrderStatus.DISPUTED), Order.disputed_by != address, ~answered),
            literal("dispute_reply"),
        ),
        else_=None,
    ).label("action")
    query = (
        select(Order, action)
        .where(or_(Order.buyer == address, Order.seller == address), action.is_not(None))
        .order_by(Order.id.desc())
    )
    return [(order, todo) for order, todo in session.exec(query).all()]


def seconds_to_deadline(order: Order, now: int | None = None) -> int | None:
    """Time left to pay, by the chain's clock when given (it decides), else the wall clock."""
    if order.status != OrderStatus.OPEN:
        return None
    return max(0, order.deadline - int(now if now is not None else time.time()))


def credits_of(session: Session, *, account: str) -> list[Credit]:
    """The account's withdrawable credits, one per token, leaving out those withdrawn."""
    query = select(Credit).where(Credit.account == account, Credit.amount > 0).order_by(Credit.token)
    return list(session.exec(query).all())
