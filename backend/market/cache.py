"""Serialized ads pages, and the ads, stats and counts they are made of, kept for as
long as the index they were read from is unchanged.

The ads list is the busiest read of the desk and it changes only when the indexer
commits. A page is stored under its query and the index head (number and hash of the
last indexed block, so a reorg at the same height counts as a change). Two things clear
the cache: the in-process indexer on every commit that wrote something, at once; and a
look at the head in the database at most every `recheck_seconds`, for an indexer that
runs in its own process (`python -m backend.cli index`).
"""

import threading
import time
from collections import OrderedDict

from sqlalchemy import Engine
from sqlmodel import Session, select

from backend.chain.models import IndexedBlock

Head = tuple[int, str] | None


class PageCache:
    def __init__(
        self, *, engine: Engine, max_entries: int = 8192, max_bytes: int = 64 << 20, recheck_seconds: float = 0.1
    ):
        self.engine = engine
        self.max_entries = max_entries
        # Pages are tens of kilobytes: a client paging through every offset and size
        # would otherwise hold max_entries of them (hundreds of megabytes).
        self.max_bytes = max_bytes
        self._bytes = 0
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._pages: OrderedDict[str, object] = OrderedDict()
        self._generation = 0
        self._head: Head = None
        self._checked_at = float("-inf")
        self.hits = 0
        self.misses = 0
        self.early_answers = 0  # pages answered before routing (fastpath.py)

    def claim_recheck(self) -> bool:
        """True for the one caller that should read the head now; the others go on
        with the cache as it is (under load, every request would otherwise see it due)."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked_at < self.recheck_seconds:
                return False
            self._checked_at = now
            return True

    def recheck_due(self) -> bool:
        """Whether a look at the head is due (without claiming it, see `claim_recheck`)."""
        return time.monotonic() - self._checked_at >= self.recheck_seconds

    def recheck_head(self) -> None:
        """Read the index head from the database (blocking: call it off the event loop)."""
        with Session(self.engine) as session:
            row = session.exec(
                select(IndexedBlock.number, IndexedBlock.hash).order_by(IndexedBlock.number.desc()).limit(1)
            ).first()
        head = tuple(row) if row is not None else None
        with self._lock:
            if head != self._head:
                self._head = head
                self._clear()

    def invalidate(self) -> None:
        with self._lock:
            self._clear()

    def generation(self) -> int:
        """Read before building a page; `put` refuses the page if the cache was cleared since."""
        return self._generation

    def get(self, key: str) -> object | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: str, page: object, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # built from data that may predate the last change
            self._bytes += _size(page) - _size(self._pages.get(key))
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries or self._bytes > self.max_bytes:
                self._bytes -= _size(self._pages.popitem(last=False)[1])

    def size(self) -> tuple[int, int]:
        """Entries and bytes (of the serialized pages and ads) held."""
        with self._lock:
            return len(self._pages), self._bytes

    def _clear(self) -> None:
        self._pages.clear()
        self._bytes = 0
        self._generation += 1


def _size(entry: object) -> int:
    return len(entry) if isinstance(entry, bytes) else 0
