"""OtcEscrow with odd tokens: a USDT-style token that returns nothing,
a fee-on-transfer token (refused), and tokens off the allowlist."""

import ape
from conftest import EVIDENCE, FEE_BPS, HOUR, METHODS, PAYMENT_REF, PRICE, UNIT, USD, sign_permit, single_event
from eth_utils import keccak

TERMS = keccak(text="terms")
FEE_ON_TRANSFER = "otc_escrow: fee-on-transfer token not supported"
NOT_ALLOWED = "otc_escrow: token not allowed"


# -------------------------------------------------------------- helpers


def post_ad(escrow, token, seller, amount, min_amount=10 * UNIT, max_amount=500 * UNIT):
    tx = escrow.create_ad(token, amount, PRICE, USD, min_amount, max_amount, HOUR, METHODS, TERMS, sender=seller)
    return tx, tx.decode_logs(escrow.AdCreated)[0].ad_id


def fee_of(amount):
    return amount * FEE_BPS // 10_000


# ---------------------------------------------- USDT-style (no return)


def test_no_return_token__full_trade(escrow, no_return_token, seller, buyer, fee_recipient):
    t = no_return_token
    seller_start = t.balanceOf(seller)
    tx, ad = post_ad(escrow, t, seller, 1_000 * UNIT)
    assert escrow.ads(ad).available == 1_000 * UNIT
    assert t.balanceOf(escrow) == 1_000 * UNIT
    assert t.balanceOf(seller) == seller_start - 1_000 * UNIT
    single_event(tx, t.Transfer, t, sender=seller, receiver=escrow, value=1_000 * UNIT)

    order = escrow.open_order(ad, 200 * UNIT, PRICE, sender=buyer).decode_logs(escrow.OrderOpened)[0].order_id
    escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    tx = escrow.release(order, sender=seller)
    fee = fee_of(200 * UNIT)
    assert escrow.orders(order).status == 3
    assert t.balanceOf(buyer) == 200 * UNIT - fee
    assert escrow.accrued_fees(t) == fee
    single_event(tx, t.Transfer, t, sender=escrow, receiver=buyer, value=200 * UNIT - fee)
    single_event(
        tx, escrow.OrderReleased, escrow, order_id=order, seller=seller, buyer=buyer, amount=200 * UNIT, fee=fee
    )

    escrow.withdraw_fees(t, sender=fee_recipient)
    assert t.balanceOf(fee_recipient) == fee
    assert escrow.accrued_fees(t) == 0
    assert t.balanceOf(escrow) == 800 * UNIT
    assert escrow.ads(ad).available == 800 * UNIT


def test_no_return_token__top_up_withdraw_close(escrow, no_return_token, seller):
    t = no_return_token
    start = t.balanceOf(seller)
    _, ad = post_ad(escrow, t, seller, 100 * UNIT)
    escrow.top_up(ad, 50 * UNIT, sender=seller)
    assert escrow.ads(ad).available == 150 * UNIT
    tx = escrow.withdraw(ad, 30 * UNIT, sender=seller)
    single_event(tx, t.Transfer, t, sender=escrow, receiver=seller, value=30 * UNIT)
    tx = escrow.close_ad(ad, sender=seller)
    single_event(tx, escrow.AdClosed, escrow, ad_id=ad, maker=seller, refunded=120 * UNIT)
    assert t.balanceOf(seller) == start
    assert t.balanceOf(escrow) == 0


def test_no_return_token__cancel_on_closed_ad_and_dispute(escrow, no_return_token, seller, buyer, arbitrator):
    t = no_return_token
    start = t.balanceOf(seller)
    _, ad = post_ad(escrow, t, seller, 300 * UNIT)
    ids = [
        escrow.open_order(ad, 100 * UNIT, PRICE, sender=buyer).decode_logs(escrow.OrderOpened)[0].order_id
        for _ in range(2)
    ]
    cancelled, disputed = ids
    escrow.mark_paid(disputed, PAYMENT_REF, sender=buyer)
    escrow.open_dispute(disputed, EVIDENCE, sender=buyer)
    escrow.close_ad(ad, sender=seller)  # refunds the 100 unlocked
    assert t.balanceOf(seller) == start - 200 * UNIT

    escrow.cancel(cancelled, sender=buyer)  # straight back to the seller
    assert t.balanceOf(seller) == start - 100 * UNIT

    escrow.resolve_dispute(disputed, 5_000, sender=arbitrator)
    fee = fee_of(50 * UNIT)
    assert t.balanceOf(buyer) == 50 * UNIT - fee
    assert t.balanceOf(seller) == start - 50 * UNIT
    assert t.balanceOf(escrow) == fee == escrow.accrued_fees(t)
    assert escrow.ads(ad).locked == 0


def test_no_return_token__failed_pull_is_refused(escrow, no_return_token, admin, other):
    # `other` holds tokens but never approved the escrow: transferFrom reverts
    no_return_token.mint(other, 100 * UNIT, sender=admin)
    with ape.reverts("otc_escrow: token transfer failed"):
        post_ad(escrow, no_return_token, other, 100 * UNIT)
    assert escrow.ad_count() == 0
    assert no_return_token.balanceOf(other) == 100 * UNIT


# ------------------------------------------------------ fee-on-transfer


def test_fee_token__create_ad_refused(escrow, fee_token, seller):
    before = fee_token.balanceOf(seller)
    with ape.reverts(FEE_ON_TRANSFER):
        post_ad(escrow, fee_token, seller, 1_000 * 10**18, min_amount=10**18, max_amount=10**18)
    assert escrow.ad_count() == 0
    assert fee_token.balanceOf(seller) == before
    assert fee_token.balanceOf(escrow) == 0


def test_fee_token__refused_even_for_tiny_amounts(escrow, fee_token, seller):
    # 1% of 100 wei is 1 wei: still short
    with ape.reverts(FEE_ON_TRANSFER):
        post_ad(escrow, fee_token, seller, 100, min_amount=1, max_amount=100)


# ------------------------------------------------------------ allowlist


def test_allowlist__unlisted_token_refused(escrow, project, admin, seller):
    unlisted = admin.deploy(project.TestStablecoin, "Other USD", "OUSD")
    unlisted.faucet(100 * UNIT, sender=seller)
    unlisted.approve(escrow, 2**256 - 1, sender=seller)
    with ape.reverts(NOT_ALLOWED):
        post_ad(escrow, unlisted, seller, 100 * UNIT)
    assert unlisted.balanceOf(escrow) == 0

    escrow.set_token_allowed(unlisted, True, sender=admin)
    _, ad = post_ad(escrow, unlisted, seller, 100 * UNIT)
    assert escrow.ads(ad).token == unlisted.address


def test_allowlist__address_without_code_refused(escrow, seller, other):
    with ape.reverts(NOT_ALLOWED):
        post_ad(escrow, other.address, seller, 100 * UNIT)


def test_allowlist__delisted_token_refused(escrow, token, no_return_token, admin, seller):
    escrow.set_token_allowed(no_return_token, False, sender=admin)
    with ape.reverts(NOT_ALLOWED):
        post_ad(escrow, no_return_token, seller, 100 * UNIT)
    _, ad = post_ad(escrow, token, seller, 100 * UNIT)  # other tokens are unaffected
    assert escrow.ads(ad).token == token.address


def test_allowlist__permit_path_refuses_unlisted_token(escrow, project, admin, other, chain):
    unlisted = admin.deploy(project.TestStablecoin, "Test USD", "TUSD")
    unlisted.faucet(100 * UNIT, sender=other)
    deadline = chain.pending_timestamp + HOUR
    v, r, s = sign_permit(unlisted, chain, other, escrow, 100 * UNIT, deadline)
    with ape.reverts(NOT_ALLOWED):
        escrow.create_ad_with_permit(
            unlisted,
            100 * UNIT,
            PRICE,
            USD,
            10 * UNIT,
            100 * UNIT,
            HOUR,
            METHODS,
            TERMS,
            deadline,
            v,
            r,
            s,
            sender=other,
        )
    assert unlisted.allowance(other, escrow) == 0
    assert unlisted.balanceOf(other) == 100 * UNIT
