"""Buy ads (issue 9), in English on a desktop and in Chinese on a phone: a buyer posts a
buy ad from the ad form (no approval: the escrow pulls nothing), and a number the escrow
would refuse never reaches the wallet; the market's "Sell" tab lists buy ads only, best
price first; a seller fills one from its "Sell" panel (approve, then open_sell_order at
the price shown), which locks the seller's tokens; the buyer marks paid, the seller
releases, and the buyer's balance grows by the amount less the desk's fee. My ads shows
the buy ad with the wording of its side (raise / lower the amount wanted)."""

import json
import re
from pathlib import Path

import httpx
import pytest
from eth_utils import keccak
from playwright.sync_api import expect

UNIT = 10**6
I18N = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
TABLES = {lang: json.loads((I18N / f"{lang}.json").read_text()) for lang in ("en", "zh-CN")}
USD = {"en": "$", "zh-CN": "US$"}  # what Intl writes for US dollars in each language
ORDER_URL = re.compile(r"/order\.html\?id=\d+$")
OPEN, RELEASED = 1, 3
SIDE_BUY = 2


class Words:
    """The page's `t(key, vars)` for one language."""

    def __init__(self, lang):
        self.lang = lang
        self.table = TABLES[lang]

    def __call__(self, key, **values):
        text = self.table[key]
        for name, value in values.items():
            text = text.replace(f"{{{name}}}", str(value))
        return text

    def usd(self, amount: str) -> str:
        return f"{USD[self.lang]}{amount}"


def page_in(open_page, account, lang, mobile):
    """A page of `account`'s wallet whose language is `lang` from the first load on."""
    handle = open_page(account, mobile=mobile)
    handle.page.context.add_init_script(script=f"localStorage.setItem('sentinel.lang', {json.dumps(lang)})")
    return handle


def sent_transactions(handle) -> int:
    return handle.wallet.requests.count("eth_sendTransaction")


# Both languages and both screens, paired so the browser suite stays within CI's time.
@pytest.mark.parametrize("lang, mobile", [("en", False), ("zh-CN", True)], ids=["en-desktop", "zh-phone"])
def test_buy_ad__buyer_posts_seller_fills_from_the_sell_tab_buyer_pays_seller_releases(
    lang,
    mobile,
    open_page,
    connect,
    confirm,
    check_a11y,
    screenshot,
    backend,
    chain,
    escrow,
    kyc_registry,
    token,
    create_ad,
    admin,
    seller,
    buyer,
    other,
):
    t = Words(lang)
    shot = f"{lang}-{'phone' if mobile else 'desktop'}"

    # ---- the buyer posts a buy ad from the form
    b = page_in(open_page, buyer, lang, mobile)
    bp = b.page
    bp.goto("/create-ad.html")
    connect(bp)
    bp.get_by_test_id("ad-side-buy").check()
    expect(bp.get_by_test_id("step-approve")).to_be_hidden()
    expect(bp.locator("#amount-label")).to_have_text(t("buyads.create_amount"))
    bp.get_by_test_id("ad-amount").fill("500")
    bp.get_by_test_id("ad-min").fill("10")
    bp.get_by_test_id("ad-max").fill("500")
    # A price above the escrow's uint64 bound: refused in the form, nothing can be sent.
    bp.get_by_test_id("ad-price").fill("9" * 80)
    too_large = t("numbers.too_large", max="184467440737095516.15")
    expect(bp.get_by_test_id("ad-price-parsed")).to_have_text(too_large)
    expect(bp.get_by_test_id("form-error")).to_have_text(too_large)
    expect(bp.get_by_test_id("create-ad")).to_be_disabled()
    # What the buyer receives of each amount after the desk's fee (deployed at 0.25%).
    bp.get_by_test_id("ad-price").fill("7,25")  # the decimal comma: $7.25
    expect(bp.get_by_test_id("ad-price-parsed")).to_have_text(
        "= " + t("numbers.per_token", price=t.usd("7.25"), symbol="TUSD")
    )
    expect(bp.get_by_test_id("ad-fee")).to_have_text(
        t("buyads.ad_fee", amount="500 TUSD", net="498.75 TUSD", rate="0.25%")
    )
    expect(bp.get_by_test_id("form-error")).to_have_text("")
    assert sent_transactions(b) == 0
    screenshot(bp, f"buy-ads-create-{shot}")
    check_a11y(bp, "create-ad.html, buy side")
    buyer_tokens = token.balanceOf(buyer)
    bp.get_by_test_id("create-ad").click()
    created = bp.get_by_test_id("ad-created")
    expect(created).to_be_visible()
    ad_id = int(created.get_attribute("data-ad-id"))
    expect(created).to_contain_text(t("buyads.created", id=ad_id))
    assert sent_transactions(b) == 1  # create_buy_ad alone: no approval
    ad = escrow.ads(ad_id)
    assert (ad.maker, ad.side, ad.available, ad.price) == (buyer.address, SIDE_BUY, 500 * UNIT, 725)
    assert token.balanceOf(buyer) == buyer_tokens  # nothing pulled
    backend.wait_indexed()
    listed = httpx.get(f"{backend.url}/api/ads/{ad_id}").json()
    assert (listed["side"], listed["maker"].lower()) == ("buy", buyer.address.lower())
    # The (empty) terms text's hash: a buy ad commits to no payment details.
    assert listed["terms_hash"] == "0x" + keccak(text="").hex()

    # Another (verified) buyer's lower bid and a sell ad: the Sell tab lists buy ads, highest
    # price first.
    kyc_registry.attest(other, 2, chain.pending_timestamp + 10**8, keccak(text="test-kyc-other"), sender=admin)
    low_bid = (
        escrow.create_buy_ad(
            token, 300 * UNIT, 710, b"USD", 10 * UNIT, 300 * UNIT, 3600, 0b1, keccak(text=""), sender=other
        )
        .decode_logs(escrow.AdCreated)[0]
        .ad_id
    )
    sell_ad = create_ad()
    backend.wait_indexed()

    # ---- the seller fills it from the market's Sell tab
    s = page_in(open_page, seller, lang, mobile)
    sp = s.page
    # Where the seller is paid: a buy ad's buyer pays the seller who fills it, to these.
    sp.goto("/my-ads.html")
    connect(sp)
    sp.get_by_test_id("detail-method").select_option("0")
    sp.get_by_test_id("detail-bank_name").fill("Sandbox Bank")
    sp.get_by_test_id("detail-holder").fill("Sam Seller")
    sp.get_by_test_id("detail-account").fill("DE89 3704 0044 0532 0130 00")
    sp.get_by_test_id("detail-save").click()
    expect(sp.get_by_test_id("detail-row")).to_contain_text("Sam Seller")
    sp.goto("/")
    expect(sp.get_by_test_id("side-buy")).to_have_attribute("aria-pressed", "true")
    expect(sp.locator(f"[data-testid=ad-card][data-ad-id='{sell_ad}']")).to_be_visible()
    sp.get_by_test_id("side-sell").click()
    expect(sp.get_by_test_id("side-sell")).to_have_attribute("aria-pressed", "true")
    expect(sp.get_by_test_id("sort")).to_have_value("-price")
    cards = sp.get_by_test_id("ad-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_have_attribute("data-ad-id", str(ad_id))
    expect(cards.nth(1)).to_have_attribute("data-ad-id", str(low_bid))
    assert "side=buy" in sp.url
    card = sp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    expect(card.get_by_test_id("seller-stats")).to_contain_text(t("buyads.buyer_label"))
    expect(card.get_by_test_id("ad-available")).to_have_text("500 TUSD")
    sell = card.get_by_test_id("sell")
    expect(sell).to_have_text(t("buyads.sell", symbol="TUSD"))
    sell.click()
    amount = card.get_by_test_id("sell-amount")
    # More than the buyer still wants: refused in words, nothing sent.
    amount.fill("600")
    expect(card.get_by_test_id("sell-parsed")).to_have_text(t("numbers.buy_above_max", max="500 TUSD"))
    card.get_by_test_id("open-sell-order").click()
    expect(card.get_by_test_id("sell-error")).to_have_text(t("numbers.buy_above_max", max="500 TUSD"))
    assert sent_transactions(s) == 0
    amount.fill("100")
    expect(card.get_by_test_id("sell-parsed")).to_have_text("= 100 TUSD")
    expect(card.get_by_test_id("sell-total")).to_have_text(t("buyads.you_receive_fiat", total=t.usd("725.00")))
    expect(card.get_by_test_id("sell-receive")).to_have_text(
        t("buyads.buyer_receives", amount="99.75 TUSD", rate="0.25%")
    )
    screenshot(sp, f"buy-ads-sell-panel-{shot}")
    check_a11y(sp, "index.html, Sell tab with a sell panel open")
    seller_tokens = token.balanceOf(seller)
    card.get_by_test_id("open-sell-order").click()
    # The dialog says what the order does with the seller's tokens, and that an approval comes first.
    text = confirm(sp)
    assert t("buyads.confirm_title", amount="100 TUSD", total=t.usd("725.00")) in text
    assert t("buyads.confirm_approval", amount="100 TUSD") in text
    sp.wait_for_url(ORDER_URL)
    order_id = int(sp.url.rsplit("=", 1)[1])
    assert sent_transactions(s) == 2  # approve, open_sell_order
    order = escrow.orders(order_id)
    assert (order.buyer, order.seller, order.ad_id, order.amount, order.status) == (
        buyer.address,
        seller.address,
        ad_id,
        100 * UNIT,
        OPEN,
    )
    assert token.balanceOf(seller) == seller_tokens - 100 * UNIT  # locked in the escrow now
    expect(sp.get_by_test_id("order-role")).to_have_text(t("order.role_seller"))
    expect(sp.get_by_test_id("order-side")).to_have_text(t("buyads.order_side_buy"))
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "OPEN")
    check_a11y(sp, "order.html, a buy ad's order")

    # ---- the buyer pays and marks paid; the seller releases
    bp.goto(f"/order.html?id={order_id}")
    expect(bp.get_by_test_id("order-role")).to_have_text(t("order.role_buyer"))
    expect(bp.get_by_test_id("order-side")).to_have_text(t("buyads.order_side_buy"))
    # The buyer is shown the seller's details (the buy ad's terms commit to none, and says so).
    pay = bp.get_by_test_id("payment-card")
    expect(pay.get_by_test_id("pay-amount")).to_have_text(t.usd("725.00"))
    expect(pay.get_by_test_id("pay-holder")).to_have_text("Sam Seller")
    expect(pay.get_by_test_id("pay-account")).to_have_text("DE89 3704 0044 0532 0130 00")
    expect(pay.get_by_test_id("pay-committed")).to_have_text(t("buyads.pay_details_buy_ad"))
    bp.get_by_test_id("action-mark-paid").click()
    assert t("confirm.paid_title", total=t.usd("725.00")) in confirm(bp)
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")

    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    sp.get_by_test_id("action-release").click()
    confirm(sp, tick=True)
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
    assert escrow.orders(order_id).status == RELEASED
    assert token.balanceOf(buyer) == buyer_tokens + 99_750_000  # 100 less the 0.25% fee
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
    screenshot(bp, f"buy-ads-order-released-{shot}")
    assert httpx.get(f"{backend.url}/api/orders/{order_id}").json()["side"] == "buy"

    # ---- my ads: the buy ad, with its side's words; raising what it wants needs no approval
    bp.goto("/my-ads.html")
    mine = bp.locator(f"[data-testid=my-ad][data-ad-id='{ad_id}']")
    expect(mine).to_have_attribute("data-side", "buy")
    expect(mine.get_by_test_id("ad-side")).to_have_text(t("buyads.side_badge_buy"))
    expect(mine.get_by_test_id("my-ad-available")).to_have_text("400 TUSD")
    expect(mine.get_by_test_id("top-up")).to_have_text(t("buyads.myads_top_up"))
    expect(mine.get_by_test_id("withdraw")).to_have_text(t("buyads.myads_withdraw"))
    mine.get_by_test_id("top-up").click()
    sent = sent_transactions(b)
    # More than the escrow's bound on what an ad holds and wants (available + locked): refused here.
    mine.get_by_test_id("top_up-amount").fill("340282366920938463463374607431768")
    mine.get_by_test_id("top_up-submit").click()
    expect(mine.get_by_test_id("top_up-error")).to_contain_text(t("numbers.too_large").split("{max}")[0])
    assert sent_transactions(b) == sent
    mine.get_by_test_id("top_up-amount").fill("50")
    mine.get_by_test_id("top_up-submit").click()
    expect(mine.get_by_test_id("my-ad-available")).to_have_text("450 TUSD")
    assert sent_transactions(b) == sent + 1  # top_up alone: nothing to approve
    assert escrow.ads(ad_id).available == 450 * UNIT
    assert token.balanceOf(buyer) == buyer_tokens + 99_750_000  # nothing pulled
    check_a11y(bp, "my-ads.html, a buy ad")

    # ---- the buyer's trader page: the buy ad among their open ads, the completed trade
    bp.goto(f"/trader.html?address={buyer.address}")
    listed_ad = bp.locator(f"[data-testid=trader-ad][data-ad-id='{ad_id}']")
    expect(listed_ad).to_have_attribute("data-side", "buy")
    expect(listed_ad).to_contain_text(t("buyads.side_badge_buy"))
    expect(bp.get_by_test_id("trader-completed")).to_have_text("1")
    expect(bp.get_by_test_id("trader-completion")).to_contain_text(t("buyads.on_own_ads", n=1))
    check_a11y(bp, "trader.html, a buyer with a buy ad")


@pytest.mark.parametrize("lang, mobile", [("en", False), ("zh-CN", True)], ids=["en-desktop", "zh-phone"])
def test_buy_ad__the_buyer_hears_a_seller_filled_the_ad_and_the_seller_is_not_told_of_their_own_click(
    lang, mobile, open_page, connect, backend, escrow, token, seller, buyer
):
    """On a buy ad the seller opens the order: the buyer (the ad's maker) is notified of it,
    the seller is not (as the buyer taking a sell ad is not); the buyer's mark-paid then
    reaches the seller, after the order's opening on the same socket."""
    from test_todos import RECORD_NOTIFICATIONS, notifications, wait_for_notification

    text = TABLES[lang]
    ad_id = (
        escrow.create_buy_ad(
            token, 500 * UNIT, 725, b"USD", 10 * UNIT, 500 * UNIT, 3600, 0b1, keccak(text=""), sender=buyer
        )
        .decode_logs(escrow.AdCreated)[0]
        .ad_id
    )
    pages = {}
    for role, account in (("buyer", buyer), ("seller", seller)):
        page = open_page(account, mobile=mobile).page
        page.context.grant_permissions(["notifications"], origin=backend.url)
        page.context.add_init_script(script=f"localStorage.setItem('sentinel.lang', {json.dumps(lang)});")
        page.context.add_init_script(script=RECORD_NOTIFICATIONS)
        page.goto("/orders.html")
        connect(page)
        page.get_by_test_id("todos-notify-toggle").click()
        expect(page.get_by_test_id("todos-notify-toggle")).to_have_attribute("aria-pressed", "true")
        pages[role] = page

    token.approve(escrow, 100 * UNIT, sender=seller)
    order_id = escrow.open_sell_order(ad_id, 100 * UNIT, 725, sender=seller).decode_logs(escrow.OrderOpened)[0].order_id
    opened = wait_for_notification(pages["buyer"], f"sentinel-order-{order_id}-OrderOpened")
    assert opened["body"] == text["todos.notify.OrderOpened"].replace("{id}", str(order_id))
    # The buyer owes the payment now: the header counts it.
    expect(pages["buyer"].get_by_test_id("todos-count")).to_have_text("1")
    # My orders says which side of the book the order came from.
    row = pages["buyer"].locator(f'[data-testid="order-row"][data-order-id="{order_id}"]')
    expect(row.get_by_test_id("order-side")).to_have_text(text["buyads.side_buy_ad"])

    escrow.mark_paid(order_id, b"\x0a" * 32, sender=buyer)
    wait_for_notification(pages["seller"], f"sentinel-order-{order_id}-OrderPaid")
    expect(pages["seller"].get_by_test_id("todos-count")).to_have_text("1")
    tags = [n["tag"] for n in notifications(pages["seller"])]
    assert f"sentinel-order-{order_id}-OrderOpened" not in tags, tags
    assert f"sentinel-order-{order_id}-OrderPaid" not in [n["tag"] for n in notifications(pages["buyer"])]
