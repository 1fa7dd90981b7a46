"""Market API: ads from chain events, filters, sort, orders with timelines, trader stats."""

import pytest
from conftest import PRICE, UNIT
from fastapi.testclient import TestClient


def test_ads__listed_from_chain_events(client, sync, create_ad, seller):
    ad_id = create_ad()
    assert sync() >= 1
    page = client.get("/api/ads").json()
    assert [a["id"] for a in page["items"]] == [ad_id]
    ad = page["items"][0]
    assert ad["maker"] == seller.address and ad["side"] == "sell"
    assert ad["available"] == str(1_000 * UNIT) and ad["fiat"] == "USD"
    assert ad["maker_stats"]["completed_trades"] == 0


def test_ads__cached_page_follows_the_index(client, sync, chain, escrow, create_ad, seller):
    first = create_ad()
    sync()
    assert ids(client.get("/api/ads")) == [first]
    assert ids(client.get("/api/ads")) == [first]  # the second from the page cache
    cache = client.app.state.ads_cache
    assert cache.hits >= 1

    # The in-process indexer clears the cache on commit: the next read is current.
    escrow.pause_ad(first, sender=seller)
    sync()
    assert ids(client.get("/api/ads")) == []

    # A reorg that drops the pause brings the ad back.
    snapshot = chain.snapshot()
    escrow.resume_ad(first, sender=seller)
    sync()
    assert ids(client.get("/api/ads")) == [first]
    chain.restore(snapshot)
    chain.mine(2)
    sync()
    assert ids(client.get("/api/ads")) == []


def test_ads__an_ad_seen_on_another_page_is_current_after_a_change(client, sync, escrow, create_ad, seller):
    """Page misses reuse each ad's JSON from the cache: a change to the ad (and to its
    seller's stats) must show on every page after the index moves."""
    first, second = create_ad(), create_ad()
    sync()
    assert [a["available"] for a in client.get("/api/ads", params={"limit": 1}).json()["items"]] == [str(1_000 * UNIT)]
    escrow.top_up(first, 5 * UNIT, sender=seller)
    sync()
    # Another page shape (a miss) holding the same ad: built from fresh data.
    page = client.get("/api/ads", params={"limit": 2}).json()["items"]
    assert {a["id"]: a["available"] for a in page} == {first: str(1_005 * UNIT), second: str(1_000 * UNIT)}


def test_ads__a_new_page_of_known_ads_needs_no_database(client, three_ads):
    """The filters' ordered ids are kept with the ads' JSON: another page of ads already
    seen is a slice, assembled on the event loop (`cached_page` has no engine to read)."""
    from backend.market import pages

    cheap, dear, small = three_ads
    assert ids(client.get("/api/ads", params={"sort": "-price"})) == [dear, small, cheap]
    cache = client.app.state.ads_cache
    filters = dict(
        token=None, fiat=None, min_price=None, max_price=None, amount=None, payment_method=None,
        side="sell", maker=None, include_inactive=False, sort="-price", limit=2, offset=1,
    )  # fmt: skip
    body = pages.cached_page(cache, filters)
    assert body is not None
    assert client.get("/api/ads", params={"sort": "-price", "limit": 2, "offset": 1}).content == body
    page = client.get("/api/ads", params={"sort": "-price", "limit": 2, "offset": 1}).json()
    assert [a["id"] for a in page["items"]] == [small, cheap] and page["total"] == 3
    # Past the end: an empty page with the right total, still no database.
    assert pages.cached_page(cache, {**filters, "offset": 5}) == b'{"items":[],"total":3,"limit":2,"offset":5}'


def test_ads__cached_page_follows_an_indexer_in_another_process(client, create_ad, make_indexer):
    """An indexer outside the app (`backend.cli index`) does not call the app: the cache
    notices the new index head in the database within `recheck_seconds`."""
    state = client.app.state
    assert ids(client.get("/api/ads")) == []
    ad_id = create_ad()
    outside = make_indexer()
    outside.catch_up()
    state.ads_cache.recheck_seconds = 0  # as if the recheck interval had passed
    assert ids(client.get("/api/ads")) == [ad_id]


@pytest.fixture
def three_ads(create_ad, other, token, escrow, sync, kyc_registry, admin, chain):
    # The escrow's KYC switch is on: `other` sells here, so it needs an attestation.
    kyc_registry.attest(other, 1, chain.pending_timestamp + 86_400, b"\x07" * 32, sender=admin)
    token.faucet(5_000 * UNIT, sender=other)
    token.approve(escrow, 2**256 - 1, sender=other)
    cheap = create_ad(price=700, payment_methods=0b001)
    dear = create_ad(price=760, payment_methods=0b010, fiat=b"EUR")
    small = create_ad(50 * UNIT, price=730, min_amount=1 * UNIT, max_amount=20 * UNIT, sender=other)
    sync()
    return cheap, dear, small


def ids(response):
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


def test_ads__filters(client, three_ads, other, token):
    cheap, dear, small = three_ads
    assert ids(client.get("/api/ads", params={"fiat": "eur"})) == [dear]
    assert ids(client.get("/api/ads", params={"min_price": 720})) == [small, dear]
    assert ids(client.get("/api/ads", params={"max_price": 730})) == [cheap, small]
    assert ids(client.get("/api/ads", params={"amount": 30 * UNIT})) == [cheap, dear]  # small can't fill 30
    assert ids(client.get("/api/ads", params={"payment_method": 0b010})) == [dear]
    assert ids(client.get("/api/ads", params={"maker": other.address.lower()})) == [small]
    assert ids(client.get("/api/ads", params={"token": token.address})) == [cheap, small, dear]


def test_ads__payment_method_bit_63(client, sync, create_ad):
    # The top bit sits in a signed 64-bit column: stored and filtered like any other.
    high = create_ad(payment_methods=2**63 | 1)
    low = create_ad(payment_methods=0b10)
    sync()
    assert ids(client.get("/api/ads", params={"payment_method": 2**63})) == [high]
    assert ids(client.get("/api/ads", params={"payment_method": 2**64 - 1})) == [high, low]
    assert client.get(f"/api/ads/{high}").json()["payment_methods"] == 2**63 | 1


def test_ads__sort_and_pages(client, three_ads):
    cheap, dear, small = three_ads
    assert ids(client.get("/api/ads", params={"sort": "-price"})) == [dear, small, cheap]
    assert ids(client.get("/api/ads", params={"sort": "newest"})) == [small, dear, cheap]
    assert ids(client.get("/api/ads", params={"sort": "-available"})) == [cheap, dear, small]
    page = client.get("/api/ads", params={"limit": 2, "offset": 1}).json()
    assert [a["id"] for a in page["items"]] == [small, dear] and page["total"] == 3


def test_ads__paused_and_closed_hidden_unless_asked(client, sync, escrow, create_ad, seller):
    paused, closed, live = create_ad(), create_ad(), create_ad()
    escrow.pause_ad(paused, sender=seller)
    escrow.close_ad(closed, sender=seller)
    sync()
    assert ids(client.get("/api/ads")) == [paused, closed, live][2:]
    assert sorted(ids(client.get("/api/ads", params={"include_inactive": True}))) == [paused, closed, live]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"token": "0x123"}, "not an address"),
        ({"maker": "nothex"}, "not an address"),
        ({"min_price": "-5"}, "not a token amount"),
        ({"amount": "1.5"}, "not a token amount"),
        ({"fiat": "DOLLAR"}, "fiat"),
        ({"sort": "cheapest"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"payment_method": 0}, "payment_method"),
    ],
)
def test_ads__bad_filters_are_422(client, params, message):
    response = client.get("/api/ads", params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_ad__unknown_is_404(client):
    response = client.get("/api/ads/999")
    assert response.status_code == 404 and response.json()["detail"] == "ad 999 not found"
    assert client.get("/api/ads/0").status_code == 422
    assert client.get("/api/ads/abc").status_code == 422


def test_order__detail_with_timeline(client, sync, escrow, create_ad, open_order, seller, buyer):
    ad_id = create_ad()
    order_id = open_order(ad_id, 100 * UNIT)
    escrow.mark_paid(order_id, b"\x07" * 32, sender=buyer)
    escrow.release(order_id, sender=seller)
    sync()
    order = client.get(f"/api/orders/{order_id}").json()
    assert order["status"] == "RELEASED"
    assert [t["event"] for t in order["timeline"]] == ["OrderOpened", "OrderPaid", "OrderReleased"]
    assert order["payment_ref"] == "0x" + "07" * 32
    fee = 100 * UNIT * 25 // 10_000
    assert order["fee"] == str(fee) and order["buyer_received"] == str(100 * UNIT - fee)
    assert order["fiat_total_minor"] == str(100 * PRICE)  # 100 tokens × 7.25
    assert order["seconds_to_deadline"] is None  # only counts down while OPEN
    ad = client.get(f"/api/ads/{ad_id}").json()
    assert ad["available"] == str(900 * UNIT) and ad["locked"] == "0"


def test_order__open_counts_down(client, sync, create_ad, open_order):
    order_id = open_order(create_ad(payment_window=3600))
    sync()
    seconds = client.get(f"/api/orders/{order_id}").json()["seconds_to_deadline"]
    assert 3500 < seconds <= 3600


def test_order__unknown_is_404(client):
    assert client.get("/api/orders/12345").status_code == 404


def test_order__on_chain_but_not_indexed_is_503_then_found(client, sync, create_ad, open_order):
    """The order page waits for an order the index has not reached yet; any other id is a
    final 404, so the page can say "no such order" at once."""
    order_id = open_order(create_ad())
    pending = client.get(f"/api/orders/{order_id}")
    assert pending.status_code == 503 and pending.headers["retry-after"] == "1"
    assert pending.json()["detail"] == f"order {order_id} is on the chain but not indexed yet"
    assert client.get(f"/api/orders/{order_id + 1}").status_code == 404
    sync()
    assert client.get(f"/api/orders/{order_id}").status_code == 200


def test_stats__from_chain_events(client, sync, chain, escrow, create_ad, open_order, seller, buyer):
    ad_id = create_ad()
    for _ in range(3):
        order_id = open_order(ad_id, 20 * UNIT)
        escrow.mark_paid(order_id, b"\x01" * 32, sender=buyer)
        chain.pending_timestamp += 120
        escrow.release(order_id, sender=seller)
    cancelled = open_order(ad_id, 20 * UNIT)
    escrow.cancel(cancelled, sender=buyer)
    sync()
    stats = client.get(f"/api/traders/{seller.address}/stats").json()
    assert stats["completed_trades"] == 3 and stats["ended_trades"] == 4
    assert stats["completion_rate"] == 0.75
    assert 115 <= stats["median_release_seconds"] <= 130
    listed = client.get("/api/ads").json()["items"][0]["maker_stats"]
    assert listed["completed_trades"] == 3
    assert client.get("/api/traders/0xnope/stats").status_code == 422


def test_stats__even_count_median_and_each_side(
    client, sync, chain, escrow, create_ad, open_order, seller, buyer, other
):
    """Aggregated in SQL: the median of an even count is the mean of the two middle
    release times; the buyer's side counts its orders but has no release time."""
    ad_id = create_ad()
    for seconds in (100, 200, 400, 1_000):
        order_id = open_order(ad_id, 20 * UNIT)
        escrow.mark_paid(order_id, b"\x01" * 32, sender=buyer)
        chain.pending_timestamp += seconds
        escrow.release(order_id, sender=seller)
    disputed = open_order(ad_id, 20 * UNIT)
    escrow.mark_paid(disputed, b"\x01" * 32, sender=buyer)
    escrow.open_dispute(disputed, b"\x02" * 32, sender=buyer)
    sync()
    sold = client.get(f"/api/traders/{seller.address}/stats").json()
    assert sold["as_seller"] == 5 and sold["as_buyer"] == 0 and sold["disputes"] == 1
    assert sold["completed_trades"] == 4 and sold["ended_trades"] == 4 and sold["completion_rate"] == 1.0
    assert 295 <= sold["median_release_seconds"] <= 310  # (200 + 400) / 2, give or take a block
    bought = client.get(f"/api/traders/{buyer.address}/stats").json()
    assert bought["as_buyer"] == 5 and bought["as_seller"] == 0 and bought["median_release_seconds"] is None
    nobody = client.get(f"/api/traders/{other.address}/stats").json()
    assert nobody["ended_trades"] == 0 and nobody["completion_rate"] is None


def test_stats__completion_rate_counts_orders_on_the_sellers_ads_only(
    client, sync, escrow, create_ad, open_order, seller, buyer
):
    """A seller's completion rate is about the orders on their ads: their own cancels as a
    buyer on someone else's ad say nothing about how they sell."""
    ad_id = create_ad()
    for _ in range(2):
        order_id = open_order(ad_id, 20 * UNIT)
        escrow.mark_paid(order_id, b"\x01" * 32, sender=buyer)
        escrow.release(order_id, sender=seller)
    elsewhere = create_ad(sender=buyer)
    for _ in range(3):
        escrow.cancel(open_order(elsewhere, 20 * UNIT, sender=seller), sender=seller)
    sync()
    stats = client.get(f"/api/traders/{seller.address}/stats").json()
    assert stats["completion_rate"] == 1.0 and stats["ended_on_own_ads"] == 2
    assert stats["completed_trades"] == 2 and stats["as_buyer"] == 3
    listed = {a["id"]: a["maker_stats"] for a in client.get("/api/ads").json()["items"]}
    assert listed[ad_id]["completion_rate"] == 1.0
    # The other trader's ad saw three orders end, none completed.
    assert listed[elsewhere]["completion_rate"] == 0.0 and listed[elsewhere]["ended_on_own_ads"] == 3


def test_orders__mine_and_a_traders(client, sync, login_as, create_ad, open_order, buyer, seller, other):
    ad_id = create_ad()
    first, second = open_order(ad_id), open_order(ad_id)
    sync()
    mine = client.get("/api/me/orders", headers=login_as(buyer)).json()
    assert [o["id"] for o in mine["items"]] == [second, first]
    as_seller = client.get("/api/me/orders", params={"role": "seller"}, headers=login_as(seller)).json()
    assert as_seller["total"] == 2
    assert client.get("/api/me/orders", headers=login_as(other)).json()["total"] == 0
    assert client.get("/api/me/orders").status_code == 401
    assert client.get(f"/api/traders/{buyer.address}/orders", params={"status": "open"}).json()["total"] == 2
    assert client.get(f"/api/traders/{buyer.address}/orders", params={"status": "lost"}).status_code == 422


def test_deployment__served_for_the_frontend(client, manifest, escrow):
    body = client.get("/api/chain/deployment").json()
    assert body["chain_id"] == manifest["chain_id"]
    assert body["contracts"]["OtcEscrow"] == manifest["contracts"]["OtcEscrow"]["address"]
    assert body["tokens"][0]["symbol"] == "TUSD"
    assert body["rpc_url"] == client.app.state.settings.rpc_url  # no public RPC URL set
    # The escrow's rules as the deployed contract states them, for the pages to read.
    rules = body["protocol"]
    assert rules["seller_dispute_grace"] == escrow.SELLER_DISPUTE_GRACE() == 3600
    assert rules["min_payment_window"] == escrow.MIN_PAYMENT_WINDOW() == 15 * 60
    assert rules["max_payment_window"] == escrow.MAX_PAYMENT_WINDOW() == 7 * 24 * 3600
    assert rules["max_fee_bps"] == escrow.MAX_FEE_BPS() == 200
    assert rules["fee_bps"] == escrow.fee_bps()
    assert rules["statuses"] == [
        {"name": "OPEN", "code": escrow.STATUS_OPEN(), "ended": False},
        {"name": "PAID", "code": escrow.STATUS_PAID(), "ended": False},
        {"name": "RELEASED", "code": escrow.STATUS_RELEASED(), "ended": True},
        {"name": "CANCELLED", "code": escrow.STATUS_CANCELLED(), "ended": True},
        {"name": "DISPUTED", "code": escrow.STATUS_DISPUTED(), "ended": False},
        {"name": "RESOLVED", "code": escrow.STATUS_RESOLVED(), "ended": True},
    ]
    assert rules["cancel_reasons"] == [
        {"code": escrow.CANCEL_BY_BUYER(), "reason": "buyer"},
        {"code": escrow.CANCEL_EXPIRED(), "reason": "expired"},
    ]


def test_deployment__rules_read_once_at_start_up(client, monkeypatch):
    chain = client.app.state.chain
    assert chain._rules is not None  # read by the start-up

    def no_chain(*_args, **_kwargs):
        raise AssertionError("the rules were read again")

    monkeypatch.setattr(type(chain), "contract", no_chain)
    for _ in range(2):
        assert client.get("/api/chain/deployment").json()["protocol"]["max_fee_bps"] == 200


def test_deployment__served_fee_follows_fee_changed(client, sync, escrow, admin):
    before = client.get("/api/chain/deployment").json()["protocol"]["fee_bps"]
    escrow.set_fee(before + 25, sender=admin)
    sync()
    assert client.get("/api/chain/deployment").json()["protocol"]["fee_bps"] == before + 25
    escrow.set_fee(before, sender=admin)
    sync()
    assert client.get("/api/chain/deployment").json()["protocol"]["fee_bps"] == before


def test_deployment__chain_down_at_start_up_is_503_until_it_answers(settings, token):
    from backend.main import create_app

    with TestClient(create_app(settings.model_copy(update={"rpc_url": "http://127.0.0.1:9"}))) as down:
        response = down.get("/api/chain/deployment")
        assert response.status_code == 503 and "unreachable" in response.json()["detail"]
        down.app.state.chain.w3.provider.endpoint_uri = settings.rpc_url  # the node comes back
        assert down.get("/api/chain/deployment").json()["protocol"]["seller_dispute_grace"] == 3600


def test_deployment__public_rpc_url_is_what_wallets_get(settings, token):
    from fastapi.testclient import TestClient

    from backend.main import create_app

    settings.public_rpc_url = "https://rpc.desk.example"
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/chain/deployment").json()["rpc_url"] == "https://rpc.desk.example"


def test_oversized_body__413(client):
    response = client.post("/api/auth/nonce", content=b"x" * 2_000_000, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["detail"] == "request body too large: at most 1000000 bytes"


def test_start_up__anvil_relayer_key_refused_off_a_local_chain(settings, manifest, tmp_path, token):
    import json

    from backend.main import create_app

    with open(manifest["path"]) as file:
        remote = {**json.loads(file.read()), "chain_id": 11155111}
    path = tmp_path / "11155111.json"
    path.write_text(json.dumps(remote))
    # The relayer key only sends where the own-key fallback is on.
    app = create_app(settings.model_copy(update={"manifest_path": path, "relay_fallback_to_own_key": True}))
    with pytest.raises(RuntimeError, match="well-known relayer key"), TestClient(app):
        pass
