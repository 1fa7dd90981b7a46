"""The smaller defects a newcomer met (issue 9, "Smaller defects seen"), each walked through in
English and Chinese, on a desktop and on a phone: the explorer reads like a page for people, a
bad search and an unknown order say so at once, the market keeps its cards and its first screen
in shape, an empty desk explains itself, the wallet button shows the sign-in in progress, and a
seller's record reads "1 trade"."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import assert_all_chinese, fill

UNIT = 10**6
I18N = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
TABLES = {lang: json.loads((I18N / f"{lang}.json").read_text()) for lang in ("en", "zh-CN")}
# Intl's zh-CN writes the dollar as US$.
DOLLARS = {"en": "$7.25", "zh-CN": "US$7.25"}

# Both languages and both screens, paired so the browser suite stays within CI's time.
VARIANTS = [
    pytest.param("en", False, id="en-desktop"),
    pytest.param("zh-CN", True, id="zh-phone"),
]


def opened(open_page, account, lang, mobile):
    """A page in `lang` (as the language switch leaves it) on a desktop or a phone."""
    handle = open_page(account, mobile=mobile)
    handle.page.context.add_init_script(f"localStorage.setItem('sentinel.lang', {json.dumps(lang)})")
    return handle.page


def shot_name(name, lang, mobile):
    return f"{name}-{lang}-{'phone' if mobile else 'desktop'}"


def row(result, key):
    return result.locator(f"tr[data-key='{key}'] > td").first


# ------------------------------------------------------------------ explorer


@pytest.mark.parametrize("lang, mobile", VARIANTS)
def test_explorer__amounts_prices_dates_and_labels_in_the_pages_language(
    open_page, screenshot, backend, escrow, create_ad, buyer, other, lang, mobile
):
    T = TABLES[lang]
    ad_id = create_ad()
    tx = escrow.open_order(ad_id, 100 * UNIT, 725, sender=buyer)
    order_id = tx.decode_logs(escrow.OrderOpened)[0].order_id
    backend.wait_indexed()
    page = opened(open_page, other, lang, mobile)

    page.goto(f"/explorer.html?q=ad {ad_id}")
    ad = page.locator("[data-testid=explorer-result][data-kind=ad]")
    expect(row(ad, "available")).to_have_text("900 TUSD")  # not 900000000
    expect(row(ad, "locked")).to_have_text("100 TUSD")
    expect(row(ad, "price")).to_have_text(DOLLARS[lang])  # not 725
    expect(row(ad, "min_amount")).to_have_text("10 TUSD")
    expect(row(ad, "payment_window")).to_have_text(fill(T["duration.hours"], n=1))
    expect(row(ad, "payment_methods")).to_contain_text(T["method.bank"])
    expect(row(ad, "created_at")).to_have_text(re.compile(r"20\d\d"))  # a date, not a unix time
    expect(row(ad, "created_at")).not_to_have_text(re.compile(r"^\d{10}$"))
    expect(ad.locator("tr[data-key='min_amount'] > th")).to_have_text(T["explorer.field.min_amount"])
    expect(ad.get_by_test_id("explorer-events")).to_contain_text("amount = 1,000 TUSD")
    expect(ad.get_by_test_id("explorer-events")).to_contain_text(f"price = {DOLLARS[lang]}")
    if lang == "zh-CN":
        assert_all_chinese(page)
        labels = ad.locator("th").all_inner_texts()
        english = [text for text in labels if re.search(r"[a-z]{3}", text)]
        assert not english, f"labels left in English: {english}"
    screenshot(page, shot_name("explorer-ad", lang, mobile))

    page.goto(f"/explorer.html?q=order {order_id}")
    order = page.locator("[data-testid=explorer-result][data-kind=order]")
    expect(order.get_by_test_id("explorer-status")).to_have_text(T["status.OPEN"])
    expect(row(order, "amount")).to_have_text("100 TUSD")
    expect(row(order, "deadline")).to_have_text(re.compile(r"20\d\d"))

    page.goto(f"/explorer.html?q={tx.txn_hash}")
    found = page.locator("[data-testid=explorer-result][data-kind=tx]")
    expect(found.get_by_test_id("explorer-status")).to_have_text(T["explorer.status.success"])
    expect(row(found, "value")).to_have_text("0 ETH")
    expect(row(found, "call")).to_contain_text("amount = 100 TUSD")
    expect(row(found, "timestamp")).to_have_text(re.compile(r"20\d\d"))
    if lang == "zh-CN":
        assert_all_chinese(page)
    screenshot(page, shot_name("explorer-tx", lang, mobile))


@pytest.mark.parametrize("lang, mobile", VARIANTS)
def test_explorer__a_bad_search_says_what_to_type_and_offers_no_retry(
    open_page, screenshot, backend, other, lang, mobile
):
    T = TABLES[lang]
    page = opened(open_page, other, lang, mobile)
    page.goto("/explorer.html")
    page.get_by_test_id("explorer-q").fill("hello")
    page.get_by_test_id("explorer-search").click()
    expect(page.get_by_test_id("explorer-refused")).to_have_text(fill(T["explorer.refused"], q="hello"))
    expect(page.get_by_test_id("error")).to_contain_text(T["explorer.hint"])
    expect(page.locator("#results button")).to_have_count(0)  # a 4xx is the query's, not the server's
    if lang == "zh-CN":
        assert_all_chinese(page)
    screenshot(page, shot_name("explorer-refused", lang, mobile))


@pytest.mark.parametrize("lang, mobile", VARIANTS)
def test_order__an_unknown_id_is_said_at_once(open_page, screenshot, backend, other, lang, mobile):
    """A 404 is final: no 20 s of spinner, no "Try again"."""
    T = TABLES[lang]
    page = opened(open_page, other, lang, mobile)
    page.goto("/order.html?id=999")
    error = page.get_by_test_id("error")
    expect(error).to_have_text(fill(T["order.not_found"], id=999), timeout=5_000)
    expect(error.locator("button")).to_have_count(0)
    expect(page.get_by_test_id("loading")).to_have_count(0)
    if lang == "zh-CN":
        assert_all_chinese(page)
    screenshot(page, shot_name("order-not-found", lang, mobile))
    # Switching the language re-says it, still without a retry.
    switched = "en" if lang == "zh-CN" else "zh-CN"
    page.get_by_test_id("lang-switch").select_option(switched)
    expect(error).to_have_text(fill(TABLES[switched]["order.not_found"], id=999))
    expect(error.locator("button")).to_have_count(0)


# -------------------------------------------------------------------- market


@pytest.mark.parametrize("lang, mobile", VARIANTS)
def test_market__cards_keep_their_height_phone_sees_ads_first_and_one_trade_reads_singular(
    open_page, screenshot, backend, escrow, create_ad, open_order, seller, buyer, other, lang, mobile
):
    T = TABLES[lang]
    ads = [create_ad() for _ in range(3)]
    order_id = open_order(ads[0])
    escrow.mark_paid(order_id, b"\x01" * 32, sender=buyer)
    escrow.release(order_id, sender=seller)
    backend.wait_indexed()
    page = opened(open_page, other, lang, mobile)
    page.goto("/")
    cards = page.get_by_test_id("ad-card")
    expect(cards).to_have_count(3)

    # The seller's record: "1 trade", never "1 trades".
    stats = cards.first.get_by_test_id("seller-stats")
    expect(stats).to_contain_text(fill(T["seller.trades_one"], n=1))
    assert not re.search(r"\b1 trades\b", stats.inner_text())
    expect(stats).to_contain_text(fill(T["seller.completion"], rate="100%"))

    if mobile:
        # Every nav link within the screen (none cut at the edge), and ads before the filters.
        explorer = page.get_by_test_id("nav-explorer")
        expect(explorer).to_be_visible()
        box = explorer.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        expect(page.get_by_test_id("filters")).to_be_hidden()
        toggle = page.get_by_test_id("filters-toggle")
        expect(toggle).to_have_text(T["market.filters"])
        assert cards.first.bounding_box()["y"] < 844, "the first ad is below the first screen"
        screenshot(page, shot_name("market-phone-filters-closed", lang, mobile))
        toggle.click()
        expect(page.get_by_test_id("filter-token")).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        page.get_by_test_id("filter-fiat").fill("USD")
        expect(toggle).to_have_text(fill(T["market.filters_n"], n=1))
        # The list reloads for the filter: measure the cards it then shows.
        expect(page.get_by_test_id("ad-list")).to_have_attribute("data-query", re.compile('"fiat":"USD"'))
        expect(page.get_by_test_id("ad-list")).not_to_have_attribute("aria-busy", "true")
        expect(cards).to_have_count(3)
        toggle.click()
        expect(page.get_by_test_id("filters")).to_be_hidden()
    else:
        expect(page.get_by_test_id("filters-toggle")).to_be_hidden()
        expect(page.get_by_test_id("filter-token")).to_be_visible()

    # Opening one card's buy panel leaves the other cards of its row as they were.
    heights = [card.bounding_box()["height"] for card in cards.all()]
    cards.nth(1).get_by_test_id("buy").click()
    expect(cards.nth(1).get_by_test_id("buy-panel")).to_be_visible()
    after = [card.bounding_box()["height"] for card in cards.all()]
    assert after[1] > heights[1]
    assert abs(after[0] - heights[0]) < 1 and abs(after[2] - heights[2]) < 1, (heights, after)
    if lang == "zh-CN":
        assert_all_chinese(page)
    screenshot(page, shot_name("market-buy-panel", lang, mobile))


@pytest.mark.parametrize("lang, mobile", VARIANTS)
def test_market__an_empty_desk_explains_itself_and_offers_to_post_an_ad(
    open_page, screenshot, backend, other, lang, mobile
):
    T = TABLES[lang]
    page = opened(open_page, other, lang, mobile)
    page.goto("/")
    welcome = page.get_by_test_id("market-welcome")
    expect(welcome).to_contain_text(T["market.welcome_title"])
    expect(welcome.get_by_test_id("welcome-step")).to_have_text([T[f"market.welcome_step{n}"] for n in range(1, 5)])
    post = welcome.get_by_test_id("welcome-post-ad")
    expect(post).to_have_text(T["market.post_ad"])
    expect(post).to_have_attribute("href", "create-ad.html")
    expect(page.get_by_text(T["market.empty"])).to_have_count(0)
    if lang == "zh-CN":
        assert_all_chinese(page)
    screenshot(page, shot_name("market-welcome", lang, mobile))

    # Filters that match nothing are another matter: that message stays.
    page.goto("/?fiat=EUR")
    expect(page.get_by_test_id("empty")).to_have_text(T["market.empty"])
    expect(page.get_by_test_id("market-welcome")).to_have_count(0)
    page.goto("/")
    page.get_by_test_id("welcome-post-ad").click()
    page.wait_for_url(re.compile(r"/create-ad\.html$"))


# -------------------------------------------------------------------- wallet

# Holds the wallet's personal_sign until the test answers it ("sign" or "reject", as a user
# would in MetaMask), so the page can be seen while the signature is awaited.
HOLD_SIGNATURE = """() => {
  const original = window.__sentinelTestWallet;
  window.__signGate = { answer: null };
  window.__sentinelTestWallet = async (method, params) => {
    if (method !== "personal_sign") return original(method, params);
    const verdict = await new Promise((resolve) => { window.__signGate.answer = resolve; });
    window.__signGate.answer = null;
    if (verdict === "reject") return JSON.stringify({ error: { code: 4001, message: "User rejected the request." } });
    return original(method, params);
  };
}"""


@pytest.mark.parametrize("lang, mobile", VARIANTS)
def test_wallet__signing_in_is_shown_and_a_rejection_restores_the_button(
    open_page, screenshot, backend, buyer, lang, mobile
):
    T = TABLES[lang]
    page = opened(open_page, buyer, lang, mobile)
    page.goto("/")
    page.evaluate(HOLD_SIGNATURE)

    page.get_by_test_id("connect-wallet").click()
    page.wait_for_function("() => window.__signGate.answer !== null")
    waiting = page.get_by_test_id("signing-in")
    expect(waiting).to_have_text(T["wallet.signing_in"])
    expect(waiting).to_be_disabled()
    expect(page.get_by_test_id("sign-in")).to_have_count(0)
    screenshot(page, shot_name("wallet-signing-in", lang, mobile))

    page.evaluate("window.__signGate.answer('reject')")
    expect(page.get_by_test_id("shell-error")).to_contain_text(T["error.rejected"])
    expect(page.get_by_test_id("sign-in")).to_be_enabled()
    expect(page.get_by_test_id("signing-in")).to_have_count(0)

    page.get_by_test_id("sign-in").click()
    page.wait_for_function("() => window.__signGate.answer !== null")
    expect(page.get_by_test_id("signing-in")).to_be_disabled()
    page.evaluate("window.__signGate.answer('sign')")
    expect(page.get_by_test_id("sign-out")).to_be_visible()
    expect(page.get_by_test_id("shell-error")).to_have_count(0)
