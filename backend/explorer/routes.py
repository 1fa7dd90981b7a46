"""The chain explorer: one search box for hashes, addresses, block numbers, ad and order ids."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.chain.deps import ChainDep
from backend.db import SessionDep
from backend.explorer import service
from backend.explorer.schemas import SearchResponse

router = APIRouter(prefix="/explorer", tags=["explorer"])


@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Search for a transaction, block, address, ad or order",
    responses={
        422: {"description": "the box holds something the explorer cannot search for"},
        503: {"description": "the chain node is unreachable"},
    },
)
def search(
    session: SessionDep,
    chain: ChainDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            description='a tx or block hash, an address, a block number, "#123", "block 123", "ad 12" or "order 5"',
        ),
    ],
) -> SearchResponse:
    return service.search(session=session, chain=chain, text=q)
