"""The whole trade in two browsers: the seller posts an ad (approve, then create), the
buyer finds it and opens an order, both chat, the buyer marks paid, the seller releases,
and the balances on chain are right."""

import re

from playwright.sync_api import expect

UNIT = 10**6
FEE_BPS = 25  # deploy_stack's default


def test_trade__seller_posts_buyer_buys_both_chat_seller_releases(
    open_page, connect, confirm, screenshot, backend, escrow, token, seller, buyer
):
    seller_before = token.balanceOf(seller)
    buyer_before = token.balanceOf(buyer)

    # --- the seller posts an ad in two steps: approve, then create
    s = open_page(seller)
    sp = s.page
    sp.goto("/create-ad.html")
    connect(sp)
    expect(sp.get_by_test_id("balance")).to_contain_text("10,000 TUSD")
    sp.get_by_test_id("ad-amount").fill("1000")
    sp.get_by_test_id("ad-price").fill("7.25")
    sp.get_by_test_id("ad-min").fill("10")
    sp.get_by_test_id("ad-max").fill("500")
    sp.get_by_test_id("method-1").check()
    sp.get_by_test_id("ad-terms").fill("Bank transfer or Alipay; the payer's name must match the wallet owner's.")
    expect(sp.get_by_test_id("create-ad")).to_be_disabled()  # step 2 waits for step 1
    sp.get_by_test_id("approve").click()
    expect(sp.locator("#approve-tx [data-testid=tx-status]")).to_have_attribute("data-state", "done")
    expect(sp.get_by_test_id("step-approve")).to_have_class(re.compile("step-done"))
    expect(sp.get_by_test_id("create-ad")).to_be_enabled()
    sp.get_by_test_id("create-ad").click()
    created = sp.get_by_test_id("ad-created")
    expect(created).to_be_visible()
    ad_id = int(created.get_attribute("data-ad-id"))
    expect(sp.locator("#create-tx [data-testid=tx-hash]")).to_have_attribute(
        "href", re.compile(r"explorer\.html\?q=0x[0-9a-f]{64}")
    )
    screenshot(sp, "create-ad")
    assert token.balanceOf(seller) == seller_before - 1_000 * UNIT

    # --- the buyer (on a phone) finds it in the market and opens an order at the price shown
    b = open_page(buyer, mobile=True)
    bp = b.page
    bp.goto("/")
    connect(bp)
    card = bp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    expect(card.get_by_test_id("ad-price")).to_have_text("$7.25")
    expect(card.get_by_test_id("ad-available")).to_have_text("1,000 TUSD")
    expect(card.get_by_test_id("seller-stats")).to_contain_text("new seller")
    bp.get_by_test_id("filters-toggle").click()  # on a phone the filters wait behind their toggle
    bp.get_by_test_id("filter-fiat").fill("usd")
    expect(bp.get_by_test_id("ad-list")).to_have_attribute("data-query", re.compile('"fiat":"USD"'))
    expect(bp.get_by_test_id("result-count")).to_have_text("Showing 1 of 1 ads")
    screenshot(bp, "market-mobile")
    assert bp.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
    card.get_by_test_id("buy").click()
    card.get_by_test_id("buy-amount").fill("100")
    expect(card.get_by_test_id("buy-total")).to_have_text("You pay $725.00")
    # The fee the escrow will keep, at the rate the backend read from it (deployed with 0.25%).
    assert escrow.fee_bps() == 25
    expect(card.get_by_test_id("buy-receive")).to_have_text("You receive 99.75 TUSD after the desk's 0.25% fee")
    card.get_by_test_id("open-order").click()
    bp.wait_for_url(re.compile(r"/order\.html\?id=\d+$"))
    order_id = int(bp.url.rsplit("=", 1)[1])
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "OPEN")
    expect(bp.get_by_test_id("order-role")).to_have_text("You are the buyer.")
    expect(bp.get_by_test_id("fiat-total")).to_have_text("$725.00")
    expect(bp.get_by_test_id("countdown")).to_have_text(re.compile(r"^(59|60):\d\d$"))

    # --- both chat
    sp.goto(f"/order.html?id={order_id}")
    expect(sp.get_by_test_id("order-role")).to_have_text("You are the seller.")
    expect(bp.get_by_test_id("chat-conn")).to_have_text("live")
    expect(sp.get_by_test_id("chat-conn")).to_have_text("live")
    bp.get_by_test_id("chat-input").fill("Hi! Paying 725 USD by bank transfer now.")
    bp.get_by_test_id("chat-send").click()
    expect(sp.get_by_test_id("chat-message")).to_contain_text(["Paying 725 USD by bank transfer"])
    sp.get_by_test_id("chat-input").fill("Thanks, I will release as soon as it arrives.")
    sp.get_by_test_id("chat-send").click()
    expect(bp.get_by_test_id("chat-message")).to_have_count(2)
    expect(bp.get_by_test_id("chat-message").nth(1)).to_contain_text("I will release")
    expect(bp.get_by_test_id("chat-head")).to_contain_text("Transcript hash: 0x")

    # --- the buyer marks paid; the seller's page follows (push or poll) and releases
    bp.get_by_test_id("action-mark-paid").click()
    confirm(bp)
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    expect(sp.get_by_test_id("actions-note")).to_contain_text("The buyer says $725.00 is paid")
    sp.get_by_test_id("action-release").click()
    confirm(sp, tick=True)
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
    timeline = sp.get_by_test_id("timeline-item")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(2)).to_contain_text("Tokens released")
    # the README shows this one: with the release's progress box finished, not mid-update
    expect(sp.locator("#order-tx [data-testid=tx-status]")).to_have_attribute("data-state", "done")
    screenshot(sp, "order-released")
    screenshot(bp, "order-mobile")

    # --- balances on chain
    amount = 100 * UNIT
    fee = amount * FEE_BPS // 10_000
    assert token.balanceOf(buyer) == buyer_before + amount - fee
    assert token.balanceOf(seller) == seller_before - 1_000 * UNIT
    assert token.balanceOf(escrow) == 900 * UNIT + fee
    assert escrow.ads(ad_id).available == 900 * UNIT
    assert escrow.orders(order_id).status == 3  # RELEASED

    # --- the release tx's hash leads to the explorer, decoded
    release_link = sp.locator("#order-tx [data-testid=tx-hash]")
    tx_hash = release_link.get_attribute("href").split("q=")[1]
    sp.goto(f"/explorer.html?q={tx_hash}")
    result = sp.get_by_test_id("explorer-result")
    expect(result).to_have_attribute("data-kind", "tx")
    expect(result).to_contain_text("OtcEscrow.release(")
    expect(result.get_by_test_id("explorer-events")).to_contain_text("OrderReleased")
    screenshot(sp, "explorer-tx")
