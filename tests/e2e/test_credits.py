"""A payout the token refused, in the browser: the buyer's address is blocklisted by a
USDC-style token when the seller releases; the order still ends (its timeline says the
payout waits), the account page lists the credit, and once the token accepts the buyer
again, "Withdraw" sends `withdraw_credit(token)` from the wallet. English and Chinese,
desktop and phone."""

import json
from pathlib import Path

import pytest
from eth_utils import keccak
from playwright.sync_api import expect

I18N = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
TEXT = {lang: json.loads((I18N / f"{lang}.json").read_text()) for lang in ("en", "zh-CN")}
UNIT = 10**6
PRICE = 725


@pytest.fixture
def blocklist_token(project, admin, escrow, seller):
    contract = admin.deploy(project.BlocklistToken)
    escrow.set_token_allowed(contract, True, sender=admin)
    contract.mint(seller, 1_000 * UNIT, sender=seller)
    contract.approve(escrow, 2**256 - 1, sender=seller)
    return contract


# Both languages and both screens, paired so the browser suite stays within CI's time.
@pytest.mark.parametrize("lang, mobile", [("en", False), ("zh-CN", True)], ids=["en-desktop", "zh-phone"])
def test_credit__blocklisted_buyer_withdraws_after_unblock(
    open_page, connect, backend, escrow, blocklist_token, admin, seller, buyer, screenshot, lang, mobile
):
    words = TEXT[lang]
    token = blocklist_token
    tx = escrow.create_ad(
        token, 500 * UNIT, PRICE, b"USD", 10 * UNIT, 500 * UNIT, 3600, 0b101, keccak(text="terms"), sender=seller
    )
    ad_id = tx.decode_logs(escrow.AdCreated)[0].ad_id
    order_id = escrow.open_order(ad_id, 100 * UNIT, PRICE, sender=buyer).decode_logs(escrow.OrderOpened)[0].order_id
    token.set_blocked(buyer, True, sender=admin)
    escrow.release(order_id, sender=seller)
    credited = 100 * UNIT - 100 * UNIT * escrow.fee_bps() // 10_000
    assert escrow.credits(buyer, token) == credited
    backend.wait_indexed()

    b = open_page(buyer, mobile=mobile)
    bp = b.page
    bp.goto(f"/order.html?id={order_id}")
    if lang != "en":
        bp.get_by_test_id("lang-switch").select_option(lang)
        expect(bp.locator("html")).to_have_attribute("lang", lang)
    connect(bp)
    # The order ended; its timeline says where the payout went.
    expect(bp.locator("[data-testid=timeline-item][data-event=OrderReleased]")).to_be_visible()
    expect(bp.locator("[data-testid=timeline-item][data-event=PayoutCredited]")).to_contain_text(
        words["event.PayoutCredited"]
    )

    bp.goto("/account.html")
    card = bp.get_by_test_id("credits")
    expect(card).to_be_visible()
    expect(card).to_contain_text(words["credits.title"])
    row = card.get_by_test_id("credit")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("credit-amount")).to_have_text(f"{credited / UNIT:g} BUSD")
    screenshot(bp, f"credits-{lang}-{'phone' if mobile else 'desktop'}")

    # Still blocklisted: the withdrawal is refused, and the credit stays.
    row.get_by_test_id("credit-withdraw").click()
    status = card.get_by_test_id("tx-status")
    expect(status).to_have_attribute("data-state", "failed")
    expect(card.get_by_test_id("tx-error")).to_have_text(words["revert.token_transfer_failed"])
    assert escrow.credits(buyer, token) == credited

    token.set_blocked(buyer, False, sender=admin)
    before = token.balanceOf(buyer)
    # ethers answers an identical RPC request from its cache for 250 ms (`cacheTimeout`): a
    # retry the test makes within that window gets the refused gas estimate again (a person's
    # retry comes later). A reload starts a fresh provider.
    bp.reload()
    card = bp.get_by_test_id("credits")
    row = card.get_by_test_id("credit")
    status = card.get_by_test_id("tx-status")
    row.get_by_test_id("credit-withdraw").click()
    expect(status).to_have_attribute("data-state", "done")
    expect(card).to_be_hidden()  # nothing left to withdraw
    assert token.balanceOf(buyer) == before + credited
    assert escrow.credits(buyer, token) == 0
