"""Who may use an order's channel, and appending to / reading its transcript."""

import threading
import time
from dataclasses import dataclass

from eth_utils import keccak
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.auth.models import User
from backend.chain.deps import ChainContext
from backend.errors import DomainError
from backend.market.models import Order
from backend.negotiation import transcript
from backend.negotiation.models import ChatMessage
from backend.protocol import OrderStatus

ARBITRATOR_ROLE = keccak(text="ARBITRATOR_ROLE")
ARBITRATED_STATUSES = (OrderStatus.DISPUTED, OrderStatus.RESOLVED)
MAX_ORDER_ID = 2**63 - 1
APPEND_ATTEMPTS = 8
# Striped by order: appends in this process queue up instead of colliding; the unique
# constraint still settles races with other processes.
_APPEND_LOCKS = tuple(threading.Lock() for _ in range(64))


@dataclass
class Channel:
    order: Order
    user: User
    role: str  # "buyer" | "seller" | "arbitrator"

    @property
    def parties(self) -> tuple[str, str]:
        return self.order.buyer, self.order.seller


def open_channel(session: Session, *, chain: ChainContext, user: User | None, order_id: int) -> Channel:
    if user is None:
        raise DomainError(401, "sign in first")
    order = session.get(Order, order_id) if 1 <= order_id <= MAX_ORDER_ID else None
    if order is None:
        raise DomainError(404, f"order {order_id} not found")
    address = (user.address or "").lower()
    if address and address == order.buyer.lower():
        return Channel(order=order, user=user, role="buyer")
    if address and address == order.seller.lower():
        return Channel(order=order, user=user, role="seller")
    if order.status not in ARBITRATED_STATUSES:
        raise DomainError(403, "only the order's buyer and seller may use its chat until a dispute is opened")
    if user.has_role("admin") or (address and _is_arbitrator(chain, user.address)):
        return Channel(order=order, user=user, role="arbitrator")
    raise DomainError(403, "only the order's buyer, seller or an arbitrator may use its chat")


def _is_arbitrator(chain: ChainContext, address: str) -> bool:
    try:
        return bool(chain.contract("OtcEscrow").functions.hasRole(ARBITRATOR_ROLE, address).call())
    except Exception as exc:  # an unreachable node must not become a 500
        raise DomainError(503, "cannot reach the chain to check the arbitrator role; try again") from exc


def messages_of(session: Session, *, order_id: int) -> list[ChatMessage]:
    return list(session.exec(select(ChatMessage).where(ChatMessage.order_id == order_id).order_by(ChatMessage.seq)))


def head_of(session: Session, *, order_id: int) -> tuple[str, int]:
    last = session.exec(
        select(ChatMessage).where(ChatMessage.order_id == order_id).order_by(ChatMessage.seq.desc()).limit(1)
    ).first()
    return (last.hash, last.seq) if last else (transcript.genesis(order_id), 0)


def append_message(session: Session, *, channel: Channel, body: str) -> ChatMessage:
    """Chain `body` onto the order's transcript as the signed-in user.

    Two appends racing for the same seq collide on the (order_id, seq) constraint; the
    loser rolls back and rebuilds on the new head, so this holds across processes too.
    """
    if not channel.user.address:
        raise DomainError(400, "this account has no wallet address; sign in with a wallet to post")
    order_id, sender = channel.order.id, channel.user.address
    with _APPEND_LOCKS[order_id % len(_APPEND_LOCKS)]:
        for _ in range(APPEND_ATTEMPTS):
            prev_hash, last_seq = head_of(session, order_id=order_id)
            fields = dict(
                order_id=order_id,
                seq=last_seq + 1,
                sender=sender,
                created_at=int(time.time()),
                body=body,
                prev_hash=prev_hash,
            )
            message = ChatMessage(**fields, hash=transcript.message_hash(**fields))
            session.add(message)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            session.refresh(message)
            return message
    raise DomainError(503, "too many messages at once on this order; try again")


def recipients(*, buyer: str, seller: str, sender: str) -> list[str]:
    """The parties to notify of a new message: everyone but its sender."""
    return [party for party in dict.fromkeys((buyer, seller)) if party.lower() != sender.lower()]
