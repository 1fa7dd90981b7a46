"""The other journeys a user takes through the web app, each in a real Chromium with the
injected wallet against the real backend and Anvil: the buyer cancels, an unpaid order
expires by the chain's clock and a third party cancels it, a revert reaches the user in
words, the whole desk in Simplified Chinese, a gasless mark-paid through the relay, and
a wallet that switches account under an open page."""

import json
import re
from pathlib import Path

from playwright.sync_api import expect

UNIT = 10**6
HOUR = 3600
I18N = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
EN = json.loads((I18N / "en.json").read_text())
ZH = json.loads((I18N / "zh-CN.json").read_text())

ORDER_URL = re.compile(r"/order\.html\?id=\d+$")

# Escrow order statuses (STATUS_* in OtcEscrow.vy).
OPEN, PAID, RELEASED, CANCELLED = 1, 2, 3, 4
CANCEL_EXPIRED = 2


def fill(text: str, **values) -> str:
    """The page's `t(key, vars)`: `{name}` placeholders filled."""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text


def status_of(page):
    return page.get_by_test_id("order-status")


def open_from_market(page, ad_id: int, amount: str) -> int:
    """Buy `amount` from the ad's card in the market; returns the new order's id."""
    card = page.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    card.get_by_test_id("buy").click()
    card.get_by_test_id("buy-amount").fill(amount)
    card.get_by_test_id("open-order").click()
    page.wait_for_url(ORDER_URL)
    return int(page.url.rsplit("=", 1)[1])


# ---------------------------------------------------------------- 1. buyer cancels


def test_cancel__buyer_cancels_open_order_and_ad_gets_amount_back(
    open_page, connect, confirm, screenshot, backend, escrow, create_ad, buyer
):
    ad_id = create_ad()
    backend.wait_indexed()
    b = open_page(buyer)
    bp = b.page
    bp.goto("/")
    connect(bp)
    card = bp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    expect(card.get_by_test_id("ad-available")).to_have_text("1,000 TUSD")

    order_id = open_from_market(bp, ad_id, "100")
    expect(status_of(bp)).to_have_attribute("data-status", "OPEN")
    assert escrow.orders(order_id).status == OPEN
    assert escrow.ads(ad_id).available == 900 * UNIT

    bp.get_by_test_id("action-cancel").click()
    confirm(bp)
    expect(status_of(bp)).to_have_attribute("data-status", "CANCELLED")
    expect(status_of(bp)).to_have_text(EN["status.CANCELLED"])
    expect(bp.get_by_test_id("cancel-reason")).to_have_text(EN["cancel.buyer"])
    expect(bp.get_by_test_id("actions-note")).to_have_text(EN["order.ended_CANCELLED"])
    expect(bp.locator("#actions button")).to_have_count(0)
    expect(bp.get_by_test_id("timeline-item").last).to_have_attribute("data-event", "OrderCancelled")
    screenshot(bp, "order-cancelled")

    # on chain: cancelled, and the 100 went back to the ad
    assert escrow.orders(order_id).status == CANCELLED
    assert escrow.ads(ad_id).available == 1_000 * UNIT
    assert escrow.ads(ad_id).locked == 0

    # and the market offers them again
    bp.goto("/")
    expect(card.get_by_test_id("ad-available")).to_have_text("1,000 TUSD")


# -------------------------------------------------------- 2. expired by chain time


def test_cancel_expired__third_party_cancels_once_chain_time_passes_deadline(
    open_page, connect, screenshot, backend, chain, escrow, create_ad, open_order, other
):
    ad_id = create_ad(payment_window=HOUR)
    order_id = open_order(ad_id)
    backend.wait_indexed()
    o = open_page(other)
    op = o.page
    op.goto(f"/order.html?id={order_id}")
    connect(op)
    expect(status_of(op)).to_have_attribute("data-status", "OPEN")
    expect(op.get_by_test_id("order-role")).to_have_text(EN["order.role_visitor"])
    countdown = op.get_by_test_id("countdown")
    expect(countdown).to_have_text(re.compile(r"^(59|60):\d\d$"))
    expect(countdown).to_have_attribute("data-expired", "0")
    expect(op.get_by_test_id("action-cancel-expired")).to_have_count(0)

    # The chain's clock passes the deadline; the browser's clock moves on by seconds only,
    # so the page can only notice through the chain (the backend reads the latest block).
    chain.provider.make_request("evm_increaseTime", [HOUR + 100])
    chain.provider.make_request("evm_mine", [])
    expect(countdown).to_have_attribute("data-expired", "1")
    expect(countdown).to_have_text(EN["order.deadline_passed"])
    expect(op.get_by_test_id("actions-note")).to_have_text(EN["order.expired_note"])

    op.get_by_test_id("action-cancel-expired").click()
    expect(status_of(op)).to_have_attribute("data-status", "CANCELLED")
    expect(op.get_by_test_id("cancel-reason")).to_have_attribute("data-reason", "expired")
    expect(op.get_by_test_id("cancel-reason")).to_have_text(EN["cancel.expired"])
    last = op.get_by_test_id("timeline-item").last
    expect(last).to_have_attribute("data-event", "OrderCancelled")
    expect(last).to_contain_text(EN["cancel.expired"])
    expect(op.get_by_test_id("deadline-card")).to_be_hidden()
    screenshot(op, "order-expired-cancelled")

    # on chain: cancelled by the third party, for expiry, and the tokens back in the ad
    assert escrow.orders(order_id).status == CANCELLED
    assert escrow.ads(ad_id).available == 1_000 * UNIT
    tx_hash = op.locator("#order-tx [data-testid=tx-hash]").get_attribute("href").split("q=")[1]
    [event] = chain.get_receipt(tx_hash).decode_logs(escrow.OrderCancelled)
    assert event.order_id == order_id
    assert event.by == other.address
    assert event.reason == CANCEL_EXPIRED


# ------------------------------------------------------------ 3. revert in words


def test_open_order__ad_paused_meanwhile_shows_revert_reason_in_words(
    open_page, connect, screenshot, backend, escrow, create_ad, seller, buyer
):
    ad_id = create_ad()
    backend.wait_indexed()
    b = open_page(buyer)
    bp = b.page
    bp.goto("/")
    connect(bp)
    card = bp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    expect(card.get_by_test_id("ad-available")).to_have_text("1,000 TUSD")

    # Behind the buyer's back the seller pauses the ad: the page still shows it on sale.
    escrow.pause_ad(ad_id, sender=seller)
    orders_before = escrow.order_count()
    card.get_by_test_id("buy").click()
    card.get_by_test_id("buy-amount").fill("100")
    card.get_by_test_id("open-order").click()

    tx = card.get_by_test_id("tx-status")
    expect(tx).to_have_attribute("data-state", "failed")
    expect(tx).to_contain_text(EN["tx.failed"])
    expect(card.get_by_test_id("tx-error")).to_have_text(EN["revert.ad_not_active"])
    expect(card.get_by_test_id("tx-reason")).to_have_text("otc_escrow: ad not active")
    expect(card.get_by_test_id("tx-hash")).to_have_count(0)  # refused before anything was sent
    expect(card.get_by_test_id("open-order")).to_be_enabled()
    screenshot(bp, "revert-ad-paused")

    assert escrow.order_count() == orders_before
    assert escrow.ads(ad_id).available == 1_000 * UNIT
    assert re.search(r"/(index\.html)?$", bp.url)  # still on the market


# -------------------------------------------------------------- 4. 简体中文


RAW_KEY = re.compile(r"(?<![\w./-])[a-z][a-z0-9_]*(?:\.[a-zA-Z0-9_-]+)+(?![\w/-])")


def english_fragments() -> dict:
    """English UI text that the Chinese table translates: none of it may show in Chinese.

    Each en.json string is split at its `{placeholders}`; fragments of four characters or
    more with a word in them count, unless the Chinese table itself uses them (brand names)."""
    zh_text = "\n".join(ZH.values())
    fragments = {}
    for key, text in EN.items():
        if ZH[key] == text:
            continue
        for part in re.split(r"\{\w+\}", text):
            part = part.strip(" .,:;·()…–-#")
            if len(part) >= 4 and re.search(r"[A-Za-z]{3}", part) and part not in zh_text:
                fragments.setdefault(part, key)
    return fragments


ENGLISH = english_fragments()


def visible_text(page) -> str:
    """What the user reads: the rendered text, the tab title, placeholders, labels and tooltips."""
    return page.evaluate(
        """() => [
            document.title,
            document.body.innerText,
            ...[...document.querySelectorAll("[placeholder]")].map((e) => e.placeholder),
            ...[...document.querySelectorAll("[aria-label]")].map((e) => e.getAttribute("aria-label")),
            ...[...document.querySelectorAll("body [title]")].map((e) => e.title),
        ].join("\\n")"""
    )


def english_in(text: str) -> list:
    return sorted({f"{part!r} ({key})" for part, key in ENGLISH.items() if re.search(rf"\b{re.escape(part)}\b", text)})


def assert_all_chinese(page):
    text = visible_text(page)
    english = english_in(text)
    assert not english, f"English left on {page.url}: {english}\n---\n{text}"
    raw = sorted(set(RAW_KEY.findall(text)))
    assert not raw, f"raw i18n keys on {page.url}: {raw}\n---\n{text}"


def test_language__chinese_on_market_and_order_pages_kept_after_reload(
    open_page, connect, screenshot, backend, create_ad, open_order, buyer
):
    assert len(ENGLISH) > 200  # the check below has something to look for
    ad_id = create_ad()
    order_id = open_order(ad_id)
    backend.wait_indexed()
    b = open_page(buyer)
    bp = b.page
    bp.goto("/")
    connect(bp)
    expect(bp.get_by_test_id("nav-market")).to_have_text(EN["nav.market"])
    expect(bp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")).to_be_visible()
    # the check used below sees the English page for what it is
    assert len(english_in(visible_text(bp))) > 20

    bp.get_by_test_id("lang-switch").select_option("zh-CN")
    expect(bp.locator("html")).to_have_attribute("lang", "zh-CN")
    for page_name, key in [
        ("market", "nav.market"),
        ("create-ad", "nav.create_ad"),
        ("my-ads", "nav.my_ads"),
        ("orders", "nav.orders"),
        ("explorer", "nav.explorer"),
    ]:
        expect(bp.get_by_test_id(f"nav-{page_name}")).to_have_text(ZH[key])
    expect(bp.locator("h1")).to_have_text(ZH["market.title"])
    expect(bp.get_by_test_id("sign-out")).to_have_text(ZH["wallet.sign_out"])
    assert bp.get_by_test_id("sign-out").bounding_box()["height"] < 40  # one line, not a column of characters
    expect(bp.get_by_test_id("filter-reset")).to_have_text(ZH["filter.reset"])
    card = bp.locator(f"[data-testid=ad-card][data-ad-id='{ad_id}']")
    expect(card.get_by_test_id("buy")).to_have_text(fill(ZH["ad.buy"], symbol="TUSD"))
    card.get_by_test_id("buy").click()
    card.get_by_test_id("buy-amount").fill("100")
    expect(card.get_by_test_id("open-order")).to_have_text(ZH["buy.open_order"])
    expect(card.get_by_test_id("buy-total")).to_have_text(
        fill(ZH["buy.you_pay"], total="US$725.00")
    )  # Intl's zh-CN writes US$
    expect(bp.get_by_test_id("result-count")).to_have_text(fill(ZH["market.count"], shown=1, total=1))
    assert_all_chinese(bp)
    screenshot(bp, "market-zh")

    # the order page, reached by a link: the choice follows
    bp.goto(f"/order.html?id={order_id}")
    expect(bp.get_by_test_id("order-title")).to_have_text(fill(ZH["order.title"], id=order_id))
    expect(status_of(bp)).to_have_text(ZH["status.OPEN"])
    expect(bp.get_by_test_id("order-role")).to_have_text(ZH["order.role_buyer"])
    expect(bp.get_by_test_id("action-mark-paid")).to_have_text(ZH["order.mark_paid"])
    expect(bp.get_by_test_id("action-cancel")).to_have_text(ZH["order.cancel"])
    expect(bp.get_by_test_id("chat-send")).to_have_text(ZH["chat.send"])
    expect(bp.get_by_test_id("chat-conn")).to_have_text(ZH["chat.live"])
    expect(bp.get_by_test_id("timeline-item")).to_have_count(1)
    expect(bp.get_by_test_id("timeline-item").first).to_contain_text(ZH["event.OrderOpened"])
    assert_all_chinese(bp)
    screenshot(bp, "order-zh")

    # kept across a reload
    bp.reload()
    expect(bp.get_by_test_id("lang-switch")).to_have_value("zh-CN")
    expect(bp.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(bp.get_by_test_id("nav-market")).to_have_text(ZH["nav.market"])
    expect(bp.get_by_test_id("order-role")).to_have_text(ZH["order.role_buyer"])
    expect(bp.get_by_test_id("chat-conn")).to_have_text(ZH["chat.live"])
    assert bp.title() == f"{fill(ZH['order.title'], id=order_id)} · {ZH['app.name']}"
    assert_all_chinese(bp)


# ---------------------------------------------------------------- 5. gasless


def test_gasless__buyer_marks_paid_through_relay_and_pays_no_gas(
    open_page, connect, confirm, screenshot, backend, chain, manifest, escrow, create_ad, open_order, buyer
):
    ad_id = create_ad()
    order_id = open_order(ad_id)
    backend.wait_indexed()
    b = open_page(buyer)
    bp = b.page
    bp.goto(f"/order.html?id={order_id}")
    connect(bp)
    expect(status_of(bp)).to_have_attribute("data-status", "OPEN")
    gasless = bp.get_by_test_id("gasless")
    expect(gasless).to_be_visible()
    gasless.check()

    eth_before, nonce_before, escrow_nonce_before = buyer.balance, buyer.nonce, escrow.nonces(buyer)
    bp.get_by_test_id("action-mark-paid").click()
    confirm(bp)
    tx = bp.locator("#order-tx [data-testid=tx-status]")
    expect(tx).to_have_attribute("data-state", "done")
    expect(tx).to_contain_text(EN["order.gasless"])
    expect(status_of(bp)).to_have_attribute("data-status", "PAID")
    expect(bp.locator("[data-testid=timeline-item][data-event=ActionRelayed]")).to_have_count(1)
    screenshot(bp, "order-gasless")

    # PAID on chain, sent by the relayer node; the buyer signed a message and paid nothing
    assert escrow.orders(order_id).status == PAID
    tx_hash = tx.get_by_test_id("tx-hash").get_attribute("href").split("q=")[1]
    sent = chain.provider.web3.eth.get_transaction(tx_hash)
    assert sent["from"] == manifest["relayer"] != buyer.address
    assert buyer.balance == eth_before
    assert buyer.nonce == nonce_before
    assert escrow.nonces(buyer) == escrow_nonce_before + 1  # the signed action was used
    assert "eth_signTypedData_v4" in b.wallet.requests
    assert "eth_sendTransaction" not in b.wallet.requests


# ------------------------------------------------------- 6. wallet switches account

# What /api/auth/me answers to the page's cookie alone (no Bearer token): asked until it
# says 401 (the session was revoked; the revoke request may still be on its way), for at
# most 10 s, then the last answer.
COOKIE_STATUS_WHEN_REVOKED = """async () => {
    const until = Date.now() + 10000;
    let status;
    do {
        status = (await fetch("/api/auth/me", { credentials: "same-origin" })).status;
        if (status === 401) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
    } while (Date.now() < until);
    return status;
}"""


def test_wallet__account_change_updates_order_page_without_reload(
    open_page, connect, confirm, screenshot, backend, escrow, create_ad, open_order, seller, buyer
):
    ad_id = create_ad()
    order_id = open_order(ad_id)
    backend.wait_indexed()
    w = open_page(buyer)
    w.wallet.add_account(seller)  # one wallet holding both accounts, as a user might
    page = w.page
    page.goto(f"/order.html?id={order_id}")
    connect(page)
    expect(page.get_by_test_id("account")).to_have_attribute("title", buyer.address)
    expect(page.get_by_test_id("order-role")).to_have_text(EN["order.role_buyer"])
    expect(page.get_by_test_id("action-mark-paid")).to_be_visible()
    expect(page.get_by_test_id("chat-conn")).to_have_text(EN["chat.live"])
    page.evaluate("() => { window.__sameDocument = true; }")  # lost on any navigation

    # The user picks the seller's account in the wallet.
    page.evaluate("(address) => window.ethereum.switchAccount(address)", seller.address)
    expect(page.get_by_test_id("account")).to_have_attribute("title", seller.address)
    expect(page.get_by_test_id("order-role")).to_have_text(EN["order.role_seller"])
    expect(page.get_by_test_id("action-mark-paid")).to_have_count(0)
    expect(page.get_by_test_id("action-release")).to_be_visible()
    # The buyer's session does not carry over: sign in again, chat closed meanwhile ...
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.get_by_test_id("chat-sign-in")).to_be_visible()
    expect(page.get_by_test_id("chat-form")).to_be_hidden()
    # ... and it is over on the server too: its cookie no longer signs requests.
    assert page.evaluate(COOKIE_STATUS_WHEN_REVOKED) == 401

    # The seller signs in on the same page and releases.
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("sign-out")).to_be_visible()
    expect(page.get_by_test_id("chat-conn")).to_have_text(EN["chat.live"])
    assert page.evaluate("async () => (await (await fetch('/api/auth/me')).json()).address") == seller.address
    page.get_by_test_id("action-release").click()
    confirm(page, tick=True)
    expect(status_of(page)).to_have_attribute("data-status", "RELEASED")
    assert escrow.orders(order_id).status == RELEASED
    assert page.evaluate("() => window.__sameDocument") is True
    screenshot(page, "order-account-switched")

    # The user disconnects the site in the wallet: the page offers to connect again.
    page.evaluate("() => window.ethereum.switchAccount(null)")
    expect(page.get_by_test_id("connect-wallet")).to_be_visible()
    expect(page.get_by_test_id("account")).to_have_count(0)
    expect(page.get_by_test_id("order-role")).to_have_text(EN["order.role_visitor"])
    expect(page.get_by_test_id("chat-sign-in")).to_be_visible()
    assert page.evaluate("() => window.__sameDocument") is True


def test_wallet__unknown_chain_added_then_network_change_followed_without_reload(
    open_page, screenshot, manifest, chain, buyer
):
    chain_id = manifest["chain_id"]
    b = open_page(buyer, wallet_chain=1)  # the wallet is on Ethereum and has never seen the desk's chain
    page = b.page
    page.goto("/")
    page.get_by_test_id("connect-wallet").click()
    # Signing in asks the wallet to switch; it does not know the chain, so the page adds it.
    expect(page.get_by_test_id("sign-out")).to_be_visible()
    added = page.evaluate("() => window.ethereum.addedChains()")
    assert [a["chainId"] for a in added] == [hex(chain_id)]
    assert added[0]["rpcUrls"] == [chain.provider.uri] and str(chain_id) in added[0]["chainName"]
    assert page.evaluate("() => window.ethereum.request({method: 'eth_chainId'})") == hex(chain_id)
    expect(page.get_by_test_id("wrong-chain")).to_have_count(0)

    # The user moves the wallet to another network: the page says so at once, no reload.
    page.evaluate("() => { window.__sameDocument = true; window.ethereum.switchChain('0x1'); }")
    banner = page.get_by_test_id("wrong-chain")
    expect(banner).to_contain_text(f"Your wallet is on chain 1; this desk runs on chain {chain_id}.")
    screenshot(page, "wallet-wrong-chain")
    page.get_by_test_id("switch-chain").click()
    expect(banner).to_have_count(0)
    assert page.evaluate("() => window.ethereum.request({method: 'eth_chainId'})") == hex(chain_id)
    assert page.evaluate("() => window.__sameDocument") is True  # never reloaded
    assert len(page.evaluate("() => window.ethereum.addedChains()")) == 1  # known now: switched, not added again
