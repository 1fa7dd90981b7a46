"""OtcEscrow events -> ads and orders, mirroring the contract's own bookkeeping."""

from sqlalchemy import func
from sqlmodel import Session, select

from backend.chain.models import ChainEvent
from backend.chain.projections import Projection, add, get, require
from backend.market.models import Ad, Credit, Order
from backend.negotiation.models import ChatMessage
from backend.protocol import CancelReason, OrderStatus, Side

ESCROW = "OtcEscrow"

projection = Projection("market", tables=[Order, Ad, Credit])  # orders first: they reference ads
on = projection.on


def _fiat(value: str) -> str:
    return bytes.fromhex(value[2:]).decode("ascii", errors="replace")


def _ad(session: Session, event: ChainEvent) -> Ad:
    ad = require(session, Ad, event.ad_id, "ad")
    ad.updated_at = event.timestamp
    return ad


def _order(session: Session, event: ChainEvent) -> Order:
    return require(session, Order, event.order_id, "order")


def _order_and_ad(session: Session, event: ChainEvent) -> tuple[Order, Ad]:
    order = _order(session, event)
    ad = require(session, Ad, order.ad_id, "ad")
    ad.updated_at = event.timestamp
    return order, ad


@projection.parties
def order_and_ad_parties(session: Session, event: ChainEvent) -> set[str]:
    if event.contract != ESCROW:
        return set()
    if event.order_id is not None:
        order = get(session, Order, event.order_id)
        return {order.buyer, order.seller} if order else set()
    if event.ad_id is not None:
        ad = get(session, Ad, event.ad_id)
        return {ad.maker} if ad else set()
    return set()


def _give_back(ad: Ad, amount: int) -> None:
    # As the contract does on both sides: freed amounts go back to what the ad offers (a
    # sell ad) or wants (a buy ad) unless it is closed; the tokens themselves went back to
    # the seller (the maker of a sell ad, the taker on a buy ad).
    ad.locked -= amount
    if not ad.closed:
        ad.available += amount


@on(ESCROW, "AdCreated")
def ad_created(session: Session, event: ChainEvent) -> None:
    a = event.args
    add(
        session,
        Ad(
            id=event.ad_id,
            maker=a["maker"],
            side=Side.from_code(int(a["side"])),
            token=a["token"],
            available=int(a["amount"]),
            locked=0,
            price=int(a["price"]),
            fiat=_fiat(a["fiat"]),
            min_amount=int(a["min_amount"]),
            max_amount=int(a["max_amount"]),
            payment_window=int(a["payment_window"]),
            payment_methods=int(a["payment_methods"]),
            terms_hash=a["terms_hash"],
            created_block=event.block_number,
            created_at=event.timestamp,
            updated_at=event.timestamp,
        ),
        event.ad_id,
    )


@on(ESCROW, "AdToppedUp")
def ad_topped_up(session: Session, event: ChainEvent) -> None:
    _ad(session, event).available += int(event.args["amount"])


@on(ESCROW, "AdUpdated")
def ad_updated(session: Session, event: ChainEvent) -> None:
    ad, a = _ad(session, event), event.args
    ad.price = int(a["price"])
    ad.min_amount = int(a["min_amount"])
    ad.max_amount = int(a["max_amount"])
    ad.payment_window = int(a["payment_window"])
    ad.payment_methods = int(a["payment_methods"])
    ad.terms_hash = a["terms_hash"]


@on(ESCROW, "AdPaused")
def ad_paused(session: Session, event: ChainEvent) -> None:
    _ad(session, event).active = False


@on(ESCROW, "AdResumed")
def ad_resumed(session: Session, event: ChainEvent) -> None:
    _ad(session, event).active = True


@on(ESCROW, "AdWithdrawn")
def ad_withdrawn(session: Session, event: ChainEvent) -> None:
    _ad(session, event).available -= int(event.args["amount"])


@on(ESCROW, "AdClosed")
def ad_closed(session: Session, event: ChainEvent) -> None:
    ad = _ad(session, event)
    ad.available = 0
    ad.active = False
    ad.closed = True


@on(ESCROW, "OrderOpened")
def order_opened(session: Session, event: ChainEvent) -> None:
    a = event.args
    ad = _ad(session, event)
    amount = int(a["amount"])
    ad.available -= amount
    ad.locked += amount
    add(
        session,
        Order(
            id=event.order_id,
            ad_id=ad.id,
            buyer=a["buyer"],
            seller=a["seller"],
            side=ad.side,
            token=ad.token,
            fiat=ad.fiat,
            amount=amount,
            price=int(a["price"]),
            status=OrderStatus.OPEN,
            deadline=int(a["deadline"]),
            opened_at=event.timestamp,
        ),
        event.order_id,
    )


@on(ESCROW, "OrderPaid")
def order_paid(session: Session, event: ChainEvent) -> None:
    order = _order(session, event)
    order.status = OrderStatus.PAID
    order.paid_at = event.timestamp
    order.payment_ref = event.args["payment_ref"]


@on(ESCROW, "OrderReleased")
def order_released(session: Session, event: ChainEvent) -> None:
    order, ad = _order_and_ad(session, event)
    fee = int(event.args["fee"])
    order.status = OrderStatus.RELEASED
    order.ended_at = event.timestamp
    order.fee = fee
    order.buyer_received = order.amount - fee
    ad.locked -= order.amount


@on(ESCROW, "OrderCancelled")
def order_cancelled(session: Session, event: ChainEvent) -> None:
    order, ad = _order_and_ad(session, event)
    order.status = OrderStatus.CANCELLED
    order.ended_at = event.timestamp
    order.cancel_reason = CancelReason.from_code(int(event.args["reason"]))
    _give_back(ad, order.amount)


@on(ESCROW, "DeadlineExtended")
def deadline_extended(session: Session, event: ChainEvent) -> None:
    _order(session, event).deadline = int(event.args["deadline"])


@on(ESCROW, "DisputeOpened")
def dispute_opened(session: Session, event: ChainEvent) -> None:
    order = _order(session, event)
    order.status = OrderStatus.DISPUTED
    order.disputed_by = event.args["by"]
    order.evidence_hash = event.args["evidence_hash"]
    head = select(func.max(ChatMessage.id)).where(ChatMessage.order_id == order.id)
    order.dispute_chat_head = session.exec(head).one() or 0


@on(ESCROW, "DisputeResolved")
def dispute_resolved(session: Session, event: ChainEvent) -> None:
    a = event.args
    order, ad = _order_and_ad(session, event)
    order.status = OrderStatus.RESOLVED
    order.ended_at = event.timestamp
    order.buyer_bps = int(a["buyer_bps"])
    order.fee = int(a["fee"])
    order.buyer_received = int(a["buyer_amount"])
    order.seller_refunded = int(a["seller_amount"])
    ad.locked -= order.amount
    if not ad.closed:
        ad.available += int(a["seller_amount"])


@on(ESCROW, "PayoutCredited")
def payout_credited(session: Session, event: ChainEvent) -> None:
    # The order itself ended through its own event (released, cancelled, resolved);
    # this only records that the token refused the payout and where it waits.
    a = event.args
    key = (a["account"], a["token"])
    credit = get(session, Credit, key)
    if credit is None:
        credit = Credit(account=a["account"], token=a["token"], amount=0, updated_at=event.timestamp)
        add(session, credit, key)
    credit.amount += int(a["amount"])
    credit.last_order_id = event.order_id
    credit.updated_at = event.timestamp


@on(ESCROW, "CreditWithdrawn")
def credit_withdrawn(session: Session, event: ChainEvent) -> None:
    a = event.args
    credit = require(session, Credit, (a["account"], a["token"]), "credit")
    credit.amount -= int(a["amount"])
    credit.updated_at = event.timestamp
