"""What needs you: `GET /api/me/todos` lists the signed-in user's orders that wait for
them (pay, release, dispute reply), from the index, as the orders move on chain."""

REF = b"\x01" * 32
EVIDENCE = b"\x02" * 32


def todos(client, headers):
    response = client.get("/api/me/todos", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["items"])
    return [(item["order"]["id"], item["action"]) for item in body["items"]]


def test_todos__follow_the_order_open_paid_released(
    client, sync, login_as, escrow, create_ad, open_order, buyer, seller
):
    as_buyer, as_seller = login_as(buyer), login_as(seller)
    assert todos(client, as_buyer) == [] and todos(client, as_seller) == []

    order_id = open_order(create_ad())
    sync()
    assert todos(client, as_buyer) == [(order_id, "pay")]
    assert todos(client, as_seller) == []  # nothing for the seller to do until paid

    escrow.mark_paid(order_id, REF, sender=buyer)
    sync()
    assert todos(client, as_buyer) == []
    assert todos(client, as_seller) == [(order_id, "release")]
    item = client.get("/api/me/todos", headers=as_seller).json()["items"][0]
    assert item["order"]["status"] == "PAID" and item["order"]["buyer"] == buyer.address

    escrow.release(order_id, sender=seller)
    sync()
    assert todos(client, as_buyer) == [] and todos(client, as_seller) == []


def test_todos__another_users_orders_never_appear(
    client, sync, login_as, escrow, create_ad, open_order, buyer, seller, other
):
    ad_id = create_ad()
    unpaid, paid = open_order(ad_id), open_order(ad_id)
    escrow.mark_paid(paid, REF, sender=buyer)
    sync()
    assert todos(client, login_as(other)) == []
    assert todos(client, login_as(buyer)) == [(unpaid, "pay")]
    assert todos(client, login_as(seller)) == [(paid, "release")]


def test_todos__ended_and_expired_orders_need_nothing(
    client, sync, chain, login_as, escrow, create_ad, open_order, buyer, seller
):
    ad_id = create_ad()
    cancelled, expired = open_order(ad_id), open_order(ad_id)
    escrow.cancel(cancelled, sender=buyer)
    sync()
    assert todos(client, login_as(buyer)) == [(expired, "pay")]
    # Past the payment window the buyer can no longer pay: by the chain's clock, as indexed.
    chain.pending_timestamp += 2 * 3600
    chain.mine()
    sync()
    assert todos(client, login_as(buyer)) == []
    assert todos(client, login_as(seller)) == []


def test_todos__dispute_waits_for_the_other_partys_reply(
    chain, client, sync, login_as, escrow, create_ad, open_order, buyer, seller
):
    order_id = open_order(create_ad())
    sync()
    as_buyer, as_seller = login_as(buyer), login_as(seller)
    # Chat before the dispute is no reply to it.
    assert client.post(f"/api/orders/{order_id}/chat", json={"body": "hello"}, headers=as_seller).status_code == 201
    escrow.mark_paid(order_id, REF, sender=buyer)
    # The chain's clock, wherever it stands (ahead of the wall clock here), does not matter.
    chain.pending_timestamp += 3600
    escrow.open_dispute(order_id, EVIDENCE, sender=buyer)
    sync()
    assert todos(client, as_seller) == [(order_id, "dispute_reply")]
    assert todos(client, as_buyer) == []  # the buyer opened it: the arbitrator decides now

    reply = client.post(f"/api/orders/{order_id}/chat", json={"body": "I was not paid"}, headers=as_seller)
    assert reply.status_code == 201
    assert todos(client, as_seller) == []


def test_todos__signed_out_401(client):
    assert client.get("/api/me/todos").status_code == 401
    assert client.get("/api/me/todos", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_todos__account_without_wallet_400(client, db):
    from backend.auth.models import User
    from backend.auth.sessions import issue_session

    user = User(username="staff", roles="monitor")
    db.add(user)
    db.commit()
    db.refresh(user)
    token, _ = issue_session(db, user=user, ttl_seconds=60, method="password")
    response = client.get("/api/me/todos", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "wallet" in response.json()["detail"]
