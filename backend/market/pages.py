"""Ads pages built on a cache miss, mostly from the cache itself.

Every page of the ads list is a few ads, each with its maker's stats. For each set of
filters (and sort) the cache keeps the ids of every matching ad in page order, so a page
not asked for before is a slice of that list, and each ad's JSON (and each maker's
stats) comes from the cache where an earlier page put it: only ads not seen since the
last change are loaded and serialized, and a page whose ads are all known is assembled
without the database. All entries are kept under the cache's generation, so a change of
the index drops them together.
"""

from sqlalchemy import Engine
from sqlmodel import Session

from backend.market import service
from backend.market.cache import PageCache

_AD = "ad "
_STATS = "stats "
_IDS = "ids "
_PAGE = "page "
_TOTAL = "total "
_PAGING = ("limit", "offset")
# Filters matching more ads than this keep no id list: their pages are read page by page.
MAX_LISTED_IDS = 10_000


def cached_page(cache: PageCache, filters: dict) -> bytes | None:
    """The page from the cache, or assembled from cached ids and ads; None if the
    database is needed. Never blocks: fit for the event loop."""
    page = cache.get(_PAGE + repr(sorted(filters.items())))
    if page is not None:
        return page
    generation = cache.generation()
    ids = cache.get(_ids_key(filters))
    if ids is None:
        return None
    page_ids = _slice(ids, filters)
    fragments = [cache.get(_AD + str(ad_id)) for ad_id in page_ids]
    if any(fragment is None for fragment in fragments) or cache.generation() != generation:
        return None  # an ad not serialized yet, or the index changed under this page
    return _store(cache, filters, _body(fragments, len(ids), filters), generation)


def build_page(engine: Engine, cache: PageCache, filters: dict) -> bytes:
    """The page's JSON (an `AdPage`), stored in the cache. Blocking: call it off the loop."""
    generation = cache.generation()  # before reading: entries built from older data are refused
    ids_key = _ids_key(filters)
    with Session(engine) as session:
        listed = cache.get(ids_key)
        if listed is None:
            listed, total = service.ad_ids(session, **{**filters, "limit": MAX_LISTED_IDS + 1, "offset": 0})
            if total <= MAX_LISTED_IDS:
                cache.put(ids_key, listed, generation)
            else:
                listed = None
        if listed is not None:
            ids, total = _slice(listed, filters), len(listed)
        else:
            # Every page of the same filters has the same total: counted once per index head.
            total_key = _TOTAL + ids_key
            ids, total = service.ad_ids(session, total=cache.get(total_key), **filters)
            cache.put(total_key, total, generation)
        fragments = {ad_id: cache.get(_AD + str(ad_id)) for ad_id in ids}
        missing = [ad_id for ad_id, fragment in fragments.items() if fragment is None]
        if missing:
            fragments |= _serialize_ads(session, cache, missing, generation)
    return _store(cache, filters, _body([fragments[ad_id] for ad_id in ids], total, filters), generation)


def _ids_key(filters: dict) -> str:
    return _IDS + repr(sorted((k, v) for k, v in filters.items() if k not in _PAGING))


def _slice(ids: list[int], filters: dict) -> list[int]:
    return ids[filters["offset"] : filters["offset"] + filters["limit"]]


def _body(fragments: list, total: int, filters: dict) -> bytes:
    return b'{"items":[%s],"total":%d,"limit":%d,"offset":%d}' % (
        b",".join(fragments),
        total,
        filters["limit"],
        filters["offset"],
    )


def _store(cache: PageCache, filters: dict, body: bytes, generation: int) -> bytes:
    cache.put(_PAGE + repr(sorted(filters.items())), body, generation)
    return body


def _serialize_ads(session: Session, cache: PageCache, ids: list[int], generation: int) -> dict[int, bytes]:
    ads = service.ads_by_id(session, ids)
    makers = {ad.maker for ad in ads}
    stats = {maker: found for maker in makers if (found := cache.get(_STATS + maker)) is not None}
    computed = service.trader_stats_many(session, makers - set(stats))
    for maker, maker_stats in computed.items():
        cache.put(_STATS + maker, maker_stats, generation)
    stats |= computed
    fragments = {}
    for ad in ads:
        fragments[ad.id] = service.ad_with_stats(ad, stats[ad.maker]).model_dump_json().encode()
        cache.put(_AD + str(ad.id), fragments[ad.id], generation)
    return fragments
