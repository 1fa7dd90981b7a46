"""This process's fan-out of new chat messages to the order's open sockets.

One process serves its own sockets; its push follower (backend/negotiation/push.py)
publishes here every message stored by any process, over REST or a socket.
"""

import asyncio
import threading
from collections import defaultdict
from typing import Annotated

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection


class ChatRooms:
    def __init__(self) -> None:
        self._members: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = defaultdict(set)
        self._lock = threading.Lock()

    def join(self, order_id: int) -> asyncio.Queue:
        """Call from the socket's event loop."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=256)
        with self._lock:
            self._members[order_id].add((asyncio.get_running_loop(), queue))
        return queue

    def leave(self, order_id: int, queue: asyncio.Queue) -> None:
        with self._lock:
            members = self._members.get(order_id, set())
            members.difference_update({m for m in members if m[1] is queue})
            if not members:
                self._members.pop(order_id, None)

    def publish(self, order_id: int, message: dict) -> None:
        """Thread-safe: REST routes publish from the threadpool, sockets from the loop."""
        with self._lock:
            members = list(self._members.get(order_id, ()))
        for loop, queue in members:
            loop.call_soon_threadsafe(put_nowait, queue, message)


def put_nowait(queue: asyncio.Queue, message: dict) -> None:
    try:
        queue.put_nowait(message)
    except asyncio.QueueFull:  # a stalled socket misses live messages, never the transcript
        pass


_create_lock = threading.Lock()


def rooms_of(app: FastAPI) -> ChatRooms:
    with _create_lock:
        rooms = getattr(app.state, "chat_rooms", None)
        if rooms is None:
            rooms = app.state.chat_rooms = ChatRooms()
    return rooms


async def get_rooms(connection: HTTPConnection) -> ChatRooms:
    return rooms_of(connection.app)


RoomsDep = Annotated[ChatRooms, Depends(get_rooms)]
