"""Feedback API: leave it on an ended order (signed), read an order's and a trader's."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.auth.deps import CurrentUser
from backend.chain.deps import ChainDep
from backend.db import SessionDep
from backend.errors import DomainError
from backend.market.routes import AdsCacheDep
from backend.reputation import service
from backend.reputation.schemas import (
    FeedbackCreate,
    FeedbackDraft,
    FeedbackPage,
    FeedbackPrepared,
    FeedbackPublic,
    OrderFeedback,
)
from backend.validation import RowId, parse_address

router = APIRouter(tags=["reputation"])

_PARTY_ERRORS = {
    401: {"description": "Not signed in"},
    403: {"description": "Not a party to the order, or a signature from another wallet"},
    404: {"description": "Unknown order"},
    409: {"description": "Order not ended yet, or feedback already left"},
}


@router.post(
    "/orders/{order_id}/feedback/prepare",
    response_model=FeedbackPrepared,
    summary="The EIP-712 message a party signs to leave feedback",
    responses=_PARTY_ERRORS,
)
def prepare_feedback(
    order_id: RowId, draft: FeedbackDraft, user: CurrentUser, session: SessionDep, chain: ChainDep
) -> FeedbackPrepared:
    return service.prepare(
        session=session, deployment=chain.deployment, order_id=order_id, address=user.address, draft=draft
    )


@router.post(
    "/orders/{order_id}/feedback",
    response_model=FeedbackPublic,
    status_code=201,
    summary="Leave feedback on an ended order, once per party, signed by the wallet",
    responses={**_PARTY_ERRORS, 422: {"description": "Comment too long or a malformed signature"}},
)
def leave_feedback(
    order_id: RowId,
    body: FeedbackCreate,
    user: CurrentUser,
    session: SessionDep,
    chain: ChainDep,
    cache: AdsCacheDep,
) -> FeedbackPublic:
    feedback = service.leave(
        session=session, deployment=chain.deployment, order_id=order_id, address=user.address, draft=body
    )
    # The ads list shows each maker's feedback counts from its cache: not after this.
    cache.invalidate()
    return FeedbackPublic.model_validate(feedback)


@router.get(
    "/orders/{order_id}/feedback",
    response_model=OrderFeedback,
    summary="The feedback each side of an order left",
    responses={404: {"description": "Unknown order"}},
)
def order_feedback(order_id: RowId, session: SessionDep) -> OrderFeedback:
    return service.of_order(session=session, order_id=order_id)


@router.get("/traders/{address}/feedback", response_model=FeedbackPage, summary="Feedback about a trader, newest first")
def trader_feedback(
    address: str,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FeedbackPage:
    checked = parse_address(address)
    if checked is None:
        raise DomainError(422, "not an address: expected 0x followed by 40 hex digits")
    rows, total = service.about(session=session, address=checked, limit=limit, offset=offset)
    summary = service.summaries(session=session, addresses={checked})[checked]
    return FeedbackPage(
        items=[FeedbackPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset, summary=summary
    )
