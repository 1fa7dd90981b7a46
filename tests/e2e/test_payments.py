"""Payments in the browser: the buyer sees where to pay and pays by bank with a proof; a
trade paid from the desk balance (top up, pay, gasless mark paid, release, both balances
right); a cancelled desk-balance order gives the buyer the money back."""

import re

import httpx
from eth_utils import keccak
from playwright.sync_api import expect

UNIT = 10**6
DESK = 1 << 6
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
ORDER_URL = re.compile(r"/order\.html\?id=\d+$")


def open_on_chain(escrow, token, buyer, ad_id, amount=100 * UNIT):
    tx = escrow.open_order(ad_id, amount, 725, sender=buyer)
    return tx.decode_logs(escrow.OrderOpened)[0].order_id


def payment_ref_of(backend, order_id: int) -> str:
    """The payment_ref of the order's OrderPaid event, as the indexer stored it."""
    backend.wait_indexed()
    return httpx.get(f"{backend.url}/api/orders/{order_id}").json()["payment_ref"]


def top_up(page, amount: str):
    page.goto("/account.html")
    page.get_by_test_id("bank-currency").fill("USD")
    page.get_by_test_id("bank-amount").fill(amount)
    page.get_by_test_id("topup").click()
    expect(page.get_by_test_id("bank-done")).to_contain_text("added from the sandbox bank")


def available(page):
    return page.locator("[data-testid=balance-USD] [data-testid=available]")


def test_bank_payment__details_then_proof_then_release(
    open_page, connect, confirm, screenshot, backend, escrow, token, seller, buyer
):
    # --- the seller stores where to be paid, then posts an ad whose terms hash commits to it
    s = open_page(seller)
    sp = s.page
    sp.goto("/my-ads.html")
    connect(sp)
    sp.get_by_test_id("detail-method").select_option("0")
    sp.get_by_test_id("detail-bank_name").fill("Sandbox Bank")
    sp.get_by_test_id("detail-holder").fill("Sam Seller")
    sp.get_by_test_id("detail-account").fill("DE89 3704 0044 0532 0130 00")
    sp.get_by_test_id("detail-save").click()
    expect(sp.get_by_test_id("detail-row")).to_contain_text("Sam Seller")

    sp.goto("/create-ad.html")
    sp.get_by_test_id("ad-amount").fill("1000")
    sp.get_by_test_id("ad-price").fill("7.25")
    sp.get_by_test_id("ad-min").fill("10")
    sp.get_by_test_id("ad-max").fill("500")
    sp.get_by_test_id("method-0").check()
    sp.get_by_test_id("ad-terms").fill("Bank transfer only.")
    sp.get_by_test_id("approve").click()
    expect(sp.locator("#approve-tx [data-testid=tx-status]")).to_have_attribute("data-state", "done")
    sp.get_by_test_id("create-ad").click()
    created = sp.get_by_test_id("ad-created")
    expect(created).to_be_visible()
    ad_id = int(created.get_attribute("data-ad-id"))
    order_id = open_on_chain(escrow, token, buyer, ad_id)
    backend.wait_indexed()

    # --- the buyer sees the details, the exact amount and the reference, with copy buttons
    b = open_page(buyer)
    bp = b.page
    bp.goto(f"/order.html?id={order_id}")
    connect(bp)
    card = bp.get_by_test_id("payment-card")
    expect(card.get_by_test_id("pay-amount")).to_have_text("$725.00")
    expect(card.get_by_test_id("pay-reference")).to_have_text(f"OTC-{order_id}")
    expect(card.get_by_test_id("pay-account")).to_have_text("DE89 3704 0044 0532 0130 00")
    expect(card.get_by_test_id("pay-holder")).to_have_text("Sam Seller")
    expect(card.get_by_test_id("copy-pay-account")).to_have_attribute("data-copy", "DE89 3704 0044 0532 0130 00")
    expect(card.get_by_test_id("copy-amount")).to_have_attribute("data-copy", "725.00")
    expect(card.get_by_test_id("pay-committed")).to_have_attribute("data-committed", "true")
    screenshot(bp, "order-payment-details")

    # --- pays by bank, records the bank's reference and a receipt, and marks paid with its hash
    card.get_by_test_id("proof-reference").fill("SANDBOX-2026-0042")
    card.get_by_test_id("proof-file").set_input_files(
        files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": PNG}]
    )
    card.get_by_test_id("proof-submit").click()
    confirm(bp)
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    assert re.fullmatch(r"0x[0-9a-f]{64}", payment_ref_of(backend, order_id))

    # --- the seller sees the proof, tied to the payment_ref on chain, and releases
    sp.goto(f"/order.html?id={order_id}")
    proof = sp.get_by_test_id("proof")
    expect(proof).to_have_attribute("data-matches", "true")  # its record hash is the payment_ref on chain
    expect(proof.get_by_test_id("proof-bank-reference")).to_have_text("SANDBOX-2026-0042")
    screenshot(sp, "order-payment-proof-seller")
    sp.get_by_test_id("action-release").click()
    confirm(sp, tick=True)
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
    assert escrow.orders(order_id).status == 3


def test_desk_balance__top_up_pay_mark_paid_release(
    open_page, connect, confirm, screenshot, backend, chain, create_ad, escrow, token, seller, buyer
):
    ad_id = create_ad(payment_methods=0b1 | DESK)
    order_id = open_on_chain(escrow, token, buyer, ad_id)

    b = open_page(buyer)
    bp = b.page
    bp.goto("/account.html")
    connect(bp)
    top_up(bp, "1000")
    expect(available(bp)).to_have_text("$1,000.00")

    # --- pay from the desk balance: a held transfer, then a gasless mark paid with its hash
    bp.goto(f"/order.html?id={order_id}")
    pay = bp.get_by_test_id("pay-desk")
    expect(pay).to_have_text("Pay $725.00 from my desk balance")
    eth_before = b.wallet.w3.eth.get_balance(buyer.address)
    pay.click()
    confirm(bp)
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    expect(bp.get_by_test_id("desk-held")).to_have_attribute("data-status", "pending")
    assert "eth_signTypedData_v4" in b.wallet.requests  # signed, relayed: no gas from the buyer
    assert b.wallet.w3.eth.get_balance(buyer.address) == eth_before
    transfer_id = f"order:{chain.chain_id}:{order_id}:1"
    assert payment_ref_of(backend, order_id) == "0x" + keccak(text=transfer_id).hex()

    # --- the seller sees the money held by the desk and releases
    s = open_page(seller)
    sp = s.page
    sp.goto(f"/order.html?id={order_id}")
    connect(sp)
    held = sp.get_by_test_id("desk-held")
    expect(held).to_have_text("Payment held by the desk: $725.00")
    screenshot(sp, "order-desk-held")
    sp.get_by_test_id("action-release").click()
    confirm(sp, tick=True)
    expect(sp.get_by_test_id("order-status")).to_have_attribute("data-status", "RELEASED")
    expect(held).to_have_attribute("data-status", "posted")

    # --- both balances right
    sp.goto("/account.html")
    expect(available(sp)).to_have_text("$725.00")
    expect(sp.get_by_test_id("history-row").first).to_have_attribute("data-code", "settlement")
    bp.goto("/account.html")
    expect(available(bp)).to_have_text("$275.00")
    expect(bp.get_by_test_id("running").first).to_have_text("$275.00")
    screenshot(bp, "account")


def test_desk_balance__cancelled_order_returns_the_money(
    open_page, connect, confirm, backend, create_ad, escrow, token, buyer
):
    ad_id = create_ad(payment_methods=DESK)
    order_id = open_on_chain(escrow, token, buyer, ad_id)

    b = open_page(buyer)
    bp = b.page
    bp.goto("/account.html")
    connect(bp)
    top_up(bp, "725")
    bp.goto(f"/order.html?id={order_id}")
    bp.get_by_test_id("pay-desk").click()
    confirm(bp)
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "PAID")
    bp.goto("/account.html")
    expect(available(bp)).to_have_text("$0.00")

    bp.goto(f"/order.html?id={order_id}")
    bp.get_by_test_id("action-cancel").click()
    confirm(bp)
    expect(bp.get_by_test_id("order-status")).to_have_attribute("data-status", "CANCELLED")
    expect(bp.get_by_test_id("desk-held")).to_have_attribute("data-status", "voided")
    bp.goto("/account.html")
    expect(available(bp)).to_have_text("$725.00")
    expect(bp.get_by_test_id("history-row").first).to_have_attribute("data-status", "voided")
