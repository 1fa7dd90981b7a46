"""The ads listing answered from the page cache before routing.

`GET /api/ads` is the desk's busiest read, and once its ads are cached a page costs
little: a dict lookup, or a slice of cached ids joined from cached JSON (`pages.py`).
What it cost besides was the framework around it: exception middleware, routing over
every route, dependency solving, a Response object. This middleware sits inside the
app's own middleware (gzip, body limit, cache headers still apply) and answers such a
request itself when the cache can, with the same bytes and headers the route sends;
anything else (a query the model refuses, a head recheck due, a page that needs the
database) goes on to the route, which stays the one place for those.
"""

from pydantic import ValidationError
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.market import pages
from backend.market.schemas import AdFilters

PATH = "/api/ads"


class AdsFromCache:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = _cached(scope) if scope["type"] == "http" and scope["path"] == PATH else None
        if page is None:
            return await self.app(scope, receive, send)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(page)), (b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": page})


def _cached(scope: Scope) -> bytes | None:
    if scope["method"] != "GET":
        return None
    cache = getattr(scope["app"].state, "ads_cache", None)
    if cache is None or cache.recheck_due():
        return None
    try:
        # The route's own parsing (Starlette's QueryParams, then the one model).
        filters = AdFilters.model_validate(dict(QueryParams(scope["query_string"]))).as_filters()
    except ValidationError:
        return None
    page = pages.cached_page(cache, filters)
    if page is not None:
        cache.early_answers += 1
    return page
