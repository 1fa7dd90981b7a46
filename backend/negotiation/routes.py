"""HTTP and WebSocket routes of the negotiation domain: one chat channel per order."""

import asyncio
import json
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Path, WebSocket
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.auth.deps import CurrentUser, TrustedOrigin, accept_websocket, websocket_user
from backend.chain.deps import ChainDep
from backend.db import EngineDep, SessionDep
from backend.errors import DomainError
from backend.negotiation import service, transcript
from backend.negotiation.rooms import RoomsDep, put_nowait
from backend.negotiation.schemas import (
    ChatHead,
    ChatHistoryFrame,
    ChatMessageCreate,
    ChatMessagePublic,
    ChatTranscript,
    ChatVerification,
)
from backend.push import Follower, FollowerDep

router = APIRouter(
    prefix="/orders/{order_id}/chat",
    tags=["negotiation"],
    responses={
        401: {"description": "not signed in"},
        403: {"description": "not the order's buyer or seller, nor an arbitrator of its dispute"},
        404: {"description": "unknown order"},
    },
)

OrderId = Annotated[int, Path(ge=1, le=service.MAX_ORDER_ID)]
MAX_FRAME_CHARS = 16_384


def get_channel(order_id: OrderId, user: CurrentUser, session: SessionDep, chain: ChainDep) -> service.Channel:
    return service.open_channel(session, chain=chain, user=user, order_id=order_id)


ChannelDep = Annotated[service.Channel, Depends(get_channel)]


def _transcript(session: Session, order_id: int) -> ChatTranscript:
    messages = service.messages_of(session, order_id=order_id)
    return ChatTranscript(
        order_id=order_id,
        messages=[ChatMessagePublic.of(m) for m in messages],
        head=transcript.head(order_id, messages),
        count=len(messages),
    )


def _post(session: Session, follower: Follower, channel: service.Channel, body: str) -> ChatMessagePublic:
    """Append, then wake the followers: every process's follower, this one's included,
    pushes the message to its sockets (backend/negotiation/push.py), never this route."""
    message = ChatMessagePublic.of(service.append_message(session, channel=channel, body=body))
    follower.wake()
    return message


@router.get("", response_model=ChatTranscript, summary="The order's chat transcript")
def read_chat(channel: ChannelDep, session: SessionDep) -> ChatTranscript:
    return _transcript(session, channel.order.id)


@router.post("", response_model=ChatMessagePublic, status_code=201, summary="Post a chat message")
def post_chat(
    payload: ChatMessageCreate, channel: ChannelDep, session: SessionDep, follower: FollowerDep
) -> ChatMessagePublic:
    return _post(session, follower, channel, payload.body)


@router.get("/head", response_model=ChatHead, summary="The transcript head, for dispute evidence")
def chat_head(channel: ChannelDep, session: SessionDep) -> ChatHead:
    head, count = service.head_of(session, order_id=channel.order.id)
    return ChatHead(order_id=channel.order.id, head=head, count=count)


@router.get("/verify", response_model=ChatVerification, summary="Recompute the hash chain from the stored messages")
def verify_chat(channel: ChannelDep, session: SessionDep) -> ChatVerification:
    order_id = channel.order.id
    messages = service.messages_of(session, order_id=order_id)
    valid, first_invalid_seq = transcript.verify(messages)
    return ChatVerification(
        order_id=order_id,
        valid=valid,
        count=len(messages),
        head=transcript.head(order_id, messages),
        first_invalid_seq=first_invalid_seq,
    )


@router.websocket("/ws", dependencies=[TrustedOrigin])
async def chat_socket(
    websocket: WebSocket, order_id: int, engine: EngineDep, chain: ChainDep, rooms: RoomsDep, follower: FollowerDep
) -> None:
    """Live chat: a `history` frame on connect, then `message` frames as anyone posts.

    Send `{"body": "..."}`; a bad frame gets `{"type": "error", "detail": ...}` and the
    socket stays open. Refusals close with 4401 (not signed in), 4403 (not a party),
    4404 (unknown order) or 4503 (chain unreachable for the arbitrator check), after
    accepting, so that browsers see the code.

    Signed in by cookie, never by URL (see `websocket_token`); a page of another origin is
    refused at the handshake (HTTP 403), before anything is sent.
    """
    await accept_websocket(websocket)

    def open_channel() -> service.Channel:
        with Session(engine) as session:
            user = websocket_user(websocket, session)
            channel = service.open_channel(session, chain=chain, user=user, order_id=order_id)
            session.expunge_all()  # the socket outlives this session; keep the loaded rows
            return channel

    try:
        channel = await run_in_threadpool(open_channel)
    except DomainError as exc:
        await websocket.close(code=exc.close_code, reason=exc.detail[:120])  # close reasons fit 123 bytes
        return

    # Join before reading the history so nothing posted in between is missed; the pump
    # skips what the history already holds.
    queue = rooms.join(order_id)
    try:
        history = await run_in_threadpool(_history, engine, order_id)
        await websocket.send_json(history.model_dump(mode="json"))
        last_seq = history.messages[-1].seq if history.messages else 0

        async def pump() -> None:
            nonlocal last_seq
            while True:
                frame = await queue.get()
                if frame.get("type") == "message":
                    if frame["message"]["seq"] <= last_seq:
                        continue
                    last_seq = frame["message"]["seq"]
                try:
                    await websocket.send_json(frame)
                except Exception:  # the client is gone; the receive loop sees the disconnect
                    return

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(pump)
            await _receive_loop(websocket, engine, follower, channel, queue)
            tasks.cancel_scope.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        rooms.leave(order_id, queue)
        if websocket.client_state == WebSocketState.CONNECTED:
            try:
                await websocket.close()
            except RuntimeError:  # already closing
                pass


def _history(engine: Engine, order_id: int) -> ChatHistoryFrame:
    with Session(engine) as session:
        return ChatHistoryFrame(**_transcript(session, order_id).model_dump())


async def _receive_loop(
    websocket: WebSocket,
    engine: Engine,
    follower: Follower,
    channel: service.Channel,
    queue: asyncio.Queue,
) -> None:
    """Until the client leaves: parse, persist and broadcast each frame.

    Errors go through the socket's own queue so that only the pump writes to it.
    """

    def error(detail: str) -> None:
        put_nowait(queue, {"type": "error", "detail": detail})

    def persist(body: str) -> None:
        with Session(engine) as session:
            _post(session, follower, channel, body)

    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            return
        text = frame.get("text")
        if text is None and frame.get("bytes") is not None:
            try:
                text = frame["bytes"].decode("utf-8")
            except UnicodeDecodeError:
                error("frame is not UTF-8 text")
                continue
        if text is None or len(text) > MAX_FRAME_CHARS:
            error(f"frame must be JSON text of at most {MAX_FRAME_CHARS} characters")
            continue
        try:
            data = json.loads(text)
        except ValueError:
            error('frame is not JSON; send {"body": "..."}')
            continue
        if not isinstance(data, dict):
            error('frame must be a JSON object like {"body": "..."}')
            continue
        try:
            payload = ChatMessageCreate.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            error(f"{where}: {first['msg']}" if where else first["msg"])
            continue
        try:
            await run_in_threadpool(persist, payload.body)
        except DomainError as exc:
            error(exc.detail)
