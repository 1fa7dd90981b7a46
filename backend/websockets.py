"""The pump shared by the push sockets (notifications, the monitoring feed)."""

import contextlib
import json
from asyncio import Queue

import anyio
from fastapi import WebSocket
from starlette.websockets import WebSocketState


async def forward_until_disconnect(websocket: WebSocket, queue: Queue) -> None:
    """Send each message of `queue` as a JSON text frame until the client goes away.

    Frames from the client are read (and ignored) only to notice the disconnect; the socket
    is closed on the way out whatever ended it."""
    try:
        async with anyio.create_task_group() as tasks:

            async def forward() -> None:
                while True:
                    message = await queue.get()
                    try:
                        await websocket.send_text(json.dumps(message, default=str))
                    except Exception:  # the client is gone; the receive side sees the disconnect
                        return

            tasks.start_soon(forward)
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
            tasks.cancel_scope.cancel()
    finally:
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):
                await websocket.close()
