"""Reputation in the browser: after a completed trade the buyer and the seller each leave
feedback from the order page (signed by the wallet, once), both see what the other said,
and the market's ad card and the seller's trader page show it next to the trade record.
In English and Simplified Chinese, on a desktop and on a phone-sized screen."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import EN, ZH, assert_all_chinese, fill

UNIT = 10**6
PAID_REF = b"\x07" * 32


@pytest.fixture
def released_order(escrow, create_ad, open_order, buyer, seller, backend):
    """A trade completed on chain (the trade's own journeys drive those steps in the
    browser): opened, paid, released, and indexed by the backend."""
    ad_id = create_ad()
    order_id = open_order(ad_id, 100 * UNIT)
    escrow.mark_paid(order_id, PAID_REF, sender=buyer)
    escrow.release(order_id, sender=seller)
    backend.wait_indexed()
    return ad_id, order_id


# Both languages and both screens, paired so the browser suite stays within CI's time.
@pytest.mark.parametrize("lang, mobile", [("en", False), ("zh-CN", True)], ids=["en-desktop", "zh-phone"])
def test_reputation__both_parties_leave_feedback_and_the_market_shows_it(
    open_page, connect, screenshot, released_order, buyer, seller, lang, mobile
):
    ad_id, order_id = released_order
    words = ZH if lang == "zh-CN" else EN
    width = 390 if mobile else 1280

    def order_page(account):
        handle = open_page(account, mobile=mobile)
        page = handle.page
        page.goto(f"/order.html?id={order_id}")
        if lang == "zh-CN":
            page.get_by_test_id("lang-switch").select_option("zh-CN")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        connect(page)
        expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
        return handle

    def leave(page, rating, comment, shot=None):
        form = page.get_by_test_id("feedback-form")
        expect(form).to_be_visible()
        # Nothing is signed without a rating.
        form.get_by_test_id("leave-feedback").click()
        expect(form.get_by_test_id("feedback-error")).to_have_text(words["reputation.choose_rating"])
        form.get_by_test_id(f"feedback-{rating}").check()
        expect(form.get_by_test_id("feedback-error")).to_have_text("")
        form.get_by_test_id("feedback-comment-input").fill(comment)
        expect(form.get_by_test_id("feedback-count")).to_have_text(
            fill(words["reputation.chars_left"], n=280 - len(comment))
        )
        if shot:
            screenshot(page, shot)
        form.get_by_test_id("leave-feedback").click()

    buyer_comment = "放币很快，谢谢！" if lang == "zh-CN" else "Released within minutes, thank you!"
    seller_comment = "付款晚了两个小时。" if lang == "zh-CN" else "Paid two hours late."

    # --- the buyer rates the seller from the order page
    b = order_page(buyer)
    bp = b.page
    card = bp.get_by_test_id("feedback-card")
    expect(card).to_be_visible()
    expect(card.locator("h2")).to_have_text(words["reputation.title"])
    expect(bp.get_by_test_id("feedback-seller")).to_have_attribute("data-left", "0")
    leave(bp, "positive", buyer_comment, shot=f"reputation-form-{lang}-{'phone' if mobile else 'desktop'}")
    mine = bp.get_by_test_id("feedback-buyer")
    expect(mine).to_have_attribute("data-left", "1")
    expect(mine.get_by_test_id("feedback-rating")).to_have_text(words["reputation.positive"])
    expect(mine.get_by_test_id("feedback-comment")).to_have_text(buyer_comment)
    expect(bp.get_by_test_id("feedback-form")).to_have_count(0)  # once: no second form
    assert "eth_signTypedData_v4" in b.wallet.requests  # signed by the wallet, no transaction
    assert "eth_sendTransaction" not in b.wallet.requests

    # --- the seller sees it and rates the buyer
    s = order_page(seller)
    sp = s.page
    theirs = sp.get_by_test_id("feedback-buyer")
    expect(theirs.get_by_test_id("feedback-comment")).to_have_text(buyer_comment)
    leave(sp, "negative", seller_comment)
    said = sp.get_by_test_id("feedback-seller")
    expect(said.get_by_test_id("feedback-comment")).to_have_text(seller_comment)
    expect(said).to_have_attribute("data-positive", "0")
    expect(said.get_by_test_id("feedback-rating")).to_have_text(words["reputation.negative"])
    expect(sp.get_by_test_id("feedback-form")).to_have_count(0)
    if lang == "zh-CN":
        assert_all_chinese(sp)
    assert sp.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(sp, f"reputation-order-{lang}-{'phone' if mobile else 'desktop'}")

    # --- the buyer's page shows the seller's feedback without a reload (it polls)
    expect(bp.get_by_test_id("feedback-seller").get_by_test_id("feedback-comment")).to_have_text(
        seller_comment, timeout=30_000
    )

    # --- the market: the seller's ad card shows the feedback beside the trade record
    bp.goto("/")
    ad = bp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    stats = ad.get_by_test_id("seller-stats")
    expect(stats).to_contain_text(fill(words.get("seller.trades_one", words["seller.trades"]), n=1))
    counts = stats.get_by_test_id("feedback-counts")
    expect(counts).to_have_attribute("data-positive", "1")
    expect(counts).to_have_text(fill(words["reputation.counts"], positive=1, negative=0))
    if lang == "zh-CN":
        assert_all_chinese(bp)
    assert bp.evaluate("document.documentElement.scrollWidth") <= width

    # --- the seller's trader page: the record and what the buyer wrote
    stats.get_by_test_id("seller-link").click()
    bp.wait_for_url(f"**/trader.html?address={seller.address}")
    expect(bp.get_by_test_id("trader-completed")).to_have_text("1")
    items = bp.get_by_test_id("trader-feedback-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(buyer_comment)
    expect(items.first).to_have_attribute("data-positive", "1")
    expect(bp.get_by_test_id("trader-stats").get_by_test_id("feedback-counts")).to_have_text(
        fill(words["reputation.counts"], positive=1, negative=0)
    )
    if lang == "zh-CN":
        assert_all_chinese(bp)
    assert bp.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(bp, f"reputation-trader-{lang}-{'phone' if mobile else 'desktop'}")
