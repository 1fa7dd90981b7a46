"""OtcEscrow orders: open_order, mark_paid, release, cancel, cancel_expired,
extend_deadline, open_dispute, resolve_dispute, and orders on closed ads."""

import ape
import pytest
from conftest import DAY, EVIDENCE, FEE_BPS, HOUR, PAYMENT_REF, PRICE, UNIT, single_event
from eth_utils import keccak

OPEN, PAID, RELEASED, CANCELLED, DISPUTED, RESOLVED = 1, 2, 3, 4, 5, 6
CANCEL_BY_BUYER, CANCEL_EXPIRED = 1, 2
BPS = 10_000
SELLER_DISPUTE_GRACE = HOUR
MAX_WINDOW = 7 * DAY
ZERO32 = b"\x00" * 32
MISSING_ROLE = "access_control: account is missing role"
AMOUNT = 100 * UNIT  # what the `order_id` fixture buys
FEE = AMOUNT * FEE_BPS // BPS


# -------------------------------------------------------------- helpers


@pytest.fixture
def disputed_order_id(escrow, paid_order_id, buyer):
    escrow.open_dispute(paid_order_id, EVIDENCE, sender=buyer)
    return paid_order_id


@pytest.fixture
def attest(kyc_registry, officer, chain):
    def attest_(account, level, expires_in=30 * DAY):
        kyc_registry.attest(
            account, level, chain.pending_timestamp + expires_in, keccak(text="kyc record"), sender=officer
        )

    return attest_


# ----------------------------------------------------------- open_order


def test_open_order__locks_amount_and_logs(escrow, token, seller, buyer, ad_id):
    buyer_before = token.balanceOf(buyer)
    tx = escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)
    deadline = tx.timestamp + HOUR

    assert escrow.order_count() == 1
    order = escrow.orders(1)
    assert order.buyer == buyer.address
    assert order.status == OPEN
    assert order.deadline == deadline
    assert order.paid_at == 0
    assert order.ad_id == ad_id
    assert order.amount == AMOUNT
    assert order.price == PRICE
    assert order.fee_bps == FEE_BPS

    ad = escrow.ads(ad_id)
    assert ad.available == 900 * UNIT
    assert ad.locked == AMOUNT
    # no token moves: the amount was already in the escrow
    assert tx.decode_logs(token.Transfer) == []
    assert token.balanceOf(buyer) == buyer_before
    assert token.balanceOf(escrow) == 1_000 * UNIT
    single_event(
        tx,
        escrow.OrderOpened,
        escrow,
        order_id=1,
        ad_id=ad_id,
        buyer=buyer,
        seller=seller,
        amount=AMOUNT,
        price=PRICE,
        deadline=deadline,
    )


def test_open_order__ids_increment_and_orders_stack(escrow, ad_id, open_order, other, token):
    assert open_order(ad_id, 100 * UNIT) == 1
    assert open_order(ad_id, 200 * UNIT, sender=other) == 2
    assert escrow.order_count() == 2
    assert escrow.orders(2).buyer == other.address
    ad = escrow.ads(ad_id)
    assert ad.available == 700 * UNIT
    assert ad.locked == 300 * UNIT


def test_open_order__unknown_order_reads_as_zero(escrow, ad_id):
    order = escrow.orders(1)
    assert order.buyer == "0x" + "00" * 20
    assert order.status == 0
    assert order.amount == 0


def test_open_order__max_price_above_price_pays_ad_price(escrow, buyer, ad_id, open_order):
    order = open_order(ad_id, max_price=PRICE + 100)
    assert escrow.orders(order).price == PRICE


def test_open_order__price_guard(escrow, buyer, ad_id):
    with ape.reverts("otc_escrow: price above max_price"):
        escrow.open_order(ad_id, AMOUNT, PRICE - 1, sender=buyer)
    assert escrow.order_count() == 0
    assert escrow.ads(ad_id).available == 1_000 * UNIT


def test_open_order__exact_min_and_max_accepted(escrow, ad_id, open_order):
    low = open_order(ad_id, 10 * UNIT)
    high = open_order(ad_id, 500 * UNIT)
    assert escrow.orders(low).amount == 10 * UNIT
    assert escrow.orders(high).amount == 500 * UNIT
    assert escrow.ads(ad_id).locked == 510 * UNIT


def test_open_order__amount_below_minimum(escrow, buyer, ad_id):
    with ape.reverts("otc_escrow: amount below ad minimum"):
        escrow.open_order(ad_id, 10 * UNIT - 1, PRICE, sender=buyer)


def test_open_order__amount_above_maximum(escrow, buyer, ad_id):
    with ape.reverts("otc_escrow: amount above ad maximum"):
        escrow.open_order(ad_id, 500 * UNIT + 1, PRICE, sender=buyer)


def test_open_order__amount_exceeds_available(escrow, seller, buyer, ad_id, open_order):
    escrow.withdraw(ad_id, 950 * UNIT, sender=seller)
    with ape.reverts("otc_escrow: amount exceeds available"):
        escrow.open_order(ad_id, 50 * UNIT + 1, PRICE, sender=buyer)
    order = open_order(ad_id, 50 * UNIT)
    assert escrow.ads(ad_id).available == 0
    assert escrow.orders(order).amount == 50 * UNIT


def test_open_order__locked_amount_is_not_available(escrow, buyer, other, ad_id, open_order):
    open_order(ad_id, 500 * UNIT)
    open_order(ad_id, 450 * UNIT, sender=other)
    with ape.reverts("otc_escrow: amount exceeds available"):
        escrow.open_order(ad_id, 51 * UNIT, PRICE, sender=buyer)


def test_open_order__paused_ad(escrow, seller, buyer, ad_id):
    escrow.pause_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad not active"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)


def test_open_order__closed_ad(escrow, seller, buyer, ad_id):
    escrow.close_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad not active"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)


def test_open_order__own_ad(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: seller cannot buy own ad"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=seller)


def test_open_order__unknown_ad(escrow, buyer, token):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.open_order(1, AMOUNT, PRICE, sender=buyer)


def test_open_order__kyc_required_for_both_parties(escrow, admin, seller, buyer, ad_id, attest, open_order):
    escrow.set_kyc_min_level(1, sender=admin)
    with ape.reverts("otc_escrow: kyc required"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)

    attest(buyer, 1)
    # the ad predates the requirement: its seller must be verified too
    with ape.reverts("otc_escrow: kyc required"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)

    attest(seller, 1)
    order = open_order(ad_id)
    assert escrow.orders(order).status == OPEN


def test_open_order__kyc_level_too_low(escrow, admin, seller, buyer, ad_id, attest):
    escrow.set_kyc_min_level(2, sender=admin)
    attest(seller, 3)
    attest(buyer, 1)
    with ape.reverts("otc_escrow: kyc required"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)


def test_open_order__kyc_expired(escrow, admin, seller, buyer, ad_id, attest, chain, open_order):
    escrow.set_kyc_min_level(1, sender=admin)
    attest(seller, 2)
    attest(buyer, 2, expires_in=HOUR)
    open_order(ad_id)
    chain.pending_timestamp += 2 * HOUR
    with ape.reverts("otc_escrow: kyc required"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)


def test_open_order__kyc_revoked(escrow, admin, seller, buyer, officer, ad_id, attest, kyc_registry):
    escrow.set_kyc_min_level(1, sender=admin)
    attest(seller, 1)
    attest(buyer, 1)
    kyc_registry.revoke(buyer, "document forged", sender=officer)
    with ape.reverts("otc_escrow: kyc required"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)


def test_open_order__fee_is_fixed_at_opening(escrow, token, admin, seller, buyer, ad_id, order_id, open_order):
    escrow.set_fee(200, sender=admin)
    later = open_order(ad_id)
    assert escrow.orders(order_id).fee_bps == FEE_BPS
    assert escrow.orders(later).fee_bps == 200
    escrow.release(order_id, sender=seller)
    escrow.release(later, sender=seller)
    assert escrow.accrued_fees(token) == FEE + AMOUNT * 200 // BPS


def test_open_order__deadline_follows_the_ad_window(escrow, seller, buyer, ad_id):
    escrow.update_ad(ad_id, PRICE, 10 * UNIT, 500 * UNIT, 3 * HOUR, 1, ZERO32, sender=seller)
    tx = escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)
    assert escrow.orders(1).deadline == tx.timestamp + 3 * HOUR


# ------------------------------------------------------------ mark_paid


def test_mark_paid__records_payment(escrow, token, buyer, ad_id, order_id):
    tx = escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    order = escrow.orders(order_id)
    assert order.status == PAID
    assert order.paid_at == tx.timestamp
    assert order.amount == AMOUNT
    assert escrow.ads(ad_id).locked == AMOUNT
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.OrderPaid, escrow, order_id=order_id, buyer=buyer, payment_ref=PAYMENT_REF)


def test_mark_paid__at_the_deadline(escrow, buyer, order_id, chain):
    deadline = escrow.orders(order_id).deadline
    chain.pending_timestamp = deadline
    tx = escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    assert tx.timestamp == deadline
    assert escrow.orders(order_id).status == PAID


def test_mark_paid__deadline_passed(escrow, buyer, order_id, chain):
    chain.pending_timestamp = escrow.orders(order_id).deadline + 1
    with ape.reverts("otc_escrow: payment deadline passed"):
        escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    assert escrow.orders(order_id).status == OPEN


@pytest.mark.parametrize("who", ["seller", "other"])
def test_mark_paid__only_buyer(escrow, order_id, who, request):
    with ape.reverts("otc_escrow: caller is not the buyer"):
        escrow.mark_paid(order_id, PAYMENT_REF, sender=request.getfixturevalue(who))


def test_mark_paid__twice(escrow, buyer, paid_order_id):
    with ape.reverts("otc_escrow: order not open"):
        escrow.mark_paid(paid_order_id, PAYMENT_REF, sender=buyer)


def test_mark_paid__cancelled_order(escrow, buyer, order_id):
    escrow.cancel(order_id, sender=buyer)
    with ape.reverts("otc_escrow: order not open"):
        escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)


def test_mark_paid__empty_payment_reference(escrow, buyer, order_id):
    with ape.reverts("otc_escrow: empty payment reference"):
        escrow.mark_paid(order_id, ZERO32, sender=buyer)


def test_mark_paid__unknown_order(escrow, buyer, ad_id):
    with ape.reverts("otc_escrow: unknown order"):
        escrow.mark_paid(1, PAYMENT_REF, sender=buyer)


# -------------------------------------------------------------- release


def test_release__pays_buyer_less_fee(escrow, token, seller, buyer, ad_id, paid_order_id):
    buyer_before = token.balanceOf(buyer)
    seller_before = token.balanceOf(seller)
    tx = escrow.release(paid_order_id, sender=seller)

    assert escrow.orders(paid_order_id).status == RELEASED
    ad = escrow.ads(ad_id)
    assert ad.locked == 0
    assert ad.available == 900 * UNIT
    assert escrow.accrued_fees(token) == FEE
    assert token.balanceOf(buyer) == buyer_before + AMOUNT - FEE
    assert token.balanceOf(seller) == seller_before
    assert token.balanceOf(escrow) == 900 * UNIT + FEE
    single_event(
        tx, escrow.OrderReleased, escrow, order_id=paid_order_id, seller=seller, buyer=buyer, amount=AMOUNT, fee=FEE
    )
    single_event(tx, token.Transfer, token, sender=escrow, receiver=buyer, value=AMOUNT - FEE)


def test_release__straight_from_open(escrow, token, seller, buyer, ad_id, order_id):
    buyer_before = token.balanceOf(buyer)
    tx = escrow.release(order_id, sender=seller)
    order = escrow.orders(order_id)
    assert order.status == RELEASED
    assert order.paid_at == 0
    assert escrow.ads(ad_id).locked == 0
    assert token.balanceOf(buyer) == buyer_before + AMOUNT - FEE
    assert escrow.accrued_fees(token) == FEE
    single_event(
        tx, escrow.OrderReleased, escrow, order_id=order_id, seller=seller, buyer=buyer, amount=AMOUNT, fee=FEE
    )


def test_release__fee_rounds_down(escrow, token, seller, buyer, ad_id, open_order):
    amount = 10 * UNIT + 199  # 50 bps of it is 50_000.995
    order = open_order(ad_id, amount)
    before = token.balanceOf(buyer)
    escrow.release(order, sender=seller)
    assert escrow.accrued_fees(token) == 50_000
    assert token.balanceOf(buyer) == before + amount - 50_000


def test_release__zero_fee(escrow, token, admin, seller, buyer, ad_id, open_order):
    escrow.set_fee(0, sender=admin)
    order = open_order(ad_id)
    before = token.balanceOf(buyer)
    tx = escrow.release(order, sender=seller)
    assert escrow.accrued_fees(token) == 0
    assert token.balanceOf(buyer) == before + AMOUNT
    assert tx.decode_logs(escrow.OrderReleased)[0].fee == 0


def test_release__after_the_deadline(escrow, token, seller, buyer, order_id, chain):
    # the seller may still release an unpaid, expired order
    chain.pending_timestamp = escrow.orders(order_id).deadline + DAY
    escrow.release(order_id, sender=seller)
    assert escrow.orders(order_id).status == RELEASED


@pytest.mark.parametrize("who", ["buyer", "arbitrator"])
def test_release__only_seller(escrow, token, paid_order_id, who, request):
    with ape.reverts("otc_escrow: caller is not the seller"):
        escrow.release(paid_order_id, sender=request.getfixturevalue(who))
    assert escrow.orders(paid_order_id).status == PAID
    assert escrow.accrued_fees(token) == 0


def test_release__twice(escrow, seller, paid_order_id):
    escrow.release(paid_order_id, sender=seller)
    with ape.reverts("otc_escrow: order not releasable"):
        escrow.release(paid_order_id, sender=seller)


def test_release__cancelled_order(escrow, seller, buyer, order_id):
    escrow.cancel(order_id, sender=buyer)
    with ape.reverts("otc_escrow: order not releasable"):
        escrow.release(order_id, sender=seller)


def test_release__disputed_order(escrow, seller, disputed_order_id):
    with ape.reverts("otc_escrow: order not releasable"):
        escrow.release(disputed_order_id, sender=seller)


def test_release__unknown_order(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: unknown order"):
        escrow.release(5, sender=seller)


# --------------------------------------------------------------- cancel


def test_cancel__open_order_returns_tokens_to_the_ad(escrow, token, seller, buyer, ad_id, order_id):
    seller_before = token.balanceOf(seller)
    buyer_before = token.balanceOf(buyer)
    tx = escrow.cancel(order_id, sender=buyer)
    assert escrow.orders(order_id).status == CANCELLED
    ad = escrow.ads(ad_id)
    assert ad.available == 1_000 * UNIT
    assert ad.locked == 0
    assert token.balanceOf(escrow) == 1_000 * UNIT
    assert token.balanceOf(seller) == seller_before
    assert token.balanceOf(buyer) == buyer_before
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.OrderCancelled, escrow, order_id=order_id, by=buyer, reason=CANCEL_BY_BUYER)


def test_cancel__paid_order(escrow, token, buyer, ad_id, paid_order_id):
    tx = escrow.cancel(paid_order_id, sender=buyer)
    assert escrow.orders(paid_order_id).status == CANCELLED
    assert escrow.ads(ad_id).available == 1_000 * UNIT
    assert escrow.ads(ad_id).locked == 0
    assert escrow.accrued_fees(token) == 0
    single_event(tx, escrow.OrderCancelled, escrow, order_id=paid_order_id, by=buyer, reason=CANCEL_BY_BUYER)


def test_cancel__freed_amount_can_be_bought_again(escrow, seller, buyer, other, ad_id, open_order):
    first = open_order(ad_id, 500 * UNIT)
    open_order(ad_id, 500 * UNIT, sender=other)
    escrow.cancel(first, sender=buyer)
    again = open_order(ad_id, 500 * UNIT)
    assert escrow.orders(again).status == OPEN
    assert escrow.ads(ad_id).available == 0


@pytest.mark.parametrize("who", ["seller", "other"])
def test_cancel__only_buyer(escrow, order_id, who, request):
    with ape.reverts("otc_escrow: caller is not the buyer"):
        escrow.cancel(order_id, sender=request.getfixturevalue(who))
    assert escrow.orders(order_id).status == OPEN


def test_cancel__released_order(escrow, seller, buyer, paid_order_id):
    escrow.release(paid_order_id, sender=seller)
    with ape.reverts("otc_escrow: order not cancellable"):
        escrow.cancel(paid_order_id, sender=buyer)


def test_cancel__twice(escrow, buyer, order_id):
    escrow.cancel(order_id, sender=buyer)
    with ape.reverts("otc_escrow: order not cancellable"):
        escrow.cancel(order_id, sender=buyer)
    assert escrow.ads(escrow.orders(order_id).ad_id).available == 1_000 * UNIT


def test_cancel__disputed_order(escrow, buyer, disputed_order_id):
    with ape.reverts("otc_escrow: order not cancellable"):
        escrow.cancel(disputed_order_id, sender=buyer)


def test_cancel__unknown_order(escrow, buyer, ad_id):
    with ape.reverts("otc_escrow: unknown order"):
        escrow.cancel(1, sender=buyer)


# ------------------------------------------------------- cancel_expired


def test_cancel_expired__anyone_after_the_deadline(escrow, token, other, ad_id, order_id, chain):
    chain.pending_timestamp = escrow.orders(order_id).deadline + 1
    tx = escrow.cancel_expired(order_id, sender=other)
    assert escrow.orders(order_id).status == CANCELLED
    ad = escrow.ads(ad_id)
    assert ad.available == 1_000 * UNIT
    assert ad.locked == 0
    assert token.balanceOf(escrow) == 1_000 * UNIT
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.OrderCancelled, escrow, order_id=order_id, by=other, reason=CANCEL_EXPIRED)


def test_cancel_expired__by_the_seller(escrow, seller, order_id, chain):
    chain.pending_timestamp = escrow.orders(order_id).deadline + HOUR
    tx = escrow.cancel_expired(order_id, sender=seller)
    assert escrow.orders(order_id).status == CANCELLED
    assert tx.decode_logs(escrow.OrderCancelled)[0].by == seller.address


def test_cancel_expired__before_the_deadline(escrow, other, order_id):
    with ape.reverts("otc_escrow: deadline not reached"):
        escrow.cancel_expired(order_id, sender=other)


def test_cancel_expired__at_the_deadline(escrow, other, order_id, chain):
    chain.pending_timestamp = escrow.orders(order_id).deadline
    with ape.reverts("otc_escrow: deadline not reached"):
        escrow.cancel_expired(order_id, sender=other)
    assert escrow.orders(order_id).status == OPEN


def test_cancel_expired__paid_order_cannot_expire(escrow, other, paid_order_id, chain):
    chain.pending_timestamp = escrow.orders(paid_order_id).deadline + DAY
    with ape.reverts("otc_escrow: order not open"):
        escrow.cancel_expired(paid_order_id, sender=other)
    assert escrow.orders(paid_order_id).status == PAID


def test_cancel_expired__already_cancelled(escrow, buyer, other, order_id, chain):
    escrow.cancel(order_id, sender=buyer)
    chain.pending_timestamp = escrow.orders(order_id).deadline + 1
    with ape.reverts("otc_escrow: order not open"):
        escrow.cancel_expired(order_id, sender=other)


def test_cancel_expired__unknown_order(escrow, other, ad_id):
    with ape.reverts("otc_escrow: unknown order"):
        escrow.cancel_expired(1, sender=other)


# ------------------------------------------------------ extend_deadline


def test_extend_deadline__adds_time(escrow, seller, order_id):
    old = escrow.orders(order_id).deadline
    tx = escrow.extend_deadline(order_id, 2 * HOUR, sender=seller)
    order = escrow.orders(order_id)
    assert order.deadline == old + 2 * HOUR
    assert order.status == OPEN
    single_event(tx, escrow.DeadlineExtended, escrow, order_id=order_id, deadline=old + 2 * HOUR)


def test_extend_deadline__revives_an_expired_order(escrow, seller, buyer, order_id, chain):
    chain.pending_timestamp = escrow.orders(order_id).deadline + 10 * HOUR
    tx = escrow.extend_deadline(order_id, HOUR, sender=seller)
    # counted from now, not from the old deadline
    assert escrow.orders(order_id).deadline == tx.timestamp + HOUR
    escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    assert escrow.orders(order_id).status == PAID


def test_extend_deadline__up_to_the_cap(escrow, seller, order_id, chain):
    old = escrow.orders(order_id).deadline
    now = chain.pending_timestamp + 100
    chain.pending_timestamp = now
    tx = escrow.extend_deadline(order_id, now + MAX_WINDOW - old, sender=seller)
    assert tx.timestamp == now
    assert escrow.orders(order_id).deadline == now + MAX_WINDOW


def test_extend_deadline__above_the_cap(escrow, seller, order_id, chain):
    old = escrow.orders(order_id).deadline
    now = chain.pending_timestamp + 100
    chain.pending_timestamp = now
    with ape.reverts("otc_escrow: extension above cap"):
        escrow.extend_deadline(order_id, now + MAX_WINDOW - old + 1, sender=seller)
    assert escrow.orders(order_id).deadline == old


def test_extend_deadline__repeated_extensions_stay_capped(escrow, seller, order_id):
    escrow.extend_deadline(order_id, 5 * DAY, sender=seller)
    with ape.reverts("otc_escrow: extension above cap"):
        escrow.extend_deadline(order_id, 2 * DAY, sender=seller)


@pytest.mark.parametrize("who", ["buyer", "other"])
def test_extend_deadline__only_seller(escrow, order_id, who, request):
    with ape.reverts("otc_escrow: caller is not the seller"):
        escrow.extend_deadline(order_id, HOUR, sender=request.getfixturevalue(who))


def test_extend_deadline__paid_order(escrow, seller, paid_order_id):
    with ape.reverts("otc_escrow: order not open"):
        escrow.extend_deadline(paid_order_id, HOUR, sender=seller)


def test_extend_deadline__zero_extension(escrow, seller, order_id):
    with ape.reverts("otc_escrow: zero extension"):
        escrow.extend_deadline(order_id, 0, sender=seller)


def test_extend_deadline__unknown_order(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: unknown order"):
        escrow.extend_deadline(1, HOUR, sender=seller)


# --------------------------------------------------------- open_dispute


def test_open_dispute__buyer_at_once(escrow, token, buyer, ad_id, paid_order_id):
    tx = escrow.open_dispute(paid_order_id, EVIDENCE, sender=buyer)
    order = escrow.orders(paid_order_id)
    assert order.status == DISPUTED
    assert order.amount == AMOUNT
    assert escrow.ads(ad_id).locked == AMOUNT
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.DisputeOpened, escrow, order_id=paid_order_id, by=buyer, evidence_hash=EVIDENCE)


def test_open_dispute__seller_after_grace(escrow, seller, paid_order_id, chain):
    paid_at = escrow.orders(paid_order_id).paid_at
    chain.pending_timestamp = paid_at + SELLER_DISPUTE_GRACE
    tx = escrow.open_dispute(paid_order_id, EVIDENCE, sender=seller)
    assert escrow.orders(paid_order_id).status == DISPUTED
    single_event(tx, escrow.DisputeOpened, escrow, order_id=paid_order_id, by=seller, evidence_hash=EVIDENCE)


def test_open_dispute__seller_within_grace(escrow, seller, paid_order_id, chain):
    paid_at = escrow.orders(paid_order_id).paid_at
    chain.pending_timestamp = paid_at + SELLER_DISPUTE_GRACE - 1
    with ape.reverts("otc_escrow: seller dispute grace not over"):
        escrow.open_dispute(paid_order_id, EVIDENCE, sender=seller)
    assert escrow.orders(paid_order_id).status == PAID


def test_open_dispute__non_party(escrow, other, paid_order_id, chain):
    chain.pending_timestamp += 2 * SELLER_DISPUTE_GRACE
    with ape.reverts("otc_escrow: caller is not a party"):
        escrow.open_dispute(paid_order_id, EVIDENCE, sender=other)


def test_open_dispute__open_order(escrow, buyer, order_id):
    with ape.reverts("otc_escrow: order not paid"):
        escrow.open_dispute(order_id, EVIDENCE, sender=buyer)


def test_open_dispute__twice(escrow, buyer, disputed_order_id):
    with ape.reverts("otc_escrow: order not paid"):
        escrow.open_dispute(disputed_order_id, EVIDENCE, sender=buyer)


def test_open_dispute__empty_evidence(escrow, buyer, paid_order_id):
    with ape.reverts("otc_escrow: empty evidence hash"):
        escrow.open_dispute(paid_order_id, ZERO32, sender=buyer)


def test_open_dispute__unknown_order(escrow, buyer, ad_id):
    with ape.reverts("otc_escrow: unknown order"):
        escrow.open_dispute(1, EVIDENCE, sender=buyer)


# ------------------------------------------------------ resolve_dispute


@pytest.mark.parametrize("buyer_bps", [0, 5_000, 10_000])
def test_resolve_dispute__splits(escrow, token, seller, buyer, arbitrator, ad_id, disputed_order_id, buyer_bps):
    buyer_before = token.balanceOf(buyer)
    seller_before = token.balanceOf(seller)
    buyer_share = AMOUNT * buyer_bps // BPS
    fee = buyer_share * FEE_BPS // BPS
    seller_share = AMOUNT - buyer_share

    tx = escrow.resolve_dispute(disputed_order_id, buyer_bps, sender=arbitrator)

    assert escrow.orders(disputed_order_id).status == RESOLVED
    ad = escrow.ads(ad_id)
    assert ad.locked == 0
    assert ad.available == 900 * UNIT + seller_share  # the seller's share goes back on sale
    assert escrow.accrued_fees(token) == fee
    assert token.balanceOf(buyer) == buyer_before + buyer_share - fee
    assert token.balanceOf(seller) == seller_before
    assert token.balanceOf(escrow) == 900 * UNIT + seller_share + fee
    single_event(
        tx,
        escrow.DisputeResolved,
        escrow,
        order_id=disputed_order_id,
        arbitrator=arbitrator,
        buyer_bps=buyer_bps,
        buyer_amount=buyer_share - fee,
        seller_amount=seller_share,
        fee=fee,
    )
    transfers = tx.decode_logs(token.Transfer)
    assert len(transfers) == (0 if buyer_bps == 0 else 1)


def test_resolve_dispute__exact_amounts_for_half(escrow, token, buyer, arbitrator, ad_id, disputed_order_id):
    before = token.balanceOf(buyer)
    escrow.resolve_dispute(disputed_order_id, 5_000, sender=arbitrator)
    # 50 tokens to the buyer's side, 0.25 of them the fee
    assert token.balanceOf(buyer) == before + 50 * UNIT - 250_000
    assert escrow.accrued_fees(token) == 250_000
    assert escrow.ads(ad_id).available == 950 * UNIT


def test_resolve_dispute__buyer_bps_above_10000(escrow, arbitrator, disputed_order_id):
    with ape.reverts("otc_escrow: buyer_bps above 10000"):
        escrow.resolve_dispute(disputed_order_id, 10_001, sender=arbitrator)
    assert escrow.orders(disputed_order_id).status == DISPUTED


@pytest.mark.parametrize("who", ["admin", "buyer"])
def test_resolve_dispute__only_arbitrator(escrow, disputed_order_id, who, request):
    with ape.reverts(MISSING_ROLE):
        escrow.resolve_dispute(disputed_order_id, 5_000, sender=request.getfixturevalue(who))
    assert escrow.orders(disputed_order_id).status == DISPUTED


def test_resolve_dispute__not_disputed(escrow, arbitrator, paid_order_id):
    with ape.reverts("otc_escrow: order not disputed"):
        escrow.resolve_dispute(paid_order_id, 5_000, sender=arbitrator)


def test_resolve_dispute__twice(escrow, arbitrator, disputed_order_id):
    escrow.resolve_dispute(disputed_order_id, 10_000, sender=arbitrator)
    with ape.reverts("otc_escrow: order not disputed"):
        escrow.resolve_dispute(disputed_order_id, 0, sender=arbitrator)


def test_resolve_dispute__unknown_order(escrow, arbitrator, ad_id):
    with ape.reverts("otc_escrow: unknown order"):
        escrow.resolve_dispute(1, 5_000, sender=arbitrator)


def test_resolve_dispute__resolved_order_is_final(escrow, seller, buyer, arbitrator, disputed_order_id):
    escrow.resolve_dispute(disputed_order_id, 5_000, sender=arbitrator)
    with ape.reverts("otc_escrow: order not releasable"):
        escrow.release(disputed_order_id, sender=seller)
    with ape.reverts("otc_escrow: order not cancellable"):
        escrow.cancel(disputed_order_id, sender=buyer)


# ------------------------------------------------------------ closed ad


def test_closed_ad__cancel_sends_tokens_to_the_seller(escrow, token, seller, buyer, ad_id, order_id):
    escrow.close_ad(ad_id, sender=seller)
    seller_before = token.balanceOf(seller)
    tx = escrow.cancel(order_id, sender=buyer)
    ad = escrow.ads(ad_id)
    assert ad.available == 0
    assert ad.locked == 0
    assert ad.closed is True
    assert token.balanceOf(seller) == seller_before + AMOUNT
    assert token.balanceOf(escrow) == 0
    single_event(tx, token.Transfer, token, sender=escrow, receiver=seller, value=AMOUNT)
    single_event(tx, escrow.OrderCancelled, escrow, order_id=order_id, by=buyer, reason=CANCEL_BY_BUYER)


def test_closed_ad__cancel_expired_sends_tokens_to_the_seller(escrow, token, seller, other, ad_id, order_id, chain):
    escrow.close_ad(ad_id, sender=seller)
    seller_before = token.balanceOf(seller)
    chain.pending_timestamp = escrow.orders(order_id).deadline + 1
    escrow.cancel_expired(order_id, sender=other)
    assert escrow.ads(ad_id).available == 0
    assert escrow.ads(ad_id).locked == 0
    assert token.balanceOf(seller) == seller_before + AMOUNT
    assert token.balanceOf(escrow) == 0


def test_closed_ad__release_still_pays_the_buyer(escrow, token, seller, buyer, ad_id, paid_order_id):
    escrow.close_ad(ad_id, sender=seller)
    before = token.balanceOf(buyer)
    escrow.release(paid_order_id, sender=seller)
    assert token.balanceOf(buyer) == before + AMOUNT - FEE
    assert escrow.ads(ad_id).locked == 0
    assert escrow.ads(ad_id).available == 0
    assert token.balanceOf(escrow) == FEE


@pytest.mark.parametrize("buyer_bps", [0, 5_000, 10_000])
def test_closed_ad__resolve_sends_seller_share_to_the_seller(
    escrow, token, seller, buyer, arbitrator, ad_id, disputed_order_id, buyer_bps
):
    escrow.close_ad(ad_id, sender=seller)
    seller_before = token.balanceOf(seller)
    buyer_before = token.balanceOf(buyer)
    buyer_share = AMOUNT * buyer_bps // BPS
    fee = buyer_share * FEE_BPS // BPS
    escrow.resolve_dispute(disputed_order_id, buyer_bps, sender=arbitrator)
    ad = escrow.ads(ad_id)
    assert ad.available == 0
    assert ad.locked == 0
    assert token.balanceOf(seller) == seller_before + AMOUNT - buyer_share
    assert token.balanceOf(buyer) == buyer_before + buyer_share - fee
    assert token.balanceOf(escrow) == fee


def test_closed_ad__mark_paid_and_dispute_still_work(escrow, seller, buyer, ad_id, order_id):
    escrow.close_ad(ad_id, sender=seller)
    escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    escrow.open_dispute(order_id, EVIDENCE, sender=buyer)
    assert escrow.orders(order_id).status == DISPUTED
