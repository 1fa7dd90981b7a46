"""Market API: ads with filters, orders with their timeline, traders' stats."""

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.requests import HTTPConnection

from backend.auth.deps import CurrentUser
from backend.chain.deps import ChainDep
from backend.db import EngineDep, SessionDep
from backend.errors import DomainError
from backend.market import pages, service
from backend.market.cache import PageCache
from backend.market.models import Ad, Order
from backend.market.schemas import (
    AdFilters,
    AdPage,
    AdWithStats,
    CreditPublic,
    OrderDetail,
    OrderPage,
    OrderPublic,
    TimelineEntry,
    TodoItem,
    TodoList,
    TraderStats,
)
from backend.protocol import OrderStatus
from backend.validation import RowId, parse_address, parse_query, query_parameters

router = APIRouter(tags=["market"])
# Ads pages built at once on a cache miss: more threads only fight over the GIL.
_PAGE_BUILDERS = anyio.CapacityLimiter(4)


def get_ads_cache(connection: HTTPConnection) -> PageCache:
    return connection.app.state.ads_cache


AdsCacheDep = Annotated[PageCache, Depends(get_ads_cache)]

Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Id = RowId
StatusFilter = Annotated[str | None, Query(pattern="^(?i)(" + "|".join(s.lower() for s in OrderStatus) + ")$")]


def _address_or_422(value: str) -> str:
    address = parse_address(value)
    if address is None:
        raise DomainError(422, "not an address: expected 0x followed by 40 hex digits")
    return address


@router.get(
    "/ads",
    response_model=AdPage,
    summary="Ads of one side (sell by default), filtered and sorted",
    openapi_extra={"parameters": query_parameters(AdFilters)},
)
async def list_ads(request: Request, cache: AdsCacheDep, engine: EngineDep) -> Response:
    # The desk's busiest read: its query is one model (see parse_query), and it is async,
    # with the database work in the thread pool only when the cache cannot answer: most
    # requests are answered without leaving the event loop.
    filters = parse_query(AdFilters, request.query_params).as_filters()
    if cache.claim_recheck():
        await anyio.to_thread.run_sync(cache.recheck_head)
    page = pages.cached_page(cache, filters)
    if page is None:
        page = await anyio.to_thread.run_sync(pages.build_page, engine, cache, filters, limiter=_PAGE_BUILDERS)
    return Response(page, media_type="application/json")


@router.get(
    "/ads/{ad_id}",
    response_model=AdWithStats,
    summary="One ad with its maker's stats",
    responses={404: {"description": "Unknown ad"}},
)
def get_ad(ad_id: Id, session: SessionDep) -> AdWithStats:
    ad = session.get(Ad, ad_id)
    if ad is None:
        raise DomainError(404, f"ad {ad_id} not found")
    return service.ad_with_stats(ad, service.trader_stats(session, ad.maker))


@router.get(
    "/orders/{order_id}",
    response_model=OrderDetail,
    summary="An order with its timeline",
    responses={404: {"description": "Unknown order"}, 503: {"description": "On the chain, not indexed yet"}},
)
def get_order(order_id: Id, session: SessionDep, chain: ChainDep) -> OrderDetail:
    order = session.get(Order, order_id)
    if order is None:
        # An order the escrow has but the index has not reached yet is worth a retry; any
        # other id is final (a page can say "no such order" at once instead of waiting).
        if order_id <= chain.contract("OtcEscrow").functions.order_count().call():
            raise DomainError(
                503, f"order {order_id} is on the chain but not indexed yet", headers={"Retry-After": "1"}
            )
        raise DomainError(404, f"order {order_id} not found")
    decimals = next((t["decimals"] for t in chain.deployment.tokens if t["address"].lower() == order.token.lower()), 18)
    timeline = [
        TimelineEntry(
            event=e.name,
            block_number=e.block_number,
            timestamp=e.timestamp,
            tx_hash=e.tx_hash,
            log_index=e.log_index,
            args=e.args,
        )
        for e in service.order_timeline(session, order_id)
    ]
    now = chain.w3.eth.get_block("latest")["timestamp"]
    return OrderDetail(
        **OrderPublic.of(order).model_dump(),
        timeline=timeline,
        seconds_to_deadline=service.seconds_to_deadline(order, now),
        fiat_total_minor=str(order.amount * order.price // 10**decimals),
    )


@router.get(
    "/me/orders",
    response_model=OrderPage,
    summary="The signed-in user's orders",
    responses={400: {"description": "Account without a wallet"}, 401: {"description": "Not signed in"}},
)
def my_orders(
    user: CurrentUser,
    session: SessionDep,
    role: Annotated[str | None, Query(pattern="^(buyer|seller)$")] = None,
    status: StatusFilter = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> OrderPage:
    if user.address is None:
        raise DomainError(400, "this account has no wallet address; sign in with a wallet")
    orders, total = service.orders_of(session, user.address, role=role, status=status, limit=limit, offset=offset)
    return OrderPage(items=[OrderPublic.of(o) for o in orders], total=total, limit=limit, offset=offset)


@router.get(
    "/me/todos",
    response_model=TodoList,
    summary="The signed-in user's orders that wait for them: pay, release, dispute reply",
    responses={400: {"description": "Account without a wallet"}, 401: {"description": "Not signed in"}},
)
def my_todos(user: CurrentUser, session: SessionDep) -> TodoList:
    if user.address is None:
        raise DomainError(400, "this account has no wallet address; sign in with a wallet")
    todos = service.todos_of(session, address=user.address)
    return TodoList(items=[TodoItem(action=a, order=OrderPublic.of(o)) for o, a in todos], count=len(todos))


@router.get(
    "/me/credits",
    response_model=list[CreditPublic],
    summary="The signed-in user's payouts waiting in the escrow",
    description="Payouts a token refused at settlement (a blocklisted or paused recipient), credited to the "
    "user on chain; the wallet takes each with `withdraw_credit(token)`.",
    responses={400: {"description": "Account without a wallet"}, 401: {"description": "Not signed in"}},
)
def my_credits(user: CurrentUser, session: SessionDep) -> list[CreditPublic]:
    if user.address is None:
        raise DomainError(400, "this account has no wallet address; sign in with a wallet")
    return [CreditPublic.of(c) for c in service.credits_of(session, account=user.address)]


@router.get("/traders/{address}/orders", response_model=OrderPage, summary="A trader's orders")
def trader_orders(
    address: str,
    session: SessionDep,
    role: Annotated[str | None, Query(pattern="^(buyer|seller)$")] = None,
    status: StatusFilter = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> OrderPage:
    address = _address_or_422(address)
    orders, total = service.orders_of(session, address, role=role, status=status, limit=limit, offset=offset)
    return OrderPage(items=[OrderPublic.of(o) for o in orders], total=total, limit=limit, offset=offset)


@router.get("/traders/{address}/stats", response_model=TraderStats, summary="A trader's stats from chain events")
def trader_stats(address: str, session: SessionDep) -> TraderStats:
    return service.trader_stats(session, _address_or_422(address))
