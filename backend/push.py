"""Push across processes: every process tails the tables that carry pushes and
publishes each new row to its own WebSocket subscribers.

Several app processes (and a standalone indexer, `python -m backend.cli index`) may share
one database, but a process serves only its own sockets. So no process pushes what it
writes itself: every process, the writer included, runs one `Follower` that reads the rows
appended since its last look (by id: one cheap indexed query per table) and hands them to
the feeds (chain events to the notification hub, chat messages to the chat rooms and the
hub). A row is published once per process, by that process's follower, whoever wrote it.

Latency: the follower looks every `poll_seconds` at the latest. A write in this process
wakes it at once (`wake()`), and on PostgreSQL `wake()` also sends a NOTIFY on `CHANNEL`
that every process's follower LISTENs to, so a push usually crosses processes in one
database round trip.

Ids are not committed in id order on PostgreSQL (two transactions take 7 and 8, 8 commits
first), so an id skipped over is remembered as a hole and looked for again for
`HOLE_SECONDS`; a rolled-back insert leaves a hole that simply expires. On SQLite the tables
use AUTOINCREMENT so that ids freed by a reorg's delete are never handed out again.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine, func, or_, text
from sqlmodel import Session, select
from starlette.requests import HTTPConnection

log = logging.getLogger("sentinel.push")

CHANNEL = "sentinel_push"
HOLE_SECONDS = 10.0
MAX_HOLES = 1_000
BATCH = 500
# A failing follower (database gone) logs at most this often.
LOG_EVERY_SECONDS = 60.0


@dataclass
class Feed:
    """One followed table: `model` has an integer primary key `id` that only grows;
    `publish(session, rows)` pushes new rows (it may read more through `session`)."""

    name: str
    model: Any
    publish: Callable[[Session, list], None]
    cursor: int = 0
    holes: dict[int, float] = field(default_factory=dict)  # id -> give up after (monotonic)


def announce(engine: Engine) -> None:
    """Tell every process's follower that rows were committed (PostgreSQL NOTIFY; no-op on
    SQLite, where followers find them at their next poll)."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
            connection.commit()
    except Exception:  # the followers still poll; a lost wake-up only costs latency
        log.warning("could not NOTIFY the other processes' followers", exc_info=True)


class Follower:
    def __init__(self, *, engine: Engine, feeds: Sequence[Feed], poll_seconds: float = 0.2):
        self.engine = engine
        self.feeds = list(feeds)
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_log = 0.0

    # ------------------------------------------------------------ public

    def start(self) -> None:
        """Start from the current end of each table (nothing is replayed), then follow."""
        with Session(self.engine) as session:
            for feed in self.feeds:
                feed.cursor = session.exec(select(func.max(feed.model.id))).one() or 0
        self._threads = [threading.Thread(target=self._run, name="push-follower", daemon=True)]
        if self.engine.dialect.name == "postgresql":
            self._threads.append(threading.Thread(target=self._listen, name="push-listener", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def wake(self) -> None:
        """After committing rows that push: this process's follower looks at once, the
        other processes' when the NOTIFY reaches them."""
        self._wake.set()
        announce(self.engine)

    def poll(self) -> int:
        """Publish every row committed since the last poll; returns how many. Thread-safe:
        when it returns, everything committed before the call has been published."""
        with self._lock, Session(self.engine) as session:
            return sum(self._poll_feed(session, feed) for feed in self.feeds)

    # ----------------------------------------------------------- private

    def _poll_feed(self, session: Session, feed: Feed) -> int:
        now = time.monotonic()
        for hole in [h for h, until in feed.holes.items() if until < now]:
            del feed.holes[hole]
        published = 0
        while True:
            model = feed.model
            wanted = model.id > feed.cursor
            if feed.holes:
                wanted = or_(wanted, model.id.in_(list(feed.holes)))
            rows = list(session.exec(select(model).where(wanted).order_by(model.id).limit(BATCH)))
            if not rows:
                return published
            for row in rows:
                if row.id in feed.holes:
                    del feed.holes[row.id]
                    continue
                for missing in range(feed.cursor + 1, row.id):
                    if len(feed.holes) >= MAX_HOLES:
                        break
                    feed.holes[missing] = now + HOLE_SECONDS
                feed.cursor = max(feed.cursor, row.id)
            try:
                feed.publish(session, rows)
            except Exception:  # one bad push must not stop the others
                log.exception("push of %d %s rows failed", len(rows), feed.name)
            published += len(rows)
            if len(rows) < BATCH:
                return published

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:
                self._log_failure("push follower cannot read the database: %s", exc)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _listen(self) -> None:
        """PostgreSQL: turn NOTIFYs on CHANNEL into wake-ups of this process's follower."""
        import psycopg

        conninfo = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except Exception as exc:  # the poll goes on meanwhile
                self._log_failure("push listener lost its connection: %s", exc)
                self._stop.wait(self.poll_seconds * 10)

    def _log_failure(self, message: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_SECONDS:
            self._last_log = now
            log.warning(message, exc)


async def get_follower(connection: HTTPConnection) -> Follower:
    return connection.app.state.follower


FollowerDep = Annotated[Follower, Depends(get_follower)]
