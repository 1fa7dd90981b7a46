"""Feedback on ended orders: who may leave it, the EIP-712 message they sign, the summary.

The signature makes each feedback the author's own word, checkable by anyone from the
row alone (the typed data binds the chain, the escrow, the order, the rating and the
comment), not just something the desk says they wrote.
"""

import time

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import case, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.chain.contracts import Deployment
from backend.errors import DomainError
from backend.market.models import Order
from backend.protocol import OrderStatus
from backend.relay.service import DOMAIN_NAME, DOMAIN_TYPE, DOMAIN_VERSION
from backend.reputation.models import Feedback
from backend.reputation.schemas import (
    FeedbackCreate,
    FeedbackDraft,
    FeedbackPrepared,
    FeedbackPublic,
    FeedbackSummary,
    OrderFeedback,
    TypedData,
)

PRIMARY_TYPE = "Feedback"
# The rating as a word: the wallet shows the user "rating: positive", not a bare flag.
FEEDBACK_TYPE = [("orderId", "uint256"), ("rating", "string"), ("comment", "string")]


def rating(positive: bool) -> str:
    return "positive" if positive else "negative"


def typed_data(*, deployment: Deployment, order_id: int, positive: bool, comment: str) -> dict:
    """The message a party signs: the relay's domain (this chain, this escrow), so a
    signature for another desk or chain never verifies here."""
    return {
        "types": {
            "EIP712Domain": [{"name": n, "type": t} for n, t in DOMAIN_TYPE],
            PRIMARY_TYPE: [{"name": n, "type": t} for n, t in FEEDBACK_TYPE],
        },
        "primaryType": PRIMARY_TYPE,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": deployment.chain_id,
            "verifyingContract": deployment.addresses["OtcEscrow"],
        },
        "message": {"orderId": str(order_id), "rating": rating(positive), "comment": comment},
    }


def recover_signer(*, deployment: Deployment, order_id: int, draft: FeedbackCreate) -> str:
    data = typed_data(deployment=deployment, order_id=order_id, positive=draft.positive, comment=draft.comment)
    try:
        return Account.recover_message(encode_typed_data(full_message=data), signature=draft.signature)
    except Exception:  # r/s/v out of range: no key signed this
        raise DomainError(422, "signature is not valid: no signer can be recovered from it") from None


def party_order(*, session: Session, order_id: int, address: str | None) -> tuple[Order, str]:
    """The order and the caller's side in it, if the caller may leave feedback on it now."""
    order = session.get(Order, order_id)
    if order is None:
        raise DomainError(404, f"order {order_id} not found")
    if address is None:
        raise DomainError(403, "this account has no wallet address; sign in with the wallet that traded")
    if address.lower() == order.buyer.lower():
        role = "buyer"
    elif address.lower() == order.seller.lower():
        role = "seller"
    else:
        raise DomainError(403, f"only the buyer and the seller of order {order_id} can leave feedback on it")
    if not OrderStatus(order.status).ended:
        raise DomainError(
            409,
            f"order {order_id} is {order.status.lower()}: feedback opens once it is released, cancelled or resolved",
        )
    return order, role


def prepare(
    *, session: Session, deployment: Deployment, order_id: int, address: str | None, draft: FeedbackDraft
) -> FeedbackPrepared:
    order, _role = party_order(session=session, order_id=order_id, address=address)
    _refuse_second(session, order.id, address)
    data = typed_data(deployment=deployment, order_id=order.id, positive=draft.positive, comment=draft.comment)
    return FeedbackPrepared(signer=address, typed_data=TypedData.model_validate(data))


def leave(
    *, session: Session, deployment: Deployment, order_id: int, address: str | None, draft: FeedbackCreate
) -> Feedback:
    order, role = party_order(session=session, order_id=order_id, address=address)
    _refuse_second(session, order.id, address)
    signer = recover_signer(deployment=deployment, order_id=order.id, draft=draft)
    if signer.lower() != address.lower():
        raise DomainError(
            403,
            f"signature is not from your wallet ({address}): it recovers to {signer}; "
            "sign the feedback with the account you are signed in with",
        )
    feedback = Feedback(
        order_id=order.id,
        author=order.buyer if role == "buyer" else order.seller,
        subject=order.seller if role == "buyer" else order.buyer,
        author_role=role,
        positive=draft.positive,
        comment=draft.comment,
        signature=draft.signature,
        created_at=int(time.time()),
    )
    session.add(feedback)
    try:
        session.commit()
    except IntegrityError:  # the same party's other request won the race
        session.rollback()
        raise _already_left(order.id) from None
    session.refresh(feedback)
    return feedback


def of_order(*, session: Session, order_id: int) -> OrderFeedback:
    if session.get(Order, order_id) is None:
        raise DomainError(404, f"order {order_id} not found")
    rows = session.exec(select(Feedback).where(Feedback.order_id == order_id)).all()
    by_role = {row.author_role: FeedbackPublic.model_validate(row) for row in rows}
    return OrderFeedback(order_id=order_id, buyer=by_role.get("buyer"), seller=by_role.get("seller"))


def about(*, session: Session, address: str, limit: int, offset: int) -> tuple[list[Feedback], int]:
    """Feedback others left about `address`, newest first."""
    query = select(Feedback).where(Feedback.subject == address)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(limit).offset(offset))
    return list(rows.all()), total


def summaries(*, session: Session, addresses: set[str]) -> dict[str, FeedbackSummary]:
    """Positive and negative counts about each trader: one aggregate query for all of them."""
    if not addresses:
        return {}
    rows = session.exec(
        select(
            Feedback.subject,
            func.coalesce(func.sum(case((Feedback.positive == True, 1), else_=0)), 0),  # noqa: E712
            func.coalesce(func.sum(case((Feedback.positive == False, 1), else_=0)), 0),  # noqa: E712
        )
        .where(Feedback.subject.in_(addresses))
        .group_by(Feedback.subject)
    ).all()
    found = {subject: FeedbackSummary(positive=pos, negative=neg) for subject, pos, neg in rows}
    return {address: found.get(address, FeedbackSummary()) for address in addresses}


def _refuse_second(session: Session, order_id: int, address: str) -> None:
    existing = session.exec(
        select(Feedback.id).where(Feedback.order_id == order_id, func.lower(Feedback.author) == address.lower())
    ).first()
    if existing is not None:
        raise _already_left(order_id)


def _already_left(order_id: int) -> DomainError:
    return DomainError(409, f"you already left feedback on order {order_id}: it can be given once")
