"""Notifications socket: chain events of the user's orders and chat messages, pushed live."""

import time

import pytest
from eth_utils import keccak
from starlette.websockets import WebSocketDisconnect

from tests.backend.sockets import receive_json, session_cookie

URL = "/api/notifications/ws"


def connect(client, headers=None):
    """Open the socket as a same-origin page of `headers`' session would: with the
    HTTP-only session cookie (never a token in the URL)."""
    return client.websocket_connect(URL, headers=session_cookie(headers))


def test_notifications__order_paid_pushed_to_buyer(client, login_as, sync, escrow, create_ad, open_order, buyer):
    order_id = open_order(create_ad())
    sync()
    with connect(client, login_as(buyer)) as ws:
        assert receive_json(ws) == {"type": "subscribed", "address": buyer.address}
        escrow.mark_paid(order_id, keccak(text="ref"), sender=buyer)
        sync()
        push = receive_json(ws)
        assert push["type"] == "chain_event" and push["event"] == "OrderPaid"
        assert push["order_id"] == order_id and push["tx_hash"].startswith("0x")
        assert push["args"]["buyer"].lower() == buyer.address.lower()


def test_notifications__order_paid_pushed_to_seller_too(
    client, login_as, sync, escrow, create_ad, open_order, buyer, seller
):
    # OrderPaid names only the buyer; the seller is the one who must act on it.
    order_id = open_order(create_ad())
    sync()
    with connect(client, login_as(seller)) as ws:
        assert receive_json(ws) == {"type": "subscribed", "address": seller.address}
        escrow.mark_paid(order_id, keccak(text="ref"), sender=buyer)
        sync()
        push = receive_json(ws)
        assert push["event"] == "OrderPaid" and push["order_id"] == order_id


def test_notifications__others_orders_not_pushed(client, login_as, sync, escrow, create_ad, open_order, buyer, other):
    order_id = open_order(create_ad())
    sync()
    with connect(client, login_as(other)) as ws:
        receive_json(ws)
        escrow.mark_paid(order_id, keccak(text="ref"), sender=buyer)
        sync()
        client.app.state.follower.poll()  # returns once the OrderPaid row has been pushed
        client.app.state.hub.publish(other.address, {"type": "probe"})
        assert receive_json(ws) == {"type": "probe"}  # the OrderPaid push, had it come, would be first


def test_notifications__chat_message_notifies_other_party(client, login_as, sync, create_ad, open_order, buyer, seller):
    order_id = open_order(create_ad())
    sync()
    buyer_headers = login_as(buyer)
    with (
        connect(client, login_as(seller)) as seller_ws,
        connect(client, buyer_headers) as buyer_ws,
    ):
        receive_json(seller_ws), receive_json(buyer_ws)
        posted = client.post(f"/api/orders/{order_id}/chat", json={"body": "paid"}, headers=buyer_headers)
        assert posted.status_code == 201
        assert receive_json(seller_ws) == {"type": "chat", "order_id": order_id, "seq": 1}
        client.app.state.follower.poll()  # whatever this process would push of it is out
        for address, ws in ((buyer.address, buyer_ws), (seller.address, seller_ws)):
            client.app.state.hub.publish(address, {"type": "probe"})
            # Not to the sender, and once only to the other party: the process that stored
            # the message pushes it through its follower like every other process.
            assert receive_json(ws) == {"type": "probe"}


def test_notifications__unsubscribes_on_disconnect(client, login_as, buyer):
    hub = client.app.state.hub
    with connect(client, login_as(buyer)) as ws:
        receive_json(ws)
        assert len(hub._queues[buyer.address.lower()]) == 1
    for _ in range(100):  # the server side finishes after the client has gone
        if not hub._queues[buyer.address.lower()]:
            break
        time.sleep(0.02)
    assert not hub._queues[buyer.address.lower()]


@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer bogus"}])
def test_notifications__requires_sign_in(client, headers):
    with connect(client, headers) as ws, pytest.raises(WebSocketDisconnect) as refused:
        receive_json(ws)
    assert refused.value.code == 4401


def test_notifications__account_without_wallet_refused(client, db):
    from backend.auth.models import User
    from backend.auth.sessions import issue_session

    user = User(username="staff", roles="monitor")
    db.add(user)
    db.commit()
    db.refresh(user)
    token, _ = issue_session(db, user=user, ttl_seconds=60, method="password")
    with (
        connect(client, {"Authorization": f"Bearer {token}"}) as ws,
        pytest.raises(WebSocketDisconnect) as refused,
    ):
        receive_json(ws)
    assert refused.value.code == 4403
