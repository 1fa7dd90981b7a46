"""Ads pages built on a cache miss, mostly from the cache itself.

Every page of the ads list is a few ads, each with its seller's stats. A miss (a page
not asked for since the index last changed) runs one query for the page's ad ids, and
takes each ad's JSON, and each seller's stats, from the cache where an earlier page put
them: only ads not seen since the last change are loaded and serialized. All entries
are kept under the cache's generation, so a change of the index drops them together.
"""

from sqlalchemy import Engine
from sqlmodel import Session

from backend.market import service
from backend.market.cache import PageCache

_AD = "ad "
_STATS = "stats "
_TOTAL = "total "
_PAGE = "page "
_UNPAGED = ("sort", "limit", "offset")


def cached_page(cache: PageCache, filters: dict) -> bytes | None:
    return cache.get(_PAGE + repr(sorted(filters.items())))


def build_page(engine: Engine, cache: PageCache, filters: dict) -> bytes:
    """The page's JSON (an `AdPage`), stored in the cache. Blocking: call it off the loop."""
    generation = cache.generation()  # before reading: entries built from older data are refused
    # Every page of the same filters has the same total: counted once per index head.
    total_key = _TOTAL + repr(sorted((k, v) for k, v in filters.items() if k not in _UNPAGED))
    with Session(engine) as session:
        ids, total = service.ad_ids(session, total=cache.get(total_key), **filters)
        fragments = {ad_id: cache.get(_AD + str(ad_id)) for ad_id in ids}
        missing = [ad_id for ad_id, fragment in fragments.items() if fragment is None]
        if missing:
            fragments |= _serialize_ads(session, cache, missing, generation)
    body = b'{"items":[%s],"total":%d,"limit":%d,"offset":%d}' % (
        b",".join(fragments[ad_id] for ad_id in ids),
        total,
        filters["limit"],
        filters["offset"],
    )
    cache.put(total_key, total, generation)
    cache.put(_PAGE + repr(sorted(filters.items())), body, generation)
    return body


def _serialize_ads(session: Session, cache: PageCache, ids: list[int], generation: int) -> dict[int, bytes]:
    ads = service.ads_by_id(session, ids)
    sellers = {ad.seller for ad in ads}
    stats = {seller: found for seller in sellers if (found := cache.get(_STATS + seller)) is not None}
    computed = service.trader_stats_many(session, sellers - set(stats))
    for seller, seller_stats in computed.items():
        cache.put(_STATS + seller, seller_stats, generation)
    stats |= computed
    fragments = {}
    for ad in ads:
        fragments[ad.id] = service.ad_with_stats(ad, stats[ad.seller]).model_dump_json().encode()
        cache.put(_AD + str(ad.id), fragments[ad.id], generation)
    return fragments
