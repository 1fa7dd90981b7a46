"""Numbers are never misread and money moves only on purpose (issue 9), in English and
Chinese, on a desktop and a phone: "1,02" is a price of 1.02 and "1,5" is 1.5 tokens, each
shown as parsed before anything is signed; a number the escrow would refuse (an 80-digit
price, an unknown currency, a buy above the ad's max) never reaches a transaction; the fee
shows on the ad form, in the buy panel and on the order page; release, "I have paid" and
cancel ask first and say what follows; after "Ad #N is live" the form starts over."""

import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

UNIT = 10**6
I18N = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
TABLES = {lang: json.loads((I18N / f"{lang}.json").read_text()) for lang in ("en", "zh-CN")}
# What Intl writes for US dollars in each language.
USD = {"en": "$", "zh-CN": "US$"}
ORDER_URL = re.compile(r"/order\.html\?id=\d+$")
OPEN, PAID, RELEASED, CANCELLED = 1, 2, 3, 4

# Both languages and both screens, paired so the browser suite stays within CI's time.
VARIANTS = pytest.mark.parametrize(
    "lang, mobile",
    [("en", False), ("zh-CN", True)],
    ids=["en-desktop", "zh-phone"],
)


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


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


@VARIANTS
def test_create_ad__decimal_comma_price_goes_on_chain_as_cents_and_the_form_starts_over(
    lang, mobile, open_page, connect, screenshot, backend, escrow, token, seller
):
    t = Words(lang)
    s = page_in(open_page, seller, lang, mobile)
    sp = s.page
    sp.goto("/create-ad.html")
    connect(sp)
    sp.get_by_test_id("ad-amount").fill("1000")
    sp.get_by_test_id("ad-price").fill("1,02")
    sp.get_by_test_id("ad-min").fill("10")
    sp.get_by_test_id("ad-max").fill("1,000")  # the locale's thousands
    # Each number as the contract will get it, before anything is signed.
    expect(sp.get_by_test_id("ad-price-parsed")).to_have_text(
        "= " + t("numbers.per_token", price=t.usd("1.02"), symbol="TUSD")
    )
    expect(sp.get_by_test_id("ad-amount-parsed")).to_have_text("= 1,000 TUSD")
    expect(sp.get_by_test_id("ad-max-parsed")).to_have_text("= 1,000 TUSD")
    # What the seller's buyers receive after the desk's fee (deployed at 0.25%).
    expect(sp.get_by_test_id("ad-fee")).to_have_text(
        t("numbers.ad_fee", amount="1,000 TUSD", net="997.5 TUSD", rate="0.25%")
    )
    # What the locale cannot decide is refused in words, and nothing can be approved.
    sp.get_by_test_id("ad-price").fill("1.000.000")
    expect(sp.get_by_test_id("ad-price-parsed")).to_have_text(
        t("numbers.ambiguous", text="1.000.000", example="1234.5")
    )
    expect(sp.get_by_test_id("ad-price-parsed")).to_have_class(re.compile("parsed-bad"))
    expect(sp.get_by_test_id("approve")).to_be_disabled()
    sp.get_by_test_id("ad-price").fill("1,02")
    screenshot(sp, f"inputs-create-ad-parsed-{lang}-{'phone' if mobile else 'desktop'}")

    sp.get_by_test_id("approve").click()
    expect(sp.locator("#approve-tx [data-testid=tx-status]")).to_have_attribute("data-state", "done")
    sp.get_by_test_id("create-ad").click()
    created = sp.get_by_test_id("ad-created")
    expect(created).to_be_visible()
    ad_id = int(created.get_attribute("data-ad-id"))
    expect(created).to_contain_text(t("create.created", id=ad_id))
    assert escrow.ads(ad_id).price == 102  # $1.02, not $102.00
    assert escrow.ads(ad_id).max_amount == 1_000 * UNIT
    assert httpx.get(f"{backend.url}/api/ads/{ad_id}").json()["price"] == "102"

    # The ad is live: the same approval and ad are not offered again.
    expect(sp.get_by_test_id("ad-amount")).to_have_value("")
    expect(sp.get_by_test_id("ad-price")).to_have_value("")
    expect(sp.get_by_test_id("approve")).to_be_disabled()
    expect(sp.get_by_test_id("create-ad")).to_be_disabled()
    expect(sp.get_by_test_id("post-another")).to_have_text(t("numbers.another"))
    sp.get_by_test_id("post-another").click()
    expect(sp.get_by_test_id("ad-created")).to_have_count(0)
    expect(sp.get_by_test_id("ad-amount")).to_be_focused()


@VARIANTS
def test_create_ad__numbers_the_escrow_refuses_never_reach_the_approve(
    lang, mobile, open_page, connect, backend, chain, seller
):
    t = Words(lang)
    s = page_in(open_page, seller, lang, mobile)
    sp = s.page
    sp.goto("/create-ad.html")
    connect(sp)
    nonce = chain.provider.web3.eth.get_transaction_count(seller.address)
    sp.get_by_test_id("ad-amount").fill("1000")
    sp.get_by_test_id("ad-min").fill("10")
    sp.get_by_test_id("ad-max").fill("500")
    # An 80-digit price: above the escrow's uint64 price, refused in the form.
    sp.get_by_test_id("ad-price").fill("9" * 80)
    too_large = t("numbers.too_large", max="184467440737095516.15")
    expect(sp.get_by_test_id("ad-price-parsed")).to_have_text(too_large)
    expect(sp.get_by_test_id("form-error")).to_have_text(too_large)
    expect(sp.get_by_test_id("approve")).to_be_disabled()
    # A maximum above the escrow's uint96 per-order bound.
    sp.get_by_test_id("ad-price").fill("7.25")
    sp.get_by_test_id("ad-max").fill("9" * 40)
    expect(sp.get_by_test_id("ad-max-parsed")).to_have_class(re.compile("parsed-bad"))
    expect(sp.get_by_test_id("approve")).to_be_disabled()
    sp.get_by_test_id("ad-max").fill("500")
    # The currency is an ISO 4217 code.
    sp.get_by_test_id("ad-fiat").fill("XYZ")
    expect(sp.get_by_test_id("form-error")).to_have_text(t("numbers.unknown_currency", code="XYZ"))
    expect(sp.get_by_test_id("approve")).to_be_disabled()
    sp.get_by_test_id("ad-fiat").fill("cny")
    expect(sp.get_by_test_id("form-error")).to_have_text("")
    expect(sp.get_by_test_id("approve")).to_be_enabled()
    # Nothing was sent while the form held numbers the contract refuses.
    assert sent_transactions(s) == 0
    assert chain.provider.web3.eth.get_transaction_count(seller.address) == nonce


@VARIANTS
def test_buy__decimal_comma_is_one_and_a_half_tokens_limits_refused_fee_shown(
    lang, mobile, open_page, connect, screenshot, backend, escrow, create_ad, buyer
):
    t = Words(lang)
    ad_id = create_ad(1_000 * UNIT, min_amount=1 * UNIT, max_amount=500 * UNIT)
    backend.wait_indexed()
    b = page_in(open_page, buyer, lang, mobile)
    bp = b.page
    bp.goto("/")
    connect(bp)
    card = bp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    card.get_by_test_id("buy").click()
    amount = card.get_by_test_id("buy-amount")
    # Above the ad's maximum: refused in words, and the order is not sent.
    amount.fill("600")
    above = t("numbers.buy_above_max", max="500 TUSD")
    expect(card.get_by_test_id("buy-parsed")).to_have_text(above)
    card.get_by_test_id("open-order").click()
    expect(card.get_by_test_id("buy-error")).to_have_text(above)
    amount.fill("0,5")
    expect(card.get_by_test_id("buy-parsed")).to_have_text(t("numbers.buy_below_min", min="1 TUSD"))
    assert sent_transactions(b) == 0
    # "1,5" is one and a half tokens (not 15), shown with the fee before the order.
    amount.fill("1,5")
    expect(card.get_by_test_id("buy-parsed")).to_have_text("= 1.5 TUSD")
    expect(card.get_by_test_id("buy-total")).to_have_text(t("buy.you_pay", total=t.usd("10.87")))
    expect(card.get_by_test_id("buy-receive")).to_have_text(
        t("protocol.you_receive", amount="1.49625 TUSD", rate="0.25%")
    )
    expect(card.get_by_test_id("buy-error")).to_have_text("")
    screenshot(bp, f"inputs-buy-{lang}-{'phone' if mobile else 'desktop'}")
    card.get_by_test_id("open-order").click()
    bp.wait_for_url(ORDER_URL)
    order_id = int(bp.url.rsplit("=", 1)[1])
    assert escrow.orders(order_id).amount == 1_500_000
    # The order page shows the fee before the trade too.
    expect(bp.get_by_test_id("order-net")).to_have_text(
        t("numbers.order_net_value", net="1.49625 TUSD", fee="0.00375 TUSD", rate="0.25%")
    )


@VARIANTS
def test_order__paid_release_and_cancel_ask_first_and_say_what_follows(
    lang, mobile, open_page, connect, screenshot, backend, escrow, create_ad, open_order, seller, buyer
):
    t = Words(lang)
    ad_id = create_ad()
    order_id = open_order(ad_id)  # 100 TUSD at $7.25
    backend.wait_indexed()
    total, amount = t.usd("725.00"), "100 TUSD"

    b = page_in(open_page, buyer, lang, mobile)
    bp = b.page
    bp.goto(f"/order.html?id={order_id}")
    connect(bp)
    dialog = bp.get_by_test_id("confirm-dialog")
    # "I have paid" says what follows; going back sends nothing.
    bp.get_by_test_id("action-mark-paid").click()
    expect(dialog).to_contain_text(t("confirm.paid_title", total=total))
    expect(dialog.get_by_test_id("confirm-body")).to_have_text(t("confirm.paid_body", total=total, amount=amount))
    dialog.get_by_test_id("confirm-back").click()
    expect(dialog).to_have_count(0)
    assert sent_transactions(b) == 0
    assert escrow.orders(order_id).status == OPEN

    # The seller, before the buyer has paid: "Release now" is not the main action, and asks
    # with a stronger warning.
    s = page_in(open_page, seller, lang, mobile)
    sp = s.page
    sp.goto(f"/order.html?id={order_id}")
    connect(sp)
    early = sp.get_by_test_id("action-release")
    expect(early).to_have_text(t("order.release_early"))
    expect(early).not_to_have_class(re.compile("btn-primary"))
    early.click()
    sdialog = sp.get_by_test_id("confirm-dialog")
    expect(sdialog.get_by_test_id("confirm-warning")).to_have_text(t("confirm.release_unpaid", total=total))
    expect(sdialog.get_by_test_id("confirm-ok")).to_be_disabled()
    screenshot(sp, f"inputs-release-unpaid-{lang}-{'phone' if mobile else 'desktop'}")
    sdialog.get_by_test_id("confirm-back").click()
    expect(sdialog).to_have_count(0)

    # The buyer pays, confirmed.
    bp.get_by_test_id("action-mark-paid").click()
    dialog.get_by_test_id("confirm-ok").click()
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")

    # Release: "I have received $725.00 from 0x… — release 100 TUSD", the amount ticked first.
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    release = sp.get_by_test_id("action-release")
    expect(release).to_have_text(t("order.release"))
    expect(release).to_have_class(re.compile("btn-primary"))
    expect(sp.get_by_test_id("order-net")).to_have_text(
        t("numbers.order_net_value", net="99.75 TUSD", fee="0.25 TUSD", rate="0.25%")
    )
    release.click()
    expect(sdialog).to_contain_text(t("confirm.release_title", amount=amount))
    body = sdialog.get_by_test_id("confirm-body")
    expect(body).to_contain_text(
        t("confirm.release_statement", total=total, buyer=short(buyer.address), amount=amount), ignore_case=True
    )
    expect(body).to_contain_text(t("confirm.release_net", net="99.75 TUSD", fee="0.25 TUSD"))
    expect(sdialog).to_contain_text(t("confirm.release_tick", total=total))
    expect(sdialog.get_by_test_id("confirm-warning")).to_have_count(0)
    ok = sdialog.get_by_test_id("confirm-ok")
    expect(ok).to_have_text(t("confirm.release_ok", amount=amount))
    expect(ok).to_be_disabled()
    sdialog.get_by_test_id("confirm-tick").check()
    expect(ok).to_be_enabled()
    screenshot(sp, f"inputs-release-confirm-{lang}-{'phone' if mobile else 'desktop'}")
    ok.click()
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
    assert escrow.orders(order_id).status == RELEASED

    # Cancel says the tokens go back to the ad.
    second = open_order(ad_id)
    backend.wait_indexed()
    bp.goto(f"/order.html?id={second}")
    bp.get_by_test_id("action-cancel").click()
    expect(dialog).to_contain_text(t("confirm.cancel_title", id=second))
    expect(dialog.get_by_test_id("confirm-body")).to_have_text(t("confirm.cancel_body", amount=amount))
    expect(dialog.get_by_test_id("confirm-ok")).to_have_text(t("confirm.cancel_ok"))
    dialog.get_by_test_id("confirm-ok").click()
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "CANCELLED")
    assert escrow.orders(second).status == CANCELLED
    assert escrow.ads(ad_id).available == 900 * UNIT  # 1,000 less the released 100
