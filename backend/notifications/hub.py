"""This process's pub/sub from the push follower's thread to its WebSocket clients.

Each process holds one hub and serves its own sockets. Nothing publishes chain events
or chat notices straight from where they are written: every process's follower
(backend/push.py) reads them from the database, whichever process wrote them, and
publishes here (see README, scale-out).
"""

import asyncio
import threading
from collections import defaultdict

from backend.chain.models import ChainEvent
from backend.push import Feed


class NotificationHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, address: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=256)
        with self._lock:
            self._queues[address.lower()].add(queue)
        return queue

    def unsubscribe(self, address: str, queue: asyncio.Queue) -> None:
        with self._lock:
            self._queues[address.lower()].discard(queue)

    def publish(self, address: str, message: dict) -> None:
        """Thread-safe: queue `message` for every open page of `address`."""
        if self._loop is None:
            return
        with self._lock:
            queues = list(self._queues.get(address.lower(), ()))
        for queue in queues:
            self._loop.call_soon_threadsafe(_put_nowait, queue, message)

    def chain_feed(self) -> Feed:
        """What the follower hands new `chain_event` rows to."""
        return Feed("chain_event", ChainEvent, lambda _session, rows: self.publish_chain_events(rows))

    def publish_chain_events(self, events: list[ChainEvent]) -> None:
        """Each order or ad event goes to every account it names."""
        for event in events:
            if event.contract != "OtcEscrow" and event.contract != "KycRegistry":
                continue
            message = {
                "type": "chain_event",
                "event": event.name,
                "order_id": event.order_id,
                "ad_id": event.ad_id,
                "block_number": event.block_number,
                "tx_hash": event.tx_hash,
                "args": event.args,
            }
            for address in event.participants.split():
                self.publish(address, message)


def _put_nowait(queue: asyncio.Queue, message: dict) -> None:
    try:
        queue.put_nowait(message)
    except asyncio.QueueFull:  # a stalled page loses pushes, never the server
        pass
