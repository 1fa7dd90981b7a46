"""Feedback on ended orders: each party once, signed with EIP-712 by their wallet (real
signatures from the test accounts' keys), read per order and per trader, and counted in
the trader stats the market shows."""

import pytest
from conftest import UNIT
from eth_account import Account

PAID_REF = b"\x07" * 32


def feedback_message(manifest, order_id, rating, comment, *, chain_id=None, escrow_address=None):
    """The typed data as a wallet would be asked to sign it, written out here (not taken
    from the backend), so a change to what the signature binds fails these tests."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Feedback": [
                {"name": "orderId", "type": "uint256"},
                {"name": "rating", "type": "string"},
                {"name": "comment", "type": "string"},
            ],
        },
        "primaryType": "Feedback",
        "domain": {
            "name": "Sentinel OTC",
            "version": "1",
            "chainId": chain_id or manifest["chain_id"],
            "verifyingContract": escrow_address or manifest["contracts"]["OtcEscrow"]["address"],
        },
        "message": {"orderId": order_id, "rating": rating, "comment": comment},
    }


def sign(account, message) -> str:
    return Account.sign_typed_data(account.private_key, full_message=message).signature.to_0x_hex()


@pytest.fixture
def leave(client, login_as, manifest):
    """leave(account, order_id, positive, comment, signer=None, **domain) -> the response."""

    def leave_(account, order_id, positive=True, comment="", *, signer=None, **domain):
        rating = "positive" if positive else "negative"
        signature = sign(signer or account, feedback_message(manifest, order_id, rating, comment, **domain))
        return client.post(
            f"/api/orders/{order_id}/feedback",
            json={"positive": positive, "comment": comment, "signature": signature},
            headers=login_as(account),
        )

    return leave_


@pytest.fixture
def released(sync, escrow, create_ad, open_order, seller, buyer):
    """A completed trade: opened, paid, released, indexed."""

    def make(ad_id=None):
        order_id = open_order(ad_id or create_ad(), 20 * UNIT)
        escrow.mark_paid(order_id, PAID_REF, sender=buyer)
        escrow.release(order_id, sender=seller)
        sync()
        return order_id

    return make


def test_feedback__each_party_once_after_release(client, leave, released, buyer, seller):
    order_id = released()
    first = leave(buyer, order_id, True, "Released within minutes, thanks!")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["author"] == buyer.address and body["subject"] == seller.address
    assert body["author_role"] == "buyer" and body["positive"] is True
    assert leave(seller, order_id, False, "Paid late.").status_code == 201

    again = leave(buyer, order_id, False, "changed my mind")
    assert again.status_code == 409 and "already left feedback" in again.json()["detail"]

    both = client.get(f"/api/orders/{order_id}/feedback").json()
    assert both["buyer"]["comment"] == "Released within minutes, thanks!" and both["buyer"]["positive"] is True
    assert both["seller"]["comment"] == "Paid late." and both["seller"]["positive"] is False
    # Anyone can check the stored signature against the order and the words.
    assert both["buyer"]["signature"] == body["signature"]

    about_seller = client.get(f"/api/traders/{seller.address}/feedback").json()
    assert about_seller["total"] == 1 and about_seller["summary"] == {"positive": 1, "negative": 0}
    assert about_seller["items"][0]["comment"] == "Released within minutes, thanks!"
    about_buyer = client.get(f"/api/traders/{buyer.address.lower()}/feedback").json()
    assert about_buyer["summary"] == {"positive": 0, "negative": 1}


def test_feedback__after_a_cancel(client, leave, sync, escrow, create_ad, open_order, buyer, seller):
    order_id = open_order(create_ad())
    escrow.cancel(order_id, sender=buyer)
    sync()
    assert leave(seller, order_id, False, "Opened an order and walked away.").status_code == 201
    assert client.get(f"/api/orders/{order_id}/feedback").json()["buyer"] is None


def test_feedback__after_a_resolved_dispute(client, leave, sync, escrow, create_ad, open_order, buyer, admin):
    order_id = open_order(create_ad())
    escrow.mark_paid(order_id, PAID_REF, sender=buyer)
    escrow.open_dispute(order_id, b"\x02" * 32, sender=buyer)
    escrow.resolve_dispute(order_id, 10_000, sender=admin)
    sync()
    assert client.get(f"/api/orders/{order_id}").json()["status"] == "RESOLVED"
    assert leave(buyer, order_id, False, "Needed the arbitrator.").status_code == 201


@pytest.mark.parametrize("paid", [False, True], ids=["open", "paid"])
def test_feedback__order_not_ended_is_409(client, leave, sync, escrow, create_ad, open_order, buyer, paid):
    order_id = open_order(create_ad())
    if paid:
        escrow.mark_paid(order_id, PAID_REF, sender=buyer)
    sync()
    response = leave(buyer, order_id, True, "too early")
    assert response.status_code == 409
    assert "feedback opens once it is released, cancelled or resolved" in response.json()["detail"]
    prepared = client.post(f"/api/orders/{order_id}/feedback/prepare", json={"positive": True}, headers={})
    assert prepared.status_code == 401


def test_feedback__non_party_is_403(leave, released, other):
    response = leave(other, released(), True, "never traded with them")
    assert response.status_code == 403
    assert "only the buyer and the seller" in response.json()["detail"]


def test_feedback__signature_from_another_wallet_is_403(leave, released, buyer, other):
    response = leave(buyer, released(), True, "great", signer=other)
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "signature is not from your wallet" in detail and other.address in detail


def test_feedback__signature_over_other_words_is_403(client, login_as, manifest, released, buyer):
    """The comment is bound: a signature over one text does not carry another."""
    order_id = released()
    signature = sign(buyer, feedback_message(manifest, order_id, "positive", "Smooth trade"))
    response = client.post(
        f"/api/orders/{order_id}/feedback",
        json={"positive": False, "comment": "Smooth trade", "signature": signature},
        headers=login_as(buyer),
    )
    assert response.status_code == 403
    response = client.post(
        f"/api/orders/{order_id}/feedback",
        json={"positive": True, "comment": "Scammer!", "signature": signature},
        headers=login_as(buyer),
    )
    assert response.status_code == 403
    assert client.get(f"/api/orders/{order_id}/feedback").json()["buyer"] is None


@pytest.mark.parametrize("binding", ["chain_id", "escrow_address", "order_id"])
def test_feedback__signature_for_another_chain_escrow_or_order_is_403(
    client, login_as, manifest, released, buyer, other, binding
):
    order_id = released()
    domain = {"chain_id": 1} if binding == "chain_id" else {}
    if binding == "escrow_address":
        domain["escrow_address"] = other.address
    signed_order = order_id + 1 if binding == "order_id" else order_id
    signature = sign(buyer, feedback_message(manifest, signed_order, "positive", "ok", **domain))
    response = client.post(
        f"/api/orders/{order_id}/feedback",
        json={"positive": True, "comment": "ok", "signature": signature},
        headers=login_as(buyer),
    )
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("0x1234", "not a signature: expected 0x followed by 130 hex digits"),
        ("0x" + "ff" * 65, "no signer can be recovered"),
    ],
    ids=["malformed", "unrecoverable"],
)
def test_feedback__bad_signature_is_422(client, login_as, released, buyer, signature, message):
    order_id = released()
    response = client.post(
        f"/api/orders/{order_id}/feedback",
        json={"positive": True, "comment": "", "signature": signature},
        headers=login_as(buyer),
    )
    assert response.status_code == 422
    assert message in str(response.json()["detail"])


def test_feedback__comment_too_long_is_422(client, leave, released, buyer):
    order_id = released()
    assert leave(buyer, order_id, True, "x" * 281).status_code == 422
    # 280 characters, not bytes: a full comment in Chinese fits.
    assert leave(buyer, order_id, True, "好" * 280).status_code == 201


def test_feedback__signed_in_and_known_order_only(client, leave, login_as, buyer):
    assert (
        client.post("/api/orders/1/feedback", json={"positive": True, "signature": "0x" + "ab" * 65}).status_code == 401
    )
    response = leave(buyer, 4242, True, "")
    assert response.status_code == 404 and response.json()["detail"] == "order 4242 not found"
    assert client.get("/api/orders/4242/feedback").status_code == 404
    assert client.get("/api/traders/0xnope/feedback").status_code == 422


def test_feedback__prepare_gives_the_message_to_sign(client, login_as, manifest, released, buyer, seller):
    order_id = released()
    prepared = client.post(
        f"/api/orders/{order_id}/feedback/prepare",
        json={"positive": True, "comment": "Fast and friendly"},
        headers=login_as(seller),
    )
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    assert body["signer"] == seller.address
    expected = feedback_message(manifest, order_id, "positive", "Fast and friendly")
    assert body["typed_data"]["domain"]["chainId"] == expected["domain"]["chainId"]
    assert body["typed_data"]["domain"]["verifyingContract"] == expected["domain"]["verifyingContract"]
    assert body["typed_data"]["message"] == {
        "orderId": str(order_id),
        "rating": "positive",
        "comment": "Fast and friendly",
    }
    # What the browser signs from it verifies.
    signature = sign(seller, body["typed_data"])
    posted = client.post(
        f"/api/orders/{order_id}/feedback",
        json={"positive": True, "comment": "Fast and friendly", "signature": signature},
        headers=login_as(seller),
    )
    assert posted.status_code == 201
    again = client.post(f"/api/orders/{order_id}/feedback/prepare", json={"positive": True}, headers=login_as(seller))
    assert again.status_code == 409


def test_feedback__trader_list_newest_first_in_pages(client, leave, released, create_ad, buyer, seller):
    ad_id = create_ad()
    orders = [released(ad_id) for _ in range(3)]
    for n, order_id in enumerate(orders):
        assert leave(buyer, order_id, n != 1, f"trade {n}").status_code == 201
    first = client.get(f"/api/traders/{seller.address}/feedback", params={"limit": 2}).json()
    assert [f["comment"] for f in first["items"]] == ["trade 2", "trade 1"]
    assert first["total"] == 3 and first["summary"] == {"positive": 2, "negative": 1}
    rest = client.get(f"/api/traders/{seller.address}/feedback", params={"limit": 2, "offset": 2}).json()
    assert [f["comment"] for f in rest["items"]] == ["trade 0"]
    assert client.get(f"/api/traders/{seller.address}/feedback", params={"limit": 0}).status_code == 422


def test_feedback__in_the_stats_the_market_shows(client, leave, released, create_ad, buyer, seller):
    """The ads list is cached until the index changes: feedback (off chain) clears it."""
    ad_id = create_ad()
    order_id = released(ad_id)
    listed = client.get("/api/ads").json()["items"][0]["maker_stats"]
    assert listed["feedback"] == {"positive": 0, "negative": 0}
    assert client.get("/api/ads").json()["items"][0]["maker_stats"]["feedback"]["positive"] == 0  # cached
    assert leave(buyer, order_id, True, "good").status_code == 201
    assert client.get("/api/ads").json()["items"][0]["maker_stats"]["feedback"] == {"positive": 1, "negative": 0}
    assert client.get(f"/api/ads/{ad_id}").json()["maker_stats"]["feedback"]["positive"] == 1
    stats = client.get(f"/api/traders/{seller.address}/stats").json()
    assert stats["feedback"] == {"positive": 1, "negative": 0} and stats["completed_trades"] == 1
