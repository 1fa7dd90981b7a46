"""The seller's side of the desk beyond posting an ad, each journey in a real Chromium
with the injected wallet against the real backend and Anvil: managing an ad from "My
ads" (edit, pause / resume, top up with its approval, withdraw, close), a withdrawal
refused in words (by the page before sending, then by the contract), more time for the
buyer of an open order, and a dispute whose evidence is the chat transcript's head."""

import json
import re
from pathlib import Path

import ape
from eth_utils import keccak
from playwright.sync_api import expect

UNIT = 10**6
HOUR = 3600
I18N = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
EN = json.loads((I18N / "en.json").read_text())

# Escrow order statuses (STATUS_* in OtcEscrow.vy).
OPEN, PAID, DISPUTED = 1, 2, 5

# Every transaction box a page shows, in order, as "label|state" (wallet, pending,
# confirmed, done, failed). TxBox draws a new element for each state, so an observer of
# added nodes sees every state however fast it passes; repeats (a box moved into a
# re-rendered card) are dropped.
TX_LOG_JS = """
window.__txLog = [];
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType !== 1) continue;
      const boxes = node.matches("[data-testid=tx-status]") ? [node] : node.querySelectorAll("[data-testid=tx-status]");
      for (const box of boxes) {
        const entry = `${box.querySelector(".tx-title strong")?.textContent}|${box.dataset.state}`;
        if (window.__txLog.at(-1) !== entry) window.__txLog.push(entry);
      }
    }
  }
}).observe(document, { childList: true, subtree: true });
"""
PROGRESS = ["wallet", "pending", "confirmed", "done"]


def fill(text: str, **values) -> str:
    """The page's `t(key, vars)`: `{name}` placeholders filled."""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text


def tx_states(page, label: str) -> list:
    """The states the page showed for the latest transaction called `label`, in order."""
    states = []
    for entry in page.evaluate("() => window.__txLog"):
        name, state = entry.rsplit("|", 1)
        if name != label:
            continue
        if state == "wallet":  # a new try starts
            states = []
        if not states or states[-1] != state:
            states.append(state)
    return states


def expect_tx_done(scope, label: str):
    """The transaction box under `scope` ends "done" for `label`, after showing its progress."""
    done = scope.locator("[data-testid=tx-status][data-state=done]", has_text=label)
    expect(done).to_be_visible()
    expect(done).to_contain_text(EN["tx.done"])
    assert tx_states(scope.page, label) == PROGRESS


def page_time(page, unix_seconds: int) -> str:
    """A chain timestamp as the page writes it (format.js formatTime, in English)."""
    return page.evaluate(
        "(s) => new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(s * 1000))",
        unix_seconds,
    )


def short_hash(value: str) -> str:
    return f"{value[:10]}…{value[-6:]}"


def status_of(page):
    return page.get_by_test_id("order-status")


# ------------------------------------------------------------- 1. my ads


def test_my_ads__seller_edits_pauses_resumes_tops_up_withdraws_and_closes(
    open_page, connect, screenshot, backend, escrow, token, create_ad, seller
):
    ad_id = create_ad()  # 1,000 TUSD at $7.25, 10 – 500 per order, 1 h to pay, bank + WeChat
    backend.wait_indexed()
    start = token.balanceOf(seller)
    s = open_page(seller)
    sp = s.page
    sp.add_init_script(TX_LOG_JS)
    sp.goto("/my-ads.html")
    connect(sp)
    card = sp.locator(f"[data-testid=my-ad][data-ad-id='{ad_id}']")
    expect(card).to_have_attribute("data-status", "active")
    expect(card.get_by_test_id("ad-status")).to_have_text(EN["adstatus.active"])
    expect(card.get_by_test_id("my-ad-price")).to_have_text("$7.25")
    expect(card.get_by_test_id("my-ad-limits")).to_have_text("10 TUSD – 500 TUSD")
    expect(card.get_by_test_id("my-ad-available")).to_have_text("1,000 TUSD")
    expect(card.get_by_test_id("my-ad-locked")).to_have_text("0 TUSD")

    # --- edit: price and limits, starting from the terms the ad has
    card.get_by_test_id("edit").click()
    expect(card.get_by_test_id("edit-price")).to_have_value("7.25")
    expect(card.get_by_test_id("edit-min")).to_have_value("10")
    expect(card.get_by_test_id("edit-max")).to_have_value("500")
    card.get_by_test_id("edit-price").fill("7.40")
    card.get_by_test_id("edit-min").fill("20")
    card.get_by_test_id("edit-max").fill("300")
    card.get_by_test_id("save-ad").click()
    expect_tx_done(card, fill(EN["tx.update_ad"], id=ad_id))
    expect(card.get_by_test_id("my-ad-price")).to_have_text("$7.40")
    expect(card.get_by_test_id("my-ad-limits")).to_have_text("20 TUSD – 300 TUSD")
    expect(card.get_by_test_id("edit-panel")).to_have_count(0)  # closed once saved
    ad = escrow.ads(ad_id)
    assert (ad.price, ad.min_amount, ad.max_amount) == (740, 20 * UNIT, 300 * UNIT)
    assert (ad.payment_window, ad.payment_methods) == (HOUR, 0b101)  # what was not edited stays
    screenshot(sp, "my-ads-edited")

    # --- pause, then resume
    card.get_by_test_id("pause").click()
    expect_tx_done(card, fill(EN["tx.pause_ad"], id=ad_id))
    expect(card).to_have_attribute("data-status", "paused")
    expect(card.get_by_test_id("ad-status")).to_have_text(EN["adstatus.paused"])
    expect(card.get_by_test_id("pause")).to_have_count(0)
    assert escrow.ads(ad_id).active is False

    card.get_by_test_id("resume").click()
    expect_tx_done(card, fill(EN["tx.resume_ad"], id=ad_id))
    expect(card).to_have_attribute("data-status", "active")
    expect(card.get_by_test_id("ad-status")).to_have_text(EN["adstatus.active"])
    expect(card.get_by_test_id("resume")).to_have_count(0)
    assert escrow.ads(ad_id).active is True

    # --- top up 250: create_ad used up the approval, so the page approves first
    assert token.allowance(seller, escrow) == 0
    sends = s.wallet.requests.count("eth_sendTransaction")
    card.get_by_test_id("top-up").click()
    expect(card.get_by_test_id("top_up-panel")).to_contain_text(EN["myads.top_up_hint"])
    card.get_by_test_id("top_up-amount").fill("250")
    card.get_by_test_id("top_up-submit").click()
    expect_tx_done(card, fill(EN["tx.top_up"], id=ad_id))
    assert tx_states(sp, fill(EN["tx.approve"], symbol="TUSD")) == PROGRESS
    expect(card.get_by_test_id("my-ad-available")).to_have_text("1,250 TUSD")
    assert s.wallet.requests.count("eth_sendTransaction") == sends + 2  # approve, top up
    assert escrow.ads(ad_id).available == 1_250 * UNIT
    assert token.balanceOf(seller) == start - 250 * UNIT
    assert token.allowance(seller, escrow) == 0  # approved exactly what was added

    # --- withdraw 400 of the unlocked tokens
    card.get_by_test_id("withdraw").click()
    card.get_by_test_id("withdraw-amount").fill("400")
    card.get_by_test_id("withdraw-submit").click()
    expect_tx_done(card, fill(EN["tx.withdraw"], id=ad_id))
    expect(card.get_by_test_id("my-ad-available")).to_have_text("850 TUSD")
    assert escrow.ads(ad_id).available == 850 * UNIT
    assert token.balanceOf(seller) == start - 250 * UNIT + 400 * UNIT

    # --- close: what is left comes back, and the card stays to say so
    card.get_by_test_id("close").click()
    expect(card.get_by_test_id("close-panel")).to_contain_text(fill(EN["myads.close_confirm"], amount="850 TUSD"))
    card.get_by_test_id("close-confirm").click()
    expect_tx_done(card, fill(EN["tx.close_ad"], id=ad_id))
    expect(card).to_have_attribute("data-status", "closed")
    expect(card.get_by_test_id("ad-status")).to_have_text(EN["adstatus.closed"])
    expect(card.get_by_test_id("my-ad-available")).to_have_text("0 TUSD")
    expect(card.locator("button")).to_have_count(0)  # nothing more to do with it
    screenshot(sp, "my-ads-closed")
    ad = escrow.ads(ad_id)
    assert (ad.closed, ad.active, ad.available, ad.locked) == (True, False, 0, 0)
    assert token.balanceOf(seller) == start + 1_000 * UNIT  # every token of the ad is back

    # --- later visits hide closed ads until asked, and say that they are there
    sp.reload()
    expect(sp.get_by_test_id("empty")).to_contain_text(fill(EN["myads.only_closed"], count=1))
    expect(card).to_have_count(0)
    sp.get_by_test_id("show-closed").check()
    expect(card.get_by_test_id("ad-status")).to_have_text(EN["adstatus.closed"])
    expect(card.locator("button")).to_have_count(0)


# ------------------------------------------------- 2. a withdrawal refused


def test_my_ads__withdraw_refused_in_words_by_the_page_then_by_the_contract(
    open_page, connect, screenshot, backend, escrow, token, create_ad, open_order, seller
):
    ad_id = create_ad()
    backend.wait_indexed()
    start = token.balanceOf(seller)
    s = open_page(seller)
    sp = s.page
    sp.add_init_script(TX_LOG_JS)
    sp.goto("/my-ads.html")
    connect(sp)
    card = sp.locator(f"[data-testid=my-ad][data-ad-id='{ad_id}']")
    expect(card.get_by_test_id("my-ad-available")).to_have_text("1,000 TUSD")

    # More than the page shows available: refused before anything goes to the wallet.
    card.get_by_test_id("withdraw").click()
    card.get_by_test_id("withdraw-amount").fill("1500")
    card.get_by_test_id("withdraw-submit").click()
    expect(card.get_by_test_id("withdraw-error")).to_have_text(
        fill(EN["myads.withdraw_above_available"], amount="1,000 TUSD")
    )
    expect(card.get_by_test_id("tx-status")).to_have_count(0)
    assert "eth_sendTransaction" not in s.wallet.requests

    # Behind the seller's back a buyer opens an order for 300: the page still says 1,000,
    # so 800 passes the page's check and the contract refuses it.
    order_id = open_order(ad_id, 300 * UNIT)
    backend.wait_indexed()
    expect(card.get_by_test_id("my-ad-available")).to_have_text("1,000 TUSD")
    card.get_by_test_id("withdraw-amount").fill("800")
    card.get_by_test_id("withdraw-submit").click()
    tx = card.get_by_test_id("tx-status")
    expect(tx).to_have_attribute("data-state", "failed")
    expect(tx).to_contain_text(f"{fill(EN['tx.withdraw'], id=ad_id)} · {EN['tx.failed']}")
    expect(card.get_by_test_id("tx-error")).to_have_text(EN["revert.amount_exceeds_available"])
    expect(card.get_by_test_id("tx-reason")).to_have_text("otc_escrow: amount exceeds available")
    expect(card.get_by_test_id("tx-hash")).to_have_count(0)  # refused before anything was sent
    assert tx_states(sp, fill(EN["tx.withdraw"], id=ad_id)) == ["wallet", "failed"]
    expect(card.get_by_test_id("withdraw-error")).to_have_text("")  # the earlier message is gone
    # The page reads the ad again to show why; the panel keeps what the seller typed.
    expect(card.get_by_test_id("my-ad-available")).to_have_text("700 TUSD")
    expect(card.get_by_test_id("my-ad-locked")).to_have_text("300 TUSD")
    expect(card.get_by_test_id("withdraw-amount")).to_have_value("800")
    expect(card.get_by_test_id("withdraw-submit")).to_be_enabled()
    screenshot(sp, "my-ads-withdraw-refused")

    # on chain: nothing moved
    assert "eth_sendTransaction" not in s.wallet.requests
    ad = escrow.ads(ad_id)
    assert (ad.available, ad.locked) == (700 * UNIT, 300 * UNIT)
    assert token.balanceOf(seller) == start
    assert escrow.orders(order_id).status == OPEN

    # What is unlocked can still be taken: "All available" fills in the 700 now shown.
    card.get_by_test_id("withdraw-max").click()
    expect(card.get_by_test_id("withdraw-amount")).to_have_value("700")
    card.get_by_test_id("withdraw-submit").click()
    expect_tx_done(card, fill(EN["tx.withdraw"], id=ad_id))
    expect(card.get_by_test_id("my-ad-available")).to_have_text("0 TUSD")
    expect(card.get_by_test_id("my-ad-locked")).to_have_text("300 TUSD")
    ad = escrow.ads(ad_id)
    assert (ad.available, ad.locked) == (0, 300 * UNIT)
    assert token.balanceOf(seller) == start + 700 * UNIT


# -------------------------------------------------- 3. more time to pay


COUNTDOWN_1H = re.compile(r"^(59:\d\d|1:00:00)$")
COUNTDOWN_90MIN = re.compile(r"^1:(29:\d\d|30:00)$")


def test_extend_deadline__seller_gives_buyer_more_time_and_both_pages_show_it(
    open_page, connect, screenshot, backend, chain, escrow, create_ad, open_order, seller, buyer
):
    ad_id = create_ad(payment_window=HOUR)
    order_id = open_order(ad_id)
    backend.wait_indexed()
    before = escrow.orders(order_id).deadline

    b = open_page(buyer)
    bp = b.page
    bp.goto(f"/order.html?id={order_id}")
    connect(bp)
    expect(status_of(bp)).to_have_attribute("data-status", "OPEN")
    expect(bp.get_by_test_id("countdown")).to_have_text(COUNTDOWN_1H)
    expect(bp.get_by_test_id("action-extend")).to_have_count(0)  # the seller's to give

    s = open_page(seller)
    sp = s.page
    sp.goto(f"/order.html?id={order_id}")
    connect(sp)
    expect(sp.get_by_test_id("order-role")).to_have_text(EN["order.role_seller"])
    expect(sp.get_by_test_id("countdown")).to_have_text(COUNTDOWN_1H)
    expect(sp.get_by_test_id("actions-note")).to_have_text(EN["order.seller_wait_note"])

    sp.get_by_test_id("action-extend").click()
    choice = sp.get_by_test_id("extend-seconds")
    expect(choice.locator("option")).to_have_text(["+ 15 min", "+ 30 min", "+ 1 h", "+ 2 h"])
    choice.select_option("1800")
    sp.get_by_test_id("extend-confirm").click()
    tx = sp.locator("#order-tx [data-testid=tx-status]")
    expect(tx).to_have_attribute("data-state", "done")
    expect(tx).to_contain_text(fill(EN["tx.extend"], id=order_id))
    expect(sp.get_by_test_id("extend-seconds")).to_have_count(0)  # the panel closed

    # on chain: exactly the 30 minutes chosen, announced by DeadlineExtended
    after = escrow.orders(order_id).deadline
    assert after == before + 1800
    tx_hash = tx.get_by_test_id("tx-hash").get_attribute("href").split("q=")[1]
    [event] = chain.get_receipt(tx_hash).decode_logs(escrow.DeadlineExtended)
    assert (event.order_id, event.deadline) == (order_id, after)
    assert escrow.orders(order_id).status == OPEN

    # both pages: the countdown grew by 30 minutes, the new deadline, the timeline entry
    # (the buyer's page did nothing: it follows by push or poll)
    for page in (sp, bp):
        expect(page.get_by_test_id("countdown")).to_have_text(COUNTDOWN_90MIN)
        expect(page.get_by_test_id("deadline-card")).to_contain_text(
            fill(EN["order.deadline_at"], time=page_time(page, after))
        )
        items = page.get_by_test_id("timeline-item")
        expect(items).to_have_count(2)
        expect(items.last).to_have_attribute("data-event", "DeadlineExtended")
        expect(items.last).to_contain_text(EN["event.DeadlineExtended"])
        expect(items.last).to_contain_text(fill(EN["event.detail.extended"], deadline=page_time(page, after)))
    expect(bp.get_by_test_id("action-mark-paid")).to_be_enabled()  # the buyer can still pay
    screenshot(sp, "order-extended")
    screenshot(bp, "order-extended-buyer")


# ------------------------------------------------------------- 4. dispute


def test_dispute__buyer_disputes_with_chat_head_as_evidence_seller_waits_out_the_grace(
    open_page, connect, confirm, screenshot, backend, chain, escrow, create_ad, open_order, seller, buyer
):
    ad_id = create_ad()
    order_id = open_order(ad_id)
    backend.wait_indexed()
    b = open_page(buyer)
    bp = b.page
    bp.goto(f"/order.html?id={order_id}")
    connect(bp)
    s = open_page(seller)
    sp = s.page
    sp.goto(f"/order.html?id={order_id}")
    connect(sp)
    expect(bp.get_by_test_id("chat-conn")).to_have_text(EN["chat.live"])
    expect(sp.get_by_test_id("chat-conn")).to_have_text(EN["chat.live"])

    # --- they talk, the buyer says it is paid, the seller disagrees
    bp.get_by_test_id("chat-input").fill("Sent 725 USD by bank transfer, reference SENT-42.")
    bp.get_by_test_id("chat-send").click()
    expect(sp.get_by_test_id("chat-message")).to_have_count(1)
    sp.get_by_test_id("chat-input").fill("Nothing has arrived on my side.")
    sp.get_by_test_id("chat-send").click()
    expect(bp.get_by_test_id("chat-message")).to_have_count(2)
    bp.get_by_test_id("action-mark-paid").click()
    confirm(bp)
    expect(status_of(bp)).to_have_attribute("data-status", "PAID")
    expect(status_of(sp)).to_have_attribute("data-status", "PAID")
    paid_at = escrow.orders(order_id).paid_at

    # --- the seller may not dispute for an hour after mark-paid: the page says from when,
    # and the button stays off until the chain's clock gets there
    sp.get_by_test_id("action-dispute").click()
    wait_note = sp.get_by_test_id("seller-dispute-from")
    expect(wait_note).to_have_text(fill(EN["order.seller_dispute_from"], time=page_time(sp, paid_at + HOUR)))
    expect(sp.get_by_test_id("dispute-confirm")).to_be_disabled()
    screenshot(sp, "order-seller-dispute-grace")
    with ape.reverts("otc_escrow: seller dispute grace not over"):  # the chain agrees (nothing is mined)
        escrow.open_dispute(order_id, b"\x01" * 32, sender=seller)
    chain.provider.make_request("evm_increaseTime", [HOUR])
    chain.provider.make_request("evm_mine", [])
    expect(sp.get_by_test_id("dispute-confirm")).to_be_enabled()
    expect(wait_note).to_have_count(0)
    assert escrow.orders(order_id).status == PAID  # the seller has not disputed

    # --- the buyer disputes: the evidence is the transcript head the backend keeps
    bp.get_by_test_id("action-dispute").click()
    expect(bp.get_by_test_id("action-panel")).to_contain_text(EN["order.dispute_note"])
    expect(bp.get_by_test_id("seller-dispute-from")).to_have_count(0)  # the buyer need not wait
    bp.get_by_test_id("dispute-confirm").click()
    tx = bp.locator("#order-tx [data-testid=tx-status]")
    expect(tx).to_have_attribute("data-state", "done")
    expect(tx).to_contain_text(fill(EN["tx.dispute"], id=order_id))
    for page in (bp, sp):
        expect(status_of(page)).to_have_attribute("data-status", "DISPUTED")
        expect(status_of(page)).to_have_text(EN["status.DISPUTED"])
        expect(page.get_by_test_id("actions-note")).to_have_text(EN["order.disputed_note"])
        expect(page.locator("#actions button")).to_have_count(0)
        expect(page.get_by_test_id("action-panel")).to_be_empty()
        last = page.get_by_test_id("timeline-item").last
        expect(last).to_have_attribute("data-event", "DisputeOpened")
    screenshot(bp, "order-disputed")

    # The head as the backend gives it (same call order.js makes), and the transcript.
    chat = bp.evaluate(
        """async (id) => {
            const { token } = JSON.parse(sessionStorage.getItem("sentinel.session"));
            const get = async (path) =>
                (await fetch(`/api/orders/${id}/chat${path}`,
                             { headers: { Authorization: `Bearer ${token}` } })).json();
            return { head: await get("/head"), transcript: await get("") };
        }""",
        order_id,
    )
    head = chat["head"]["head"]
    assert chat["head"]["count"] == 2
    assert head == chat["transcript"]["messages"][-1]["hash"]  # the last message, not a stand-in
    assert head != "0x" + keccak(text=f"sentinel-otc:order:{order_id}:dispute").hex()

    # on chain: DISPUTED, by the buyer, with exactly that head as evidence
    assert escrow.orders(order_id).status == DISPUTED
    tx_hash = tx.get_by_test_id("tx-hash").get_attribute("href").split("q=")[1]
    [event] = chain.get_receipt(tx_hash).decode_logs(escrow.DisputeOpened)
    assert event.order_id == order_id
    assert event.by == buyer.address
    assert "0x" + bytes(event.evidence_hash).hex() == head
    for page in (bp, sp):
        expect(page.get_by_test_id("timeline-item").last).to_contain_text(short_hash(head))
