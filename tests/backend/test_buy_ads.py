"""Buy ads through the backend, on the real Anvil: a buyer posts an ad to buy, a seller fills
it (the seller's tokens locked then), and the index, the ads list, orders, stats, to-dos,
payment details, the relay and the monitoring rules all see who is who."""

import pytest
from conftest import HOUR, PRICE, UNIT, USD
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from sqlmodel import select

from backend.monitoring.models import Alert

TERMS = keccak(text="I pay by bank transfer within the hour.")
REF = b"\x01" * 32
BANK = {"bank_name": "Sandbox Bank", "holder": "Sam Seller", "account": "DE89 3704 0044 0532 0130 00"}


@pytest.fixture
def create_buy_ad(escrow, token, buyer):
    def create(amount=500 * UNIT, *, sender=None, price=PRICE, payment_methods=0b101, terms_hash=TERMS):
        tx = escrow.create_buy_ad(
            token, amount, price, USD, 10 * UNIT, 300 * UNIT, HOUR, payment_methods, terms_hash, sender=sender or buyer
        )
        return tx.decode_logs(escrow.AdCreated)[0].ad_id

    return create


@pytest.fixture
def open_sell_order(escrow, seller):
    def open_(ad_id, amount=100 * UNIT, *, sender=None, min_price=PRICE):
        tx = escrow.open_sell_order(ad_id, amount, min_price, sender=sender or seller)
        return tx.decode_logs(escrow.OrderOpened)[0].order_id

    return open_


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def ids(response):
    return [ad["id"] for ad in ok(response)["items"]]


def todos(client, headers):
    return [(item["order"]["id"], item["action"]) for item in ok(client.get("/api/me/todos", headers=headers))["items"]]


def test_buy_ad__a_whole_trade_indexed(
    client, sync, escrow, token, create_ad, create_buy_ad, open_sell_order, login_as, buyer, seller
):
    sell_ad = create_ad()
    buy_ad = create_buy_ad(price=740)
    sync()

    # The market's two sides: sell ads by default, buy ads on asking, both with `any`.
    assert ids(client.get("/api/ads")) == [sell_ad]
    assert ids(client.get("/api/ads", params={"side": "buy"})) == [buy_ad]
    assert sorted(ids(client.get("/api/ads", params={"side": "any"}))) == [sell_ad, buy_ad]
    assert ids(client.get("/api/ads", params={"side": "buy", "maker": buyer.address})) == [buy_ad]
    assert ids(client.get("/api/ads", params={"side": "buy", "maker": seller.address})) == []
    ad = ok(client.get(f"/api/ads/{buy_ad}"))
    assert ad["side"] == "buy" and ad["maker"] == buyer.address and ad["maker_stats"]["address"] == buyer.address
    assert ad["available"] == str(500 * UNIT) and ad["locked"] == "0" and ad["terms_hash"] == "0x" + TERMS.hex()

    # The seller fills it: the seller's tokens go into the escrow, the ad wants less.
    seller_before, buyer_before = token.balanceOf(seller), token.balanceOf(buyer)
    order_id = open_sell_order(buy_ad, 100 * UNIT, min_price=740)
    assert token.balanceOf(seller) == seller_before - 100 * UNIT
    sync()
    order = ok(client.get(f"/api/orders/{order_id}"))
    assert order["side"] == "buy" and order["buyer"] == buyer.address and order["seller"] == seller.address
    assert order["status"] == "OPEN" and order["price"] == "740" and order["fiat_total_minor"] == str(100 * 740)
    ad = ok(client.get(f"/api/ads/{buy_ad}"))
    assert ad["available"] == str(400 * UNIT) and ad["locked"] == str(100 * UNIT)
    assert ok(client.get(f"/api/ads/{sell_ad}"))["side"] == "sell"

    # Each party's orders and to-dos: the buyer (the ad's maker) pays, the seller releases.
    as_buyer, as_seller = login_as(buyer), login_as(seller)
    mine = ok(client.get("/api/me/orders", headers=as_seller, params={"role": "seller"}))["items"]
    assert [(o["id"], o["side"]) for o in mine] == [(order_id, "buy")]
    assert todos(client, as_buyer) == [(order_id, "pay")] and todos(client, as_seller) == []
    escrow.mark_paid(order_id, REF, sender=buyer)
    sync()
    assert todos(client, as_buyer) == [] and todos(client, as_seller) == [(order_id, "release")]
    escrow.release(order_id, sender=seller)
    sync()
    assert todos(client, as_buyer) == [] and todos(client, as_seller) == []

    released = ok(client.get(f"/api/orders/{order_id}"))
    assert released["status"] == "RELEASED" and released["side"] == "buy"
    assert token.balanceOf(buyer) == buyer_before + int(released["buyer_received"])
    assert int(released["buyer_received"]) + int(released["fee"]) == 100 * UNIT
    ad = ok(client.get(f"/api/ads/{buy_ad}"))
    assert ad["available"] == str(400 * UNIT) and ad["locked"] == "0"

    # Stats: the order is on the buyer's own ad; the seller took someone else's ad.
    maker = ok(client.get(f"/api/traders/{buyer.address}/stats"))
    assert maker["as_buyer"] == 1 and maker["as_seller"] == 0 and maker["completed_trades"] == 1
    assert maker["ended_on_own_ads"] == 1 and maker["completion_rate"] == 1.0
    taker = ok(client.get(f"/api/traders/{seller.address}/stats"))
    assert taker["as_seller"] == 1 and taker["completed_trades"] == 1
    assert taker["ended_on_own_ads"] == 0 and taker["completion_rate"] is None
    assert taker["median_release_seconds"] is not None  # the seller released it
    listed = ok(client.get("/api/ads", params={"side": "buy"}))["items"][0]["maker_stats"]
    assert listed["address"] == buyer.address and listed["ended_on_own_ads"] == 1


def test_buy_ad__top_up_withdraw_cancel_and_close_as_the_contract_counts(
    client, sync, escrow, token, create_buy_ad, open_sell_order, buyer, seller
):
    ad_id = create_buy_ad()
    escrow.top_up(ad_id, 50 * UNIT, sender=buyer)  # wants more, pays nothing in
    escrow.withdraw(ad_id, 20 * UNIT, sender=buyer)  # wants less
    seller_before = token.balanceOf(seller)
    order_id = open_sell_order(ad_id, 100 * UNIT)
    escrow.cancel(order_id, sender=buyer)  # the seller's tokens go back to the seller
    assert token.balanceOf(seller) == seller_before
    kept = open_sell_order(ad_id, 50 * UNIT)
    escrow.close_ad(ad_id, sender=buyer)
    sync()
    ad = ok(client.get(f"/api/ads/{ad_id}"))
    assert ad["closed"] and not ad["active"] and ad["available"] == "0" and ad["locked"] == str(50 * UNIT)
    cancelled = ok(client.get(f"/api/orders/{order_id}"))
    assert cancelled["status"] == "CANCELLED" and cancelled["cancel_reason"] == "buyer"
    # Closed: gone from the list, still there with include_inactive.
    assert ids(client.get("/api/ads", params={"side": "buy"})) == []
    assert ids(client.get("/api/ads", params={"side": "buy", "include_inactive": "true"})) == [ad_id]
    # The order opened before the close still ends; its tokens go to the seller, not to the closed ad.
    escrow.cancel(kept, sender=buyer)
    sync()
    ad = ok(client.get(f"/api/ads/{ad_id}"))
    assert ad["available"] == "0" and ad["locked"] == "0"
    assert token.balanceOf(seller) == seller_before
    # The buyer cancelled both orders on their own ad: their record as a maker says so.
    stats = ok(client.get(f"/api/traders/{buyer.address}/stats"))
    assert stats["ended_on_own_ads"] == 2 and stats["completion_rate"] == 0.0


def test_buy_ad__the_buyer_is_shown_the_sellers_details(
    client, sync, escrow, create_buy_ad, open_sell_order, login_as, buyer, seller, admin
):
    as_buyer, as_seller = login_as(buyer), login_as(seller)
    details = "/api/payments/details"
    detail = ok(client.post(details, json={"method": 0, "label": "main", "fields": BANK}, headers=as_seller))
    ok(client.post(details, json={"method": 1, "fields": {**BANK, "account": "other"}}, headers=as_seller))
    # A document of the buyer's own that shares the ad's hash must not stand in for the
    # seller's details: a buy ad's terms commit to no payment details.
    buyers_own = ok(
        client.post(
            details,
            json={"method": 0, "fields": {**BANK, "holder": "Bo Buyer", "account": "NOT THE SELLER"}},
            headers=as_buyer,
        )
    )
    document = ok(
        client.post("/api/payments/terms", json={"text": "x", "detail_ids": [buyers_own["id"]]}, headers=as_buyer)
    )
    ad_id = create_buy_ad(payment_methods=0b1, terms_hash=bytes.fromhex(document["terms_hash"][2:]))
    order_id = open_sell_order(ad_id)
    sync()

    path = f"/api/payments/orders/{order_id}/details"
    shown = ok(client.get(path, headers=as_buyer))
    assert not shown["committed"] and shown["reference"] == f"OTC-{order_id}"
    assert shown["fiat_total_minor"] == 100 * PRICE
    (method,) = shown["methods"]  # method 0 only: the ad takes bank transfers (bit 0)
    assert method["id"] == detail["id"] and method["fields"]["holder"] == "Sam Seller"
    commitment = ok(client.get(f"/api/payments/ads/{ad_id}/commitment"))
    assert commitment["document"] is None and not commitment["matches"] and "buy ad" in commitment["how"]

    # Only the buyer: the seller (who is paid) and a stranger are refused.
    assert client.get(path, headers=as_seller).status_code == 403
    assert client.get(path, headers=login_as(admin)).status_code == 403  # an arbitrator, but no dispute
    assert client.get(path).status_code == 401


def sign(account, typed_data) -> str:
    return Account.sign_message(encode_typed_data(full_message=typed_data), account.private_key).signature.to_0x_hex()


def relay(client, action, order_id, account, **extra):
    body = {"action": action, "order_id": order_id, **extra}
    prepared = ok(client.post("/api/relay/prepare", json=body))
    typed = prepared["typed_data"]
    submit = {
        **body,
        "nonce": int(typed["message"]["nonce"]),
        "deadline": int(typed["message"]["deadline"]),
        "signature": sign(account, typed),
    }
    return prepared, client.post("/api/relay/submit", json=submit)


def test_buy_ad__relay_signed_by_the_right_party(
    client, sync, escrow, token, create_buy_ad, open_sell_order, buyer, seller, relayer
):
    order_id = open_sell_order(create_buy_ad())
    ref = "0x" + "5a" * 32
    # Signed by the wrong party: refused with the party it needs, nothing sent.
    prepared, refused = relay(client, "mark_paid", order_id, seller, payment_ref=ref)
    assert prepared["signer"] == buyer.address
    assert refused.status_code == 400 and f"the order's buyer ({buyer.address})" in refused.json()["detail"]
    prepared, mark_paid = relay(client, "mark_paid", order_id, buyer, payment_ref=ref)
    assert mark_paid.status_code == 200, mark_paid.text
    assert escrow.orders(order_id).status == 2  # PAID

    prepared, refused = relay(client, "release", order_id, buyer)
    assert prepared["signer"] == seller.address
    assert refused.status_code == 400 and f"the order's seller ({seller.address})" in refused.json()["detail"]
    buyer_before = token.balanceOf(buyer)
    _, release = relay(client, "release", order_id, seller)
    assert release.status_code == 200, release.text
    assert escrow.orders(order_id).status == 3  # RELEASED
    assert token.balanceOf(buyer) > buyer_before
    sync()
    assert ok(client.get(f"/api/orders/{order_id}"))["status"] == "RELEASED"


def test_buy_ad__relay_cancel_by_the_buyer(client, sync, escrow, token, create_buy_ad, open_sell_order, buyer, seller):
    seller_before = token.balanceOf(seller)
    order_id = open_sell_order(create_buy_ad())
    _, refused = relay(client, "cancel", order_id, seller)
    assert refused.status_code == 400 and "the order's buyer" in refused.json()["detail"]
    _, cancel = relay(client, "cancel", order_id, buyer)
    assert cancel.status_code == 200, cancel.text
    assert escrow.orders(order_id).status == 4 and token.balanceOf(seller) == seller_before


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"monitoring_burst_orders": 3, "monitoring_large_order_amount": 250 * UNIT})


def test_buy_ad__monitoring_names_the_taker(
    client, db, sync, create_ad, open_order, create_buy_ad, open_sell_order, buyer, seller
):
    """The seller filling buy ads is the one opening orders: a burst and a large order are
    about the seller, and the buyer's orders on the seller's sell ad are not the seller's."""
    sell_ad, buy_ad = create_ad(), create_buy_ad()
    open_order(sell_ad)  # the buyer opens one on the seller's sell ad
    open_sell_order(buy_ad, 20 * UNIT)
    open_sell_order(buy_ad, 20 * UNIT)
    sync()
    assert db.exec(select(Alert).where(Alert.rule == "order_burst")).all() == []
    third = open_sell_order(buy_ad, 260 * UNIT)
    sync()
    db.expire_all()
    burst = db.exec(select(Alert).where(Alert.rule == "order_burst")).one()
    assert burst.address == seller.address and burst.order_id == third
    large = db.exec(select(Alert).where(Alert.rule == "large_order")).one()
    assert large.address == seller.address and large.order_id == third


@pytest.mark.parametrize(
    "params, words",
    [
        ({"side": "both"}, "'sell', 'buy' or 'any'"),
        ({"side": "SELL"}, "'sell', 'buy' or 'any'"),
        ({"side": ""}, "'sell', 'buy' or 'any'"),
        ({"maker": "0x123"}, "not an address"),
        ({"seller": "0x" + "11" * 20}, "renamed"),
    ],
)
def test_ads__bad_side_or_maker_is_422(client, params, words):
    response = client.get("/api/ads", params=params)
    assert response.status_code == 422
    assert words in str(response.json()["detail"])


def test_buy_ad__paid_from_the_desk_balance_reaches_the_seller(
    client, sync, escrow, create_buy_ad, open_sell_order, login_as, buyer, seller
):
    from backend.ledger.service import DESK_BALANCE_BIT

    as_buyer, as_seller = login_as(buyer), login_as(seller)
    total = 100 * PRICE
    order_id = open_sell_order(create_buy_ad(payment_methods=0b1 | 1 << DESK_BALANCE_BIT))
    sync()
    ok(
        client.post(
            "/api/ledger/topup", json={"id": "buy-ad-topup", "currency": "USD", "amount": total}, headers=as_buyer
        )
    )
    assert client.post(f"/api/ledger/orders/{order_id}/pay", headers=as_seller).status_code == 403  # the seller is paid
    paid = ok(client.post(f"/api/ledger/orders/{order_id}/pay", headers=as_buyer))
    escrow.mark_paid(order_id, paid["payment_ref"], sender=buyer)
    escrow.release(order_id, sender=seller)
    sync()
    accounts = {a["currency"]: a for a in ok(client.get("/api/ledger/accounts", headers=as_seller))}
    assert accounts["USD"]["available"] == total


def test_buy_ad__explorer_decodes_it(client, sync, escrow, token, create_buy_ad, buyer):
    ad_id = create_buy_ad()
    tx = escrow.create_buy_ad(token, 50 * UNIT, PRICE, USD, 10 * UNIT, 50 * UNIT, HOUR, 0b1, TERMS, sender=buyer)
    [result] = ok(client.get("/api/explorer/search", params={"q": tx.txn_hash}))["results"]
    assert result["call"]["function"] == "create_buy_ad"
    # A buy ad pulls nothing: its only event is the escrow's.
    [created] = result["events"]
    assert created["name"] == "AdCreated" and created["args"]["maker"] == buyer.address and created["args"]["side"] == 2
    sync()
    found = ok(client.get("/api/explorer/search", params={"q": str(ad_id)}))["results"]
    ad = next(r for r in found if r["kind"] == "ad")
    assert ad["side"] == "buy" and ad["maker"] == buyer.address
    address = ok(client.get("/api/explorer/search", params={"q": buyer.address}))["results"][0]
    assert address["ads_count"] == 2
