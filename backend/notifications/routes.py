"""HTTP and WebSocket routes of the notifications domain."""

from fastapi import APIRouter, WebSocket
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backend.auth.deps import TrustedOrigin, accept_websocket, websocket_user
from backend.db import EngineDep
from backend.notifications.deps import HubDep
from backend.websockets import forward_until_disconnect

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.websocket("/ws", dependencies=[TrustedOrigin])
async def notifications_socket(websocket: WebSocket, engine: EngineDep, hub: HubDep) -> None:
    """Pushes for the signed-in wallet: chain events of its orders and ads, chat messages.

    First frame: `{"type": "subscribed", "address"}`. Then each push is one JSON object
    with a `type` ("chain_event", "chat"). Frames sent by
    the client are ignored. Closes with 4401 when not signed in and 4403 for an account
    without a wallet address (pushes are addressed to wallets).

    Signed in by cookie, never by URL (see `websocket_token`); a page of another origin is
    refused at the handshake (HTTP 403), before anything is sent.
    """
    await accept_websocket(websocket)

    def address_of_caller() -> tuple[bool, str | None]:
        with Session(engine) as session:
            user = websocket_user(websocket, session)
            return user is not None, user.address if user is not None else None

    signed_in, address = await run_in_threadpool(address_of_caller)
    if not signed_in:
        await websocket.close(code=4401, reason="sign in first")
        return
    if not address:
        await websocket.close(code=4403, reason="this account has no wallet address")
        return

    queue = hub.subscribe(address)
    try:
        # Tells the client that pushes from now on reach it (nothing is replayed).
        await websocket.send_json({"type": "subscribed", "address": address})
        await forward_until_disconnect(websocket, queue)
    finally:
        hub.unsubscribe(address, queue)
