"""Negotiation channel: access, the hash-chained transcript, REST and WebSocket."""

import threading

import pytest
from eth_utils import keccak
from sqlmodel import Session, select
from starlette.websockets import WebSocketDisconnect

from backend.auth.models import User
from backend.market.models import Order
from backend.negotiation import service, transcript
from backend.negotiation.models import ChatMessage
from tests.backend.sockets import receive_json, session_cookie


@pytest.fixture
def order_id(create_ad, open_order, sync):
    order_id = open_order(create_ad())
    sync()
    return order_id


def chat(order_id, suffix=""):
    return f"/api/orders/{order_id}/chat{suffix}"


def dispute(escrow, buyer, order_id, sync):
    escrow.mark_paid(order_id, keccak(text="ref"), sender=buyer)
    escrow.open_dispute(order_id, keccak(text="x"), sender=buyer)
    sync()


# --------------------------------------------------------- the transcript, pure


def _chain(order_id, bodies, sender="0x70997970C51812dc3A010C7d01b50e0d17dc79C8"):
    messages, prev = [], transcript.genesis(order_id)
    for seq, body in enumerate(bodies, start=1):
        fields = dict(
            order_id=order_id, seq=seq, sender=sender, created_at=1_700_000_000 + seq, body=body, prev_hash=prev
        )
        message = ChatMessage(**fields, hash=transcript.message_hash(**fields))
        messages.append(message)
        prev = message.hash
    return messages


def test_transcript__genesis_is_per_order():
    assert transcript.genesis(1) != transcript.genesis(2)
    assert transcript.verify([]) == (True, None)
    assert transcript.verify(_chain(7, ["a", "b", "c"])) == (True, None)


def test_transcript__detects_tampering_reordering_and_swaps():
    messages = _chain(7, ["a", "b", "c"])
    messages[1].body = "B"
    assert transcript.verify(messages) == (False, 2)

    messages = _chain(7, ["a", "b", "c"])
    del messages[1]
    assert transcript.verify(messages) == (False, 3)

    swapped = _chain(7, ["a", "b"])
    for message in swapped:
        message.order_id = 8  # another order's transcript does not chain from this genesis
    assert transcript.verify(swapped) == (False, 1)

    messages = _chain(7, ["a", "b"])
    messages[0].sender = "0x" + "11" * 20
    assert transcript.verify(messages) == (False, 1)


# ---------------------------------------------------------------- REST


def test_chat__parties_post_and_read(client, login_as, buyer, seller, order_id):
    buyer_headers, seller_headers = login_as(buyer), login_as(seller)
    empty = client.get(chat(order_id), headers=buyer_headers).json()
    assert empty == {"order_id": order_id, "messages": [], "head": transcript.genesis(order_id), "count": 0}

    first = client.post(chat(order_id), json={"body": "  paying now  "}, headers=buyer_headers)
    assert first.status_code == 201, first.text
    second = client.post(chat(order_id), json={"body": "ok"}, headers=seller_headers)
    assert second.status_code == 201
    first, second = first.json(), second.json()
    assert (first["seq"], first["sender"], first["body"]) == (1, buyer.address, "paying now")
    assert first["prev_hash"] == transcript.genesis(order_id)
    assert (second["seq"], second["sender"], second["prev_hash"]) == (2, seller.address, first["hash"])

    for headers in (buyer_headers, seller_headers):
        page = client.get(chat(order_id), headers=headers).json()
        assert [m["body"] for m in page["messages"]] == ["paying now", "ok"]
        assert page["count"] == 2 and page["head"] == second["hash"]


def test_chat__head_changes_with_each_message_and_verifies(client, login_as, buyer, order_id):
    headers = login_as(buyer)
    heads = [client.get(chat(order_id, "/head"), headers=headers).json()]
    for n in range(3):
        message = client.post(chat(order_id), json={"body": f"m{n}"}, headers=headers).json()
        heads.append(client.get(chat(order_id, "/head"), headers=headers).json())
        assert heads[-1] == {"order_id": order_id, "head": message["hash"], "count": n + 1}
    assert heads[0]["head"] == transcript.genesis(order_id)
    assert len({h["head"] for h in heads}) == 4
    result = client.get(chat(order_id, "/verify"), headers=headers).json()
    assert result == {
        "order_id": order_id,
        "valid": True,
        "count": 3,
        "head": heads[-1]["head"],
        "first_invalid_seq": None,
    }


def test_chat__tampered_message_fails_verification(client, db, login_as, buyer, seller, order_id):
    headers = login_as(buyer)
    for body in ("one", "two", "three"):
        client.post(chat(order_id), json={"body": body}, headers=headers)
    stored = db.exec(select(ChatMessage).where(ChatMessage.order_id == order_id, ChatMessage.seq == 2)).one()
    stored.body = "two thousand"
    db.add(stored)
    db.commit()
    for viewer in (buyer, seller):
        result = client.get(chat(order_id, "/verify"), headers=login_as(viewer)).json()
        assert result["valid"] is False and result["first_invalid_seq"] == 2 and result["count"] == 3


def test_chat__stranger_forbidden(client, login_as, buyer, other, order_id):
    client.post(chat(order_id), json={"body": "private"}, headers=login_as(buyer))
    headers = login_as(other)
    for suffix in ("", "/head", "/verify"):
        response = client.get(chat(order_id, suffix), headers=headers)
        assert response.status_code == 403 and "buyer and seller" in response.json()["detail"]
    assert client.post(chat(order_id), json={"body": "hi"}, headers=headers).status_code == 403


def test_chat__unknown_order_not_found(client, login_as, buyer, order_id):
    headers = login_as(buyer)
    response = client.get(chat(order_id + 1000), headers=headers)
    assert response.status_code == 404 and response.json()["detail"] == f"order {order_id + 1000} not found"
    assert client.post(chat(order_id + 1000), json={"body": "hi"}, headers=headers).status_code == 404
    assert client.get(chat(0), headers=headers).status_code == 422
    assert client.get(chat(2**70), headers=headers).status_code == 422


def test_chat__requires_sign_in(client, order_id):
    assert client.get(chat(order_id)).status_code == 401
    assert client.post(chat(order_id), json={"body": "hi"}).status_code == 401
    assert client.get(chat(order_id), headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"body": ""}, "body: message is empty"),
        ({"body": " \n\t "}, "body: message is empty"),
        ({"body": "x" * 2001}, "body: message is longer than 2000 characters"),
        ({"body": "a\x00b"}, "body: message contains a NUL character"),
        ({"body": 5}, "body: Input should be a valid string"),
        ({}, "body: Field required"),
    ],
)
def test_chat__bad_body_rejected(client, login_as, buyer, order_id, payload, detail):
    response = client.post(chat(order_id), json=payload, headers=login_as(buyer))
    assert response.status_code == 422 and response.json()["detail"] == detail
    assert client.get(chat(order_id, "/head"), headers=login_as(buyer)).json()["count"] == 0


def test_chat__longest_body_accepted_after_strip(client, login_as, buyer, order_id):
    response = client.post(chat(order_id), json={"body": "  " + "é" * 2000 + "  "}, headers=login_as(buyer))
    assert response.status_code == 201 and response.json()["body"] == "é" * 2000


def test_chat__arbitrator_joins_only_in_dispute(client, login_as, escrow, admin, buyer, order_id, sync):
    # admin's wallet holds ARBITRATOR_ROLE on chain; its app roles are plain "user"
    headers = login_as(admin, roles=("user",))
    client.post(chat(order_id), json={"body": "before"}, headers=login_as(buyer))
    assert client.get(chat(order_id), headers=headers).status_code == 403

    dispute(escrow, buyer, order_id, sync)
    page = client.get(chat(order_id), headers=headers)
    assert page.status_code == 200 and [m["body"] for m in page.json()["messages"]] == ["before"]
    posted = client.post(chat(order_id), json={"body": "arbitrator here"}, headers=headers)
    assert posted.status_code == 201 and posted.json()["sender"] == admin.address
    assert client.get(chat(order_id, "/verify"), headers=headers).json()["valid"] is True


def test_chat__app_admin_joins_dispute_but_not_strangers(
    client, login_as, escrow, buyer, other, relayer, order_id, sync
):
    staff = login_as(relayer, roles=("admin",))
    stranger = login_as(other)
    assert client.get(chat(order_id), headers=staff).status_code == 403
    dispute(escrow, buyer, order_id, sync)
    assert client.get(chat(order_id), headers=staff).status_code == 200
    response = client.get(chat(order_id), headers=stranger)
    assert response.status_code == 403 and "arbitrator" in response.json()["detail"]


def test_chat__concurrent_appends_get_distinct_seqs(client, db, buyer, seller, login_as, order_id):
    login_as(buyer), login_as(seller)
    engine = client.app.state.engine
    order = db.get(Order, order_id)
    users = [db.exec(select(User).where(User.address == a.address)).one() for a in (buyer, seller)]
    db.expunge_all()
    start, errors = threading.Barrier(8), []

    def post(n):
        user = users[n % 2]
        with Session(engine) as session:
            channel = service.Channel(order=order, user=user, role="buyer")
            start.wait()
            try:
                for k in range(3):
                    service.append_message(session, channel=channel, body=f"{n}-{k}")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    result = client.get(chat(order_id, "/verify"), headers=login_as(buyer)).json()
    assert result["valid"] is True and result["count"] == 24
    seqs = [m["seq"] for m in client.get(chat(order_id), headers=login_as(buyer)).json()["messages"]]
    assert seqs == list(range(1, 25))


def test_chat__append_retries_when_another_process_took_the_seq(
    client, db, buyer, seller, login_as, order_id, monkeypatch
):
    # Another process appends between our read of the head and our insert: the unique
    # (order_id, seq) constraint refuses ours, and the retry chains onto theirs.
    login_as(buyer)
    order = db.get(Order, order_id)
    buyer_user = db.exec(select(User).where(User.address == buyer.address)).one()
    db.expunge_all()
    real_head_of, raced = service.head_of, []

    def head_of_with_race(session, *, order_id):
        head = real_head_of(session, order_id=order_id)
        if not raced:
            fields = dict(
                order_id=order_id,
                seq=1,
                sender=seller.address,
                created_at=1,
                body="theirs",
                prev_hash=transcript.genesis(order_id),
            )
            raced.append(transcript.message_hash(**fields))
            with Session(client.app.state.engine) as elsewhere:
                elsewhere.add(ChatMessage(**fields, hash=raced[0]))
                elsewhere.commit()
        return head

    monkeypatch.setattr(service, "head_of", head_of_with_race)
    with Session(client.app.state.engine) as session:
        mine = service.append_message(
            session, channel=service.Channel(order=order, user=buyer_user, role="buyer"), body="mine"
        )
    assert mine.seq == 2 and mine.prev_hash == raced[0]
    result = client.get(chat(order_id, "/verify"), headers=login_as(buyer)).json()
    assert result["valid"] is True and result["count"] == 2


# ------------------------------------------------------------ WebSocket


def ws_url(order_id):
    return f"/api/orders/{order_id}/chat/ws"


def connect_chat(client, order_id, headers=None):
    """Open the chat socket as a same-origin page of `headers`' session would: with the
    HTTP-only session cookie (never a token in the URL)."""
    return client.websocket_connect(ws_url(order_id), headers=session_cookie(headers))


def test_chat_ws__buyer_and_seller_talk(client, login_as, buyer, seller, order_id):
    buyer_headers, seller_headers = login_as(buyer), login_as(seller)
    client.post(chat(order_id), json={"body": "earlier"}, headers=buyer_headers)
    with (
        connect_chat(client, order_id, buyer_headers) as buyer_ws,
        connect_chat(client, order_id, seller_headers) as seller_ws,
    ):
        for ws in (buyer_ws, seller_ws):
            history = receive_json(ws)
            assert history["type"] == "history" and history["count"] == 1
            assert history["messages"][0]["body"] == "earlier" and history["order_id"] == order_id

        buyer_ws.send_json({"body": "sent the money"})
        for ws in (buyer_ws, seller_ws):
            frame = receive_json(ws)
            assert frame["type"] == "message"
            assert frame["message"]["seq"] == 2 and frame["message"]["sender"] == buyer.address

        # a REST post reaches the sockets too
        client.post(chat(order_id), json={"body": "got it"}, headers=seller_headers)
        for ws in (buyer_ws, seller_ws):
            frame = receive_json(ws)
            assert frame["message"]["body"] == "got it" and frame["message"]["seq"] == 3

    result = client.get(chat(order_id, "/verify"), headers=buyer_headers).json()
    assert result["valid"] is True and result["count"] == 3


def test_chat_ws__bad_frames_get_errors_and_socket_stays_open(client, login_as, buyer, order_id):
    with connect_chat(client, order_id, login_as(buyer)) as ws:
        receive_json(ws)
        ws.send_text("not json")
        assert receive_json(ws) == {"type": "error", "detail": 'frame is not JSON; send {"body": "..."}'}
        ws.send_json([1, 2])
        assert receive_json(ws)["detail"].startswith("frame must be a JSON object")
        ws.send_json({"body": "   "})
        assert receive_json(ws) == {"type": "error", "detail": "body: message is empty"}
        ws.send_json({"body": "y" * 2001})
        assert receive_json(ws)["detail"] == "body: message is longer than 2000 characters"
        ws.send_json({"text": "hi"})
        assert receive_json(ws)["detail"] == "body: Field required"
        ws.send_bytes(b"\xff\xfe")
        assert receive_json(ws)["detail"] == "frame is not UTF-8 text"
        ws.send_json({"body": "still here"})
        frame = receive_json(ws)
        assert frame["type"] == "message" and frame["message"]["seq"] == 1


def test_chat_ws__refusal_codes(client, login_as, buyer, other, order_id):
    cases = [
        (order_id, None, 4401),
        (order_id, {"Authorization": "Bearer bogus"}, 4401),
        (order_id, login_as(other), 4403),
        (order_id + 1000, login_as(buyer), 4404),
        (2**70, login_as(buyer), 4404),
    ]
    for target, headers, code in cases:
        with connect_chat(client, target, headers) as ws:
            with pytest.raises(WebSocketDisconnect) as refused:
                receive_json(ws)
            assert refused.value.code == code, (target, headers)


def test_chat_ws__session_cookie_authenticates(client, login_as, seller, order_id):
    token = login_as(seller)["Authorization"].removeprefix("Bearer ")
    client.cookies.set("sentinel_session", token)
    try:
        with client.websocket_connect(ws_url(order_id)) as ws:
            assert receive_json(ws)["type"] == "history"
    finally:
        client.cookies.clear()


def test_chat_ws__arbitrator_refused_before_dispute_admitted_after(
    client, login_as, escrow, admin, buyer, order_id, sync
):
    headers = login_as(admin, roles=("user",))
    with connect_chat(client, order_id, headers) as ws:
        with pytest.raises(WebSocketDisconnect) as refused:
            receive_json(ws)
        assert refused.value.code == 4403
    dispute(escrow, buyer, order_id, sync)
    with connect_chat(client, order_id, headers) as ws:
        assert receive_json(ws)["type"] == "history"
