"""Queries over the market projections."""

import statistics
import time

from sqlalchemy import func, or_
from sqlmodel import Session, select

from backend.chain.models import ChainEvent
from backend.market.models import Ad, Order
from backend.market.schemas import AdPage, AdPublic, AdWithStats, TraderStats
from backend.protocol import ENDED_STATUSES, OrderStatus

AD_FIELDS = tuple(AdPublic.model_fields)


def list_ads(
    session: Session,
    *,
    token: str | None = None,
    fiat: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    amount: int | None = None,
    payment_method: int | None = None,
    seller: str | None = None,
    include_inactive: bool = False,
    sort: str = "price",
    limit: int = 20,
    offset: int = 0,
    total: int | None = None,
) -> tuple[list[Ad], int]:
    """The ads matching the filters, one page of them, and how many match in all
    (counted unless `total` is given)."""
    query = select(Ad)
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
    if seller:
        query = query.where(Ad.seller == seller)
    if total is None:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
    order_by = {
        "price": (Ad.price.asc(), Ad.id.asc()),
        "-price": (Ad.price.desc(), Ad.id.asc()),
        "newest": (Ad.id.desc(),),
        "oldest": (Ad.id.asc(),),
        "-available": (Ad.available.desc(), Ad.id.asc()),
    }[sort]
    ads = session.exec(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return list(ads), total


def ads_page(session: Session, *, limit: int = 20, offset: int = 0, **filters) -> AdPage:
    """A page of the ads list, each ad with its seller's stats."""
    ads, total = list_ads(session, limit=limit, offset=offset, **filters)
    stats = trader_stats_many(session, {ad.seller for ad in ads})
    return AdPage(items=[ad_with_stats(ad, stats[ad.seller]) for ad in ads], total=total, limit=limit, offset=offset)


def ad_with_stats(ad: Ad, stats: TraderStats) -> AdWithStats:
    return AdWithStats.model_validate({**{name: getattr(ad, name) for name in AD_FIELDS}, "seller_stats": stats})


def trader_stats(session: Session, address: str) -> TraderStats:
    orders = session.exec(select(Order).where(or_(Order.seller == address, Order.buyer == address))).all()
    return stats_from_orders(address, orders)


def trader_stats_many(session: Session, addresses: set[str]) -> dict[str, TraderStats]:
    """Stats for several traders in one query (the ads list shows one per seller)."""
    if not addresses:
        return {}
    orders = session.exec(select(Order).where(or_(Order.seller.in_(addresses), Order.buyer.in_(addresses)))).all()
    mine: dict[str, list[Order]] = {a: [] for a in addresses}
    for order in orders:
        for party in {order.seller, order.buyer} & addresses:
            mine[party].append(order)
    return {a: stats_from_orders(a, mine[a]) for a in addresses}


def stats_from_orders(address: str, orders) -> TraderStats:
    """Completed trades, completion rate and median release time, from chain events only."""
    ended = [o for o in orders if o.status in ENDED_STATUSES]
    completed = [o for o in ended if o.status == OrderStatus.RELEASED]
    release_times = [o.ended_at - o.paid_at for o in completed if o.seller == address and o.paid_at is not None]
    return TraderStats(
        address=address,
        completed_trades=len(completed),
        ended_trades=len(ended),
        completion_rate=round(len(completed) / len(ended), 4) if ended else None,
        median_release_seconds=statistics.median(release_times) if release_times else None,
        as_seller=sum(1 for o in orders if o.seller == address),
        as_buyer=sum(1 for o in orders if o.buyer == address),
        disputes=sum(1 for o in orders if o.disputed_by is not None),
    )


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


def seconds_to_deadline(order: Order, now: int | None = None) -> int | None:
    """Time left to pay, by the chain's clock when given (it decides), else the wall clock."""
    if order.status != OrderStatus.OPEN:
        return None
    return max(0, order.deadline - int(now if now is not None else time.time()))
