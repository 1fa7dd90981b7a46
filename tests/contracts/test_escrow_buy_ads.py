"""OtcEscrow buy ads: a buyer posts what they want (nothing is locked), a seller fills it with
open_sell_order (their tokens are pulled in then), and the order lives as on a sell ad.

Roles here: `buyer` is the buy ad's maker, `seller` the taker who sells into it."""

import ape
import pytest
from conftest import (
    DAY,
    EVIDENCE,
    FEE_BPS,
    HOUR,
    METHODS,
    PAYMENT_REF,
    PRICE,
    SIDE_BUY,
    SIDE_SELL,
    UNIT,
    USD,
    single_event,
)
from eth_utils import keccak

OPEN, PAID, RELEASED, CANCELLED, DISPUTED, RESOLVED = 1, 2, 3, 4, 5, 6
CANCEL_BY_BUYER, CANCEL_EXPIRED = 1, 2
ACTION_MARK_PAID, ACTION_RELEASE, ACTION_CANCEL = 1, 2, 3
MAX_UINT128 = 2**128 - 1
ZERO = "0x" + "00" * 20
TRANSFER_FAILED = "otc_escrow: token transfer failed"
FEE_ON_TRANSFER = "otc_escrow: fee-on-transfer token not supported"
BUYER_TERMS = keccak(text="I pay by bank transfer within the hour")


def fee_of(amount):
    return amount * FEE_BPS // 10_000


def event_names(tx, *contracts):
    """The names of `tx`'s logs from `contracts`, in the order they were emitted."""
    by_topic = {}
    for contract in contracts:
        for abi in contract.contract_type.events:
            by_topic[(contract.address.lower(), keccak(text=abi.selector))] = abi.name
    return [by_topic[key] for log in tx.logs if (key := (log["address"].lower(), bytes(log["topics"][0]))) in by_topic]


# ------------------------------------------------------------- fixtures


@pytest.fixture
def create_buy_ad(escrow, token, buyer):
    """Posts a buy ad (by `buyer` unless told) and returns its id; any term can be overridden."""

    def create(
        amount=1_000 * UNIT,
        *,
        sender=None,
        token_=None,
        price=PRICE,
        fiat=USD,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=METHODS,
        terms_hash=BUYER_TERMS,
    ):
        tx = escrow.create_buy_ad(
            token_ or token,
            amount,
            price,
            fiat,
            min_amount,
            max_amount,
            payment_window,
            payment_methods,
            terms_hash,
            sender=sender or buyer,
        )
        return tx.decode_logs(escrow.AdCreated)[0].ad_id

    return create


@pytest.fixture
def sell_into(escrow, seller):
    """A seller fills a buy ad; returns the order id."""

    def sell(ad_id, amount=100 * UNIT, *, sender=None, min_price=PRICE):
        tx = escrow.open_sell_order(ad_id, amount, min_price, sender=sender or seller)
        return tx.decode_logs(escrow.OrderOpened)[0].order_id

    return sell


@pytest.fixture
def buy_ad(create_buy_ad):
    return create_buy_ad()


@pytest.fixture
def sell_order(buy_ad, sell_into):
    return sell_into(buy_ad)


@pytest.fixture
def paid_sell_order(escrow, sell_order, buyer):
    escrow.mark_paid(sell_order, PAYMENT_REF, sender=buyer)
    return sell_order


@pytest.fixture
def disputed_sell_order(escrow, paid_sell_order, buyer):
    escrow.open_dispute(paid_sell_order, EVIDENCE, sender=buyer)
    return paid_sell_order


@pytest.fixture
def attest(kyc_registry, officer, chain):
    def attest_(account, level=1):
        kyc_registry.attest(account, level, chain.pending_timestamp + 30 * DAY, keccak(text="kyc"), sender=officer)

    return attest_


@pytest.fixture(scope="module")
def blocklist_token(project, admin, escrow, seller, buyer):
    contract = admin.deploy(project.BlocklistToken)
    escrow.set_token_allowed(contract, True, sender=admin)
    for account in (seller, buyer):
        contract.mint(account, 10_000 * UNIT, sender=account)
        contract.approve(escrow, 2**256 - 1, sender=account)
    return contract


@pytest.fixture(params=["reverts", "returns false"])
def refusal(request, blocklist_token, admin):
    """Both ways a token refuses: a revert, or `false` as older tokens return."""
    blocklist_token.set_refuse_with_false(request.param == "returns false", sender=admin)
    return request.param


# --------------------------------------------------------- create_buy_ad


def test_create_buy_ad__stores_ad_pulls_nothing_and_logs(escrow, token, buyer):
    buyer_before = token.balanceOf(buyer)
    tx = escrow.create_buy_ad(
        token, 1_000 * UNIT, PRICE, USD, 10 * UNIT, 500 * UNIT, HOUR, METHODS, BUYER_TERMS, sender=buyer
    )

    ad = escrow.ads(1)
    assert ad.maker == buyer.address
    assert ad.side == SIDE_BUY
    assert ad.token == token.address
    assert ad.available == 1_000 * UNIT  # what the buyer wants
    assert ad.locked == 0
    assert (ad.price, ad.fiat, ad.min_amount, ad.max_amount) == (PRICE, USD, 10 * UNIT, 500 * UNIT)
    assert (ad.payment_window, ad.payment_methods) == (HOUR, METHODS)
    assert ad.active is True and ad.closed is False
    assert token.balanceOf(buyer) == buyer_before
    assert token.balanceOf(escrow) == 0
    assert tx.decode_logs(token.Transfer) == []
    single_event(
        tx,
        escrow.AdCreated,
        escrow,
        ad_id=1,
        maker=buyer,
        token=token,
        amount=1_000 * UNIT,
        price=PRICE,
        fiat=USD,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=METHODS,
        terms_hash=BUYER_TERMS,
        side=SIDE_BUY,
    )


def test_create_buy_ad__needs_no_tokens_nor_allowance(escrow, token, other, create_buy_ad):
    assert token.balanceOf(other) == 0 and token.allowance(other, escrow) == 0
    ad_id = create_buy_ad(5_000 * UNIT, sender=other)
    assert escrow.ads(ad_id).available == 5_000 * UNIT
    assert escrow.ads(ad_id).maker == other.address


def test_create_buy_ad__shares_ids_with_sell_ads(escrow, create_ad, create_buy_ad, seller):
    assert create_ad() == 1
    assert create_buy_ad() == 2
    assert create_ad(sender=seller) == 3
    assert [escrow.ads(i).side for i in (1, 2, 3)] == [SIDE_SELL, SIDE_BUY, SIDE_SELL]
    assert escrow.ad_count() == 3


@pytest.mark.parametrize(
    "terms,message",
    [
        ({"amount": 0}, "otc_escrow: zero amount"),
        ({"amount": MAX_UINT128 + 1}, "otc_escrow: amount too large"),
        ({"fiat": b"\x00\x00\x00"}, "otc_escrow: empty fiat code"),
        ({"price": 0}, "otc_escrow: zero price"),
        ({"price": 2**64}, "otc_escrow: price too large"),
        ({"min_amount": 0}, "otc_escrow: zero min amount"),
        ({"min_amount": 50 * UNIT, "max_amount": 40 * UNIT}, "otc_escrow: min above max"),
        ({"max_amount": 2**96}, "otc_escrow: max amount too large"),
        ({"payment_window": 15 * 60 - 1}, "otc_escrow: payment window too short"),
        ({"payment_window": 7 * DAY + 1}, "otc_escrow: payment window too long"),
        ({"payment_methods": 0}, "otc_escrow: no payment method"),
        ({"payment_methods": 2**64}, "otc_escrow: payment methods out of range"),
    ],
)
def test_create_buy_ad__checks_terms(escrow, create_buy_ad, terms, message):
    with ape.reverts(message):
        create_buy_ad(**terms)
    assert escrow.ad_count() == 0


def test_create_buy_ad__token_not_allowed(escrow, project, admin, create_buy_ad):
    stranger = admin.deploy(project.TestStablecoin, "Other", "OTH")
    with ape.reverts("otc_escrow: token not allowed"):
        create_buy_ad(token_=stranger)


def test_create_buy_ad__when_paused(escrow, admin, create_buy_ad):
    escrow.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        create_buy_ad()


def test_create_buy_ad__kyc_of_the_maker(escrow, admin, buyer, attest, create_buy_ad):
    escrow.set_kyc_min_level(1, sender=admin)
    with ape.reverts("otc_escrow: kyc required"):
        create_buy_ad()
    attest(buyer)
    assert escrow.ads(create_buy_ad()).maker == buyer.address


# ------------------------------------------------------- open_sell_order


def test_open_sell_order__pulls_the_sellers_tokens_and_locks_them(escrow, token, seller, buyer, buy_ad):
    seller_before, buyer_before = token.balanceOf(seller), token.balanceOf(buyer)
    tx = escrow.open_sell_order(buy_ad, 100 * UNIT, PRICE, sender=seller)

    deadline = tx.timestamp + HOUR
    assert token.balanceOf(seller) == seller_before - 100 * UNIT
    assert token.balanceOf(buyer) == buyer_before
    assert token.balanceOf(escrow) == 100 * UNIT
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (900 * UNIT, 100 * UNIT)
    order = escrow.orders(1)
    assert order.buyer == buyer.address  # the ad's maker
    assert order.seller == seller.address  # who filled it
    assert (order.status, order.deadline, order.paid_at, order.ad_id) == (OPEN, deadline, 0, buy_ad)
    assert (order.amount, order.price, order.fee_bps) == (100 * UNIT, PRICE, FEE_BPS)
    single_event(
        tx,
        escrow.OrderOpened,
        escrow,
        order_id=1,
        ad_id=buy_ad,
        buyer=buyer,
        seller=seller,
        amount=100 * UNIT,
        price=PRICE,
        deadline=deadline,
    )
    single_event(tx, token.Transfer, token, sender=seller, receiver=escrow, value=100 * UNIT)
    # The event is logged before the token is called.
    assert event_names(tx, escrow, token) == ["OrderOpened", "Transfer"]


def test_open_sell_order__a_better_min_price_and_the_whole_amount(escrow, create_buy_ad, sell_into):
    ad_id = create_buy_ad(300 * UNIT, min_amount=UNIT, max_amount=300 * UNIT)
    order = sell_into(ad_id, 300 * UNIT, min_price=PRICE - 1)  # below the ad's price: the seller gets more
    assert escrow.orders(order).price == PRICE
    ad = escrow.ads(ad_id)
    assert (ad.available, ad.locked) == (0, 300 * UNIT)


def test_open_sell_order__several_sellers_fill_one_ad(escrow, token, seller, other, buy_ad, sell_into):
    token.faucet(1_000 * UNIT, sender=other)
    token.approve(escrow, 2**256 - 1, sender=other)
    first = sell_into(buy_ad, 400 * UNIT)
    second = sell_into(buy_ad, 500 * UNIT, sender=other)
    assert escrow.orders(first).seller == seller.address
    assert escrow.orders(second).seller == other.address
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (100 * UNIT, 900 * UNIT)
    with ape.reverts("otc_escrow: amount exceeds wanted"):
        sell_into(buy_ad, 101 * UNIT)


@pytest.mark.parametrize(
    "amount,min_price,message",
    [
        (100 * UNIT, PRICE + 1, "otc_escrow: price below min_price"),
        (10 * UNIT - 1, PRICE, "otc_escrow: amount below ad minimum"),
        (500 * UNIT + 1, PRICE, "otc_escrow: amount above ad maximum"),
        (0, PRICE, "otc_escrow: amount below ad minimum"),
    ],
)
def test_open_sell_order__refused_terms(escrow, token, seller, buy_ad, amount, min_price, message):
    before = token.balanceOf(seller)
    with ape.reverts(message):
        escrow.open_sell_order(buy_ad, amount, min_price, sender=seller)
    assert escrow.order_count() == 0
    assert token.balanceOf(seller) == before
    assert escrow.ads(buy_ad).available == 1_000 * UNIT


def test_open_sell_order__amount_exceeds_wanted(escrow, seller, create_buy_ad):
    ad_id = create_buy_ad(100 * UNIT)
    with ape.reverts("otc_escrow: amount exceeds wanted"):
        escrow.open_sell_order(ad_id, 100 * UNIT + 1, PRICE, sender=seller)


def test_open_sell_order__buyer_cannot_sell_to_own_ad(escrow, buyer, buy_ad):
    with ape.reverts("otc_escrow: buyer cannot sell to own ad"):
        escrow.open_sell_order(buy_ad, 100 * UNIT, PRICE, sender=buyer)


def test_open_sell_order__unknown_ad(escrow, seller):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.open_sell_order(1, 100 * UNIT, PRICE, sender=seller)


def test_open_sell_order__not_on_a_sell_ad_and_open_order_not_on_a_buy_ad(escrow, seller, buyer, ad_id, buy_ad):
    with ape.reverts("otc_escrow: not a buy ad"):
        escrow.open_sell_order(ad_id, 100 * UNIT, PRICE, sender=buyer)
    with ape.reverts("otc_escrow: not a sell ad"):
        escrow.open_order(buy_ad, 100 * UNIT, PRICE, sender=seller)
    assert escrow.order_count() == 0


def test_open_sell_order__paused_or_closed_ad(escrow, buyer, seller, buy_ad, sell_into):
    escrow.pause_ad(buy_ad, sender=buyer)
    with ape.reverts("otc_escrow: ad not active"):
        sell_into(buy_ad)
    escrow.resume_ad(buy_ad, sender=buyer)
    assert escrow.orders(sell_into(buy_ad)).status == OPEN
    escrow.close_ad(buy_ad, sender=buyer)
    with ape.reverts("otc_escrow: ad not active"):
        sell_into(buy_ad)


def test_open_sell_order__when_the_escrow_is_paused(escrow, admin, buy_ad, sell_into):
    escrow.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        sell_into(buy_ad)


def test_open_sell_order__kyc_of_both_parties(escrow, admin, seller, buyer, buy_ad, attest, sell_into):
    escrow.set_kyc_min_level(1, sender=admin)
    with ape.reverts("otc_escrow: kyc required"):
        sell_into(buy_ad)
    attest(seller)
    # the ad predates the requirement: its maker (the buyer) must be verified too
    with ape.reverts("otc_escrow: kyc required"):
        sell_into(buy_ad)
    attest(buyer)
    assert escrow.orders(sell_into(buy_ad)).status == OPEN


def test_open_sell_order__seller_without_allowance_or_tokens(escrow, token, other, buy_ad, sell_into):
    with ape.reverts(TRANSFER_FAILED):  # no tokens at all
        sell_into(buy_ad, sender=other)
    token.faucet(1_000 * UNIT, sender=other)
    with ape.reverts(TRANSFER_FAILED):  # tokens, but no allowance
        sell_into(buy_ad, sender=other)
    assert escrow.order_count() == 0
    assert escrow.ads(buy_ad).available == 1_000 * UNIT


def test_open_sell_order__fee_on_transfer_token_refused(escrow, fee_token, seller, create_buy_ad, sell_into):
    whole = 10**18
    ad_id = create_buy_ad(1_000 * whole, token_=fee_token, min_amount=whole, max_amount=500 * whole)
    before = fee_token.balanceOf(seller)
    with ape.reverts(FEE_ON_TRANSFER):
        sell_into(ad_id, 100 * whole)
    assert escrow.order_count() == 0
    assert fee_token.balanceOf(seller) == before
    assert fee_token.balanceOf(escrow) == 0
    ad = escrow.ads(ad_id)
    assert (ad.available, ad.locked) == (1_000 * whole, 0)


# ------------------------------------------------------- mark_paid, release


def test_buy_ad_trade__release_pays_the_maker(escrow, token, seller, buyer, fee_recipient, buy_ad, sell_into):
    buyer_before, seller_before = token.balanceOf(buyer), token.balanceOf(seller)
    order = sell_into(buy_ad, 200 * UNIT)

    with ape.reverts("otc_escrow: caller is not the buyer"):
        escrow.mark_paid(order, PAYMENT_REF, sender=seller)
    tx = escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    single_event(tx, escrow.OrderPaid, escrow, order_id=order, buyer=buyer, payment_ref=PAYMENT_REF)
    assert escrow.orders(order).paid_at == tx.timestamp

    with ape.reverts("otc_escrow: caller is not the seller"):
        escrow.release(order, sender=buyer)
    tx = escrow.release(order, sender=seller)

    fee = fee_of(200 * UNIT)
    assert escrow.orders(order).status == RELEASED
    assert token.balanceOf(buyer) == buyer_before + 200 * UNIT - fee
    assert token.balanceOf(seller) == seller_before - 200 * UNIT
    assert escrow.accrued_fees(token) == fee
    assert token.balanceOf(escrow) == fee
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (800 * UNIT, 0)  # the buyer still wants the rest
    single_event(
        tx, escrow.OrderReleased, escrow, order_id=order, seller=seller, buyer=buyer, amount=200 * UNIT, fee=fee
    )
    single_event(tx, token.Transfer, token, sender=escrow, receiver=buyer, value=200 * UNIT - fee)
    with ape.reverts("otc_escrow: order not releasable"):
        escrow.release(order, sender=seller)

    escrow.withdraw_fees(token, sender=fee_recipient)
    assert token.balanceOf(escrow) == 0


def test_buy_ad_trade__release_unpaid_and_after_close(escrow, token, seller, buyer, buy_ad, sell_into):
    order = sell_into(buy_ad, 100 * UNIT)
    escrow.close_ad(buy_ad, sender=buyer)  # the order carries on
    buyer_before = token.balanceOf(buyer)
    escrow.release(order, sender=seller)  # a seller may release before "paid"
    assert token.balanceOf(buyer) == buyer_before + 100 * UNIT - fee_of(100 * UNIT)
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked, ad.closed) == (0, 0, True)


def test_buy_ad_trade__outsider_can_neither_pay_nor_release(escrow, other, sell_order):
    with ape.reverts("otc_escrow: caller is not the buyer"):
        escrow.mark_paid(sell_order, PAYMENT_REF, sender=other)
    with ape.reverts("otc_escrow: caller is not the seller"):
        escrow.release(sell_order, sender=other)


def test_extend_deadline__by_the_seller_who_filled_the_ad(escrow, seller, buyer, sell_order):
    with ape.reverts("otc_escrow: caller is not the seller"):
        escrow.extend_deadline(sell_order, HOUR, sender=buyer)
    before = escrow.orders(sell_order).deadline
    escrow.extend_deadline(sell_order, HOUR, sender=seller)
    assert escrow.orders(sell_order).deadline == before + HOUR


# ---------------------------------------------------------------- cancel


@pytest.mark.parametrize("paid", [False, True])
def test_cancel__tokens_go_back_to_the_seller(escrow, token, seller, buyer, buy_ad, sell_into, paid):
    seller_before = token.balanceOf(seller)
    order = sell_into(buy_ad, 100 * UNIT)
    if paid:
        escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    with ape.reverts("otc_escrow: caller is not the buyer"):
        escrow.cancel(order, sender=seller)

    tx = escrow.cancel(order, sender=buyer)

    assert escrow.orders(order).status == CANCELLED
    assert token.balanceOf(seller) == seller_before
    assert token.balanceOf(escrow) == 0
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (1_000 * UNIT, 0)  # wanted again
    single_event(tx, escrow.OrderCancelled, escrow, order_id=order, by=buyer, reason=CANCEL_BY_BUYER)
    single_event(tx, token.Transfer, token, sender=escrow, receiver=seller, value=100 * UNIT)
    assert event_names(tx, escrow, token) == ["OrderCancelled", "Transfer"]
    with ape.reverts("otc_escrow: order not cancellable"):
        escrow.cancel(order, sender=buyer)


def test_cancel__on_a_closed_buy_ad(escrow, token, seller, buyer, buy_ad, sell_into):
    seller_before = token.balanceOf(seller)
    order = sell_into(buy_ad, 100 * UNIT)
    escrow.close_ad(buy_ad, sender=buyer)
    escrow.cancel(order, sender=buyer)
    assert token.balanceOf(seller) == seller_before
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (0, 0)  # a closed ad wants nothing more


def test_cancel__blocklisted_seller_is_credited(
    escrow, blocklist_token, admin, seller, buyer, create_buy_ad, sell_into, refusal
):
    t = blocklist_token
    ad_id = create_buy_ad(token_=t)
    order = sell_into(ad_id, 100 * UNIT)
    seller_before = t.balanceOf(seller)
    t.set_blocked(seller, True, sender=admin)

    tx = escrow.cancel(order, sender=buyer)

    assert escrow.orders(order).status == CANCELLED
    assert escrow.credits(seller, t) == 100 * UNIT
    assert t.balanceOf(seller) == seller_before
    assert t.balanceOf(escrow) == 100 * UNIT
    assert escrow.ads(ad_id).available == 1_000 * UNIT
    single_event(tx, escrow.PayoutCredited, escrow, account=seller, token=t, order_id=order, amount=100 * UNIT)
    assert event_names(tx, escrow, t) == ["OrderCancelled", "PayoutCredited"]

    with ape.reverts(TRANSFER_FAILED):
        escrow.withdraw_credit(t, sender=seller)
    t.set_blocked(seller, False, sender=admin)
    escrow.withdraw_credit(t, sender=seller)
    assert t.balanceOf(seller) == seller_before + 100 * UNIT
    assert t.balanceOf(escrow) == 0


# -------------------------------------------------------- cancel_expired


def test_cancel_expired__anyone_after_the_deadline(escrow, token, seller, other, buyer, buy_ad, sell_into, chain):
    seller_before = token.balanceOf(seller)
    order = sell_into(buy_ad, 100 * UNIT)
    deadline = escrow.orders(order).deadline
    chain.pending_timestamp = deadline
    with ape.reverts("otc_escrow: deadline not reached"):
        escrow.cancel_expired(order, sender=other)
    chain.pending_timestamp = deadline + 1

    tx = escrow.cancel_expired(order, sender=other)

    assert escrow.orders(order).status == CANCELLED
    assert token.balanceOf(seller) == seller_before
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (1_000 * UNIT, 0)
    single_event(tx, escrow.OrderCancelled, escrow, order_id=order, by=other, reason=CANCEL_EXPIRED)
    with ape.reverts("otc_escrow: order not open"):
        escrow.cancel_expired(order, sender=other)


def test_cancel_expired__not_a_paid_order(escrow, other, paid_sell_order, chain):
    chain.pending_timestamp = escrow.orders(paid_sell_order).deadline + 1
    with ape.reverts("otc_escrow: order not open"):
        escrow.cancel_expired(paid_sell_order, sender=other)


def test_cancel_expired__paused_token_credits_the_seller(
    escrow, blocklist_token, admin, seller, buyer, other, create_buy_ad, sell_into, chain
):
    t = blocklist_token
    ad_id = create_buy_ad(token_=t)
    order = sell_into(ad_id, 100 * UNIT)
    escrow.close_ad(ad_id, sender=buyer)
    t.set_paused(True, sender=admin)
    chain.pending_timestamp = escrow.orders(order).deadline + 1

    tx = escrow.cancel_expired(order, sender=other)

    assert escrow.orders(order).status == CANCELLED
    assert escrow.credits(seller, t) == 100 * UNIT
    single_event(tx, escrow.PayoutCredited, escrow, account=seller, token=t, order_id=order, amount=100 * UNIT)


# --------------------------------------------------------------- dispute


def test_open_dispute__by_either_party(escrow, seller, buyer, other, buy_ad, sell_into, chain):
    unpaid = sell_into(buy_ad)
    with ape.reverts("otc_escrow: order not paid"):
        escrow.open_dispute(unpaid, EVIDENCE, sender=buyer)

    by_buyer = sell_into(buy_ad)
    escrow.mark_paid(by_buyer, PAYMENT_REF, sender=buyer)
    with ape.reverts("otc_escrow: caller is not a party"):
        escrow.open_dispute(by_buyer, EVIDENCE, sender=other)
    tx = escrow.open_dispute(by_buyer, EVIDENCE, sender=buyer)
    single_event(tx, escrow.DisputeOpened, escrow, order_id=by_buyer, by=buyer, evidence_hash=EVIDENCE)
    assert escrow.orders(by_buyer).status == DISPUTED

    by_seller = sell_into(buy_ad)
    paid_at = escrow.mark_paid(by_seller, PAYMENT_REF, sender=buyer).timestamp
    chain.pending_timestamp = paid_at + HOUR - 1
    with ape.reverts("otc_escrow: seller dispute grace not over"):
        escrow.open_dispute(by_seller, EVIDENCE, sender=seller)
    chain.pending_timestamp = paid_at + HOUR
    escrow.open_dispute(by_seller, EVIDENCE, sender=seller)
    assert escrow.orders(by_seller).status == DISPUTED


@pytest.mark.parametrize("buyer_bps", [10_000, 6_000, 0])
def test_resolve_dispute__seller_share_goes_to_the_seller(
    escrow, token, seller, buyer, arbitrator, buy_ad, sell_into, buyer_bps
):
    buyer_before, seller_before = token.balanceOf(buyer), token.balanceOf(seller)
    order = sell_into(buy_ad, 100 * UNIT)
    escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    escrow.open_dispute(order, EVIDENCE, sender=buyer)

    tx = escrow.resolve_dispute(order, buyer_bps, sender=arbitrator)

    buyer_share = 100 * UNIT * buyer_bps // 10_000
    seller_share = 100 * UNIT - buyer_share
    fee = fee_of(buyer_share)
    assert escrow.orders(order).status == RESOLVED
    assert token.balanceOf(buyer) == buyer_before + buyer_share - fee
    assert token.balanceOf(seller) == seller_before - 100 * UNIT + seller_share
    assert token.balanceOf(escrow) == fee == escrow.accrued_fees(token)
    ad = escrow.ads(buy_ad)
    # The buyer wants again what they did not get.
    assert (ad.available, ad.locked) == (900 * UNIT + seller_share, 0)
    single_event(
        tx,
        escrow.DisputeResolved,
        escrow,
        order_id=order,
        arbitrator=arbitrator,
        buyer_bps=buyer_bps,
        buyer_amount=buyer_share - fee,  # what the buyer receives
        seller_amount=seller_share,
        fee=fee,
    )
    expected = ["DisputeResolved"] + ["Transfer"] * ((buyer_share != fee) + (seller_share != 0))
    assert event_names(tx, escrow, token) == expected


def test_resolve_dispute__on_a_closed_buy_ad(escrow, token, seller, buyer, arbitrator, disputed_sell_order, buy_ad):
    seller_before = token.balanceOf(seller)
    escrow.close_ad(buy_ad, sender=buyer)
    escrow.resolve_dispute(disputed_sell_order, 2_500, sender=arbitrator)
    assert token.balanceOf(seller) == seller_before + 75 * UNIT
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (0, 0)


@pytest.mark.parametrize("buyer_bps", [10_000, 6_000, 0])
def test_resolve_dispute__paused_token_credits_both_parties(
    escrow, blocklist_token, admin, seller, buyer, arbitrator, create_buy_ad, sell_into, buyer_bps
):
    t = blocklist_token
    ad_id = create_buy_ad(token_=t)
    order = sell_into(ad_id, 100 * UNIT)
    escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    escrow.open_dispute(order, EVIDENCE, sender=buyer)
    t.set_paused(True, sender=admin)

    tx = escrow.resolve_dispute(order, buyer_bps, sender=arbitrator)

    buyer_share = 100 * UNIT * buyer_bps // 10_000
    seller_share = 100 * UNIT - buyer_share
    fee = fee_of(buyer_share)
    assert escrow.orders(order).status == RESOLVED
    assert escrow.credits(buyer, t) == buyer_share - fee
    assert escrow.credits(seller, t) == seller_share
    assert t.balanceOf(escrow) == 100 * UNIT
    expected = ["DisputeResolved"] + ["PayoutCredited"] * ((buyer_share != fee) + (seller_share != 0))
    assert event_names(tx, escrow, t) == expected

    t.set_paused(False, sender=admin)
    for account, amount in ((buyer, buyer_share - fee), (seller, seller_share)):
        if amount:
            escrow.withdraw_credit(t, sender=account)
    assert t.balanceOf(escrow) == fee == escrow.accrued_fees(t)


def test_release__blocklisted_maker_is_credited(
    escrow, blocklist_token, admin, seller, buyer, create_buy_ad, sell_into
):
    t = blocklist_token
    order = sell_into(create_buy_ad(token_=t), 100 * UNIT)
    t.set_blocked(buyer, True, sender=admin)
    tx = escrow.release(order, sender=seller)
    amount = 100 * UNIT - fee_of(100 * UNIT)
    assert escrow.credits(buyer, t) == amount
    single_event(tx, escrow.PayoutCredited, escrow, account=buyer, token=t, order_id=order, amount=amount)


# ------------------------------------------------ top_up, withdraw, close


def test_top_up__raises_what_the_ad_wants_and_pulls_nothing(escrow, token, buyer, buy_ad):
    before = token.balanceOf(buyer)
    tx = escrow.top_up(buy_ad, 250 * UNIT, sender=buyer)
    assert escrow.ads(buy_ad).available == 1_250 * UNIT
    assert token.balanceOf(buyer) == before
    assert token.balanceOf(escrow) == 0
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.AdToppedUp, escrow, ad_id=buy_ad, maker=buyer, amount=250 * UNIT)


def test_top_up__a_maker_without_tokens(escrow, other, create_buy_ad):
    ad_id = create_buy_ad(sender=other)
    escrow.top_up(ad_id, 1_000 * UNIT, sender=other)
    assert escrow.ads(ad_id).available == 2_000 * UNIT


def test_top_up__refusals_on_a_buy_ad(escrow, admin, seller, buyer, buy_ad):
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.top_up(buy_ad, UNIT, sender=seller)
    with ape.reverts("otc_escrow: zero amount"):
        escrow.top_up(buy_ad, 0, sender=buyer)
    with ape.reverts("otc_escrow: amount too large"):
        escrow.top_up(buy_ad, MAX_UINT128 - 1_000 * UNIT + 1, sender=buyer)
    escrow.top_up(buy_ad, MAX_UINT128 - 1_000 * UNIT, sender=buyer)  # exactly at the bound
    escrow.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        escrow.top_up(buy_ad, UNIT, sender=buyer)
    escrow.unpause(sender=admin)
    escrow.close_ad(buy_ad, sender=buyer)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.top_up(buy_ad, UNIT, sender=buyer)


def test_withdraw__lowers_what_the_ad_wants_and_sends_nothing(escrow, token, buyer, buy_ad, sell_into):
    sell_into(buy_ad, 300 * UNIT)
    before, escrow_before = token.balanceOf(buyer), token.balanceOf(escrow)
    tx = escrow.withdraw(buy_ad, 400 * UNIT, sender=buyer)
    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked) == (300 * UNIT, 300 * UNIT)
    assert token.balanceOf(buyer) == before
    assert token.balanceOf(escrow) == escrow_before
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.AdWithdrawn, escrow, ad_id=buy_ad, maker=buyer, amount=400 * UNIT)


def test_withdraw__refusals_on_a_buy_ad(escrow, seller, buyer, buy_ad, sell_into):
    sell_into(buy_ad, 100 * UNIT)
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.withdraw(buy_ad, UNIT, sender=seller)
    with ape.reverts("otc_escrow: zero amount"):
        escrow.withdraw(buy_ad, 0, sender=buyer)
    with ape.reverts("otc_escrow: amount exceeds available"):  # the locked 100 are not the buyer's to lower
        escrow.withdraw(buy_ad, 900 * UNIT + 1, sender=buyer)
    escrow.withdraw(buy_ad, 900 * UNIT, sender=buyer)
    assert escrow.ads(buy_ad).available == 0
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.withdraw(99, UNIT, sender=buyer)


def test_close_ad__refunds_nothing_and_open_orders_carry_on(escrow, token, seller, buyer, buy_ad, sell_into):
    order = sell_into(buy_ad, 100 * UNIT)
    buyer_before = token.balanceOf(buyer)
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.close_ad(buy_ad, sender=seller)

    tx = escrow.close_ad(buy_ad, sender=buyer)

    ad = escrow.ads(buy_ad)
    assert (ad.available, ad.locked, ad.active, ad.closed, ad.side) == (0, 100 * UNIT, False, True, SIDE_BUY)
    assert token.balanceOf(buyer) == buyer_before
    assert token.balanceOf(escrow) == 100 * UNIT  # the seller's, in the open order
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.AdClosed, escrow, ad_id=buy_ad, maker=buyer, refunded=0)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.close_ad(buy_ad, sender=buyer)
    escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    escrow.release(order, sender=seller)
    assert token.balanceOf(escrow) == fee_of(100 * UNIT)


def test_update_pause_resume__by_the_maker(escrow, seller, buyer, buy_ad):
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.update_ad(buy_ad, 800, UNIT, 100 * UNIT, HOUR, METHODS, BUYER_TERMS, sender=seller)
    tx = escrow.update_ad(buy_ad, 800, UNIT, 100 * UNIT, HOUR, METHODS, BUYER_TERMS, sender=buyer)
    assert tx.decode_logs(escrow.AdUpdated)[0].maker == buyer.address
    ad = escrow.ads(buy_ad)
    assert (ad.price, ad.min_amount, ad.max_amount, ad.side) == (800, UNIT, 100 * UNIT, SIDE_BUY)
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.pause_ad(buy_ad, sender=seller)
    single_event(escrow.pause_ad(buy_ad, sender=buyer), escrow.AdPaused, escrow, ad_id=buy_ad, maker=buyer)
    single_event(escrow.resume_ad(buy_ad, sender=buyer), escrow.AdResumed, escrow, ad_id=buy_ad, maker=buyer)


# ----------------------------------------------------------- both sides


def test_books__escrow_holds_sell_ads_and_buy_ad_orders_only(
    escrow, token, seller, buyer, arbitrator, create_ad, open_order, create_buy_ad, sell_into
):
    """balance == sum(sell ads available + locked) + sum(buy ads locked) + fees + credits."""
    sell_ad = create_ad(1_000 * UNIT)
    buy_ad = create_buy_ad(2_000 * UNIT)
    bought = open_order(sell_ad, 100 * UNIT)
    sold = [sell_into(buy_ad, amount) for amount in (100 * UNIT, 200 * UNIT, 300 * UNIT)]
    escrow.release(bought, sender=seller)
    escrow.release(sold[0], sender=seller)
    escrow.cancel(sold[1], sender=buyer)
    escrow.mark_paid(sold[2], PAYMENT_REF, sender=buyer)
    escrow.open_dispute(sold[2], EVIDENCE, sender=buyer)
    escrow.resolve_dispute(sold[2], 5_000, sender=arbitrator)

    s, b = escrow.ads(sell_ad), escrow.ads(buy_ad)
    assert (s.available, s.locked) == (900 * UNIT, 0)
    # 2,000 wanted - 600 sold + 200 cancelled + 150 the dispute did not give the buyer
    assert (b.available, b.locked) == (1_750 * UNIT, 0)
    fees = fee_of(100 * UNIT) * 2 + fee_of(150 * UNIT)
    assert escrow.accrued_fees(token) == fees
    assert token.balanceOf(escrow) == s.available + s.locked + b.locked + fees


def test_no_return_token__buy_ad_trade(escrow, no_return_token, seller, buyer, create_buy_ad, sell_into):
    t = no_return_token
    seller_start = t.balanceOf(seller)
    ad_id = create_buy_ad(token_=t)
    released = sell_into(ad_id, 200 * UNIT)
    cancelled = sell_into(ad_id, 100 * UNIT)
    assert t.balanceOf(escrow) == 300 * UNIT
    escrow.mark_paid(released, PAYMENT_REF, sender=buyer)
    escrow.release(released, sender=seller)
    escrow.cancel(cancelled, sender=buyer)
    fee = fee_of(200 * UNIT)
    assert t.balanceOf(buyer) == 200 * UNIT - fee
    assert t.balanceOf(seller) == seller_start - 200 * UNIT
    assert t.balanceOf(escrow) == fee == escrow.accrued_fees(t)


# ----------------------------------------------------------------- relay


def relay(escrow, action, order_id, signature, node, deadline):
    if action == "MarkPaid":
        return escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    if action == "Release":
        return escrow.relay_release(order_id, 0, deadline, signature, sender=node)
    return escrow.relay_cancel(order_id, 0, deadline, signature, sender=node)


@pytest.mark.parametrize(
    "action,signer,wrong,status,code",
    [
        ("MarkPaid", "buyer", "seller", PAID, ACTION_MARK_PAID),
        ("Release", "seller", "buyer", RELEASED, ACTION_RELEASE),
        ("Cancel", "buyer", "seller", CANCELLED, ACTION_CANCEL),
    ],
)
def test_relay__signed_by_the_right_party_of_a_buy_ad_order(
    escrow, token, seller, buyer, node, sell_order, sign_action, chain, action, signer, wrong, status, code
):
    parties = {"buyer": buyer, "seller": seller}
    deadline = chain.pending_timestamp + HOUR
    payment_ref = PAYMENT_REF if action == "MarkPaid" else None
    bad = sign_action(parties[wrong], action, sell_order, 0, deadline, payment_ref)
    with ape.reverts("otc_escrow: invalid signature"):
        relay(escrow, action, sell_order, bad, node, deadline)
    assert escrow.orders(sell_order).status == OPEN
    assert escrow.nonces(parties[wrong]) == 0

    good = sign_action(parties[signer], action, sell_order, 0, deadline, payment_ref)
    seller_before = token.balanceOf(seller)
    tx = relay(escrow, action, sell_order, good, node, deadline)

    assert escrow.orders(sell_order).status == status
    assert escrow.nonces(parties[signer]) == 1
    single_event(
        tx,
        escrow.ActionRelayed,
        escrow,
        order_id=sell_order,
        signer=parties[signer],
        relayer=node,
        action=code,
        nonce=0,
    )
    if action == "Cancel":
        assert token.balanceOf(seller) == seller_before + 100 * UNIT  # back to the seller


# ------------------------------------------------- refusing and hooked sellers


def test_resolve_dispute__blocklisted_seller_is_credited(
    escrow, blocklist_token, admin, seller, buyer, arbitrator, create_buy_ad, sell_into, refusal
):
    t = blocklist_token
    ad_id = create_buy_ad(token_=t)
    order = sell_into(ad_id, 100 * UNIT)
    escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    escrow.open_dispute(order, EVIDENCE, sender=buyer)
    buyer_before = t.balanceOf(buyer)
    t.set_blocked(seller, True, sender=admin)

    tx = escrow.resolve_dispute(order, 3_000, sender=arbitrator)

    fee = fee_of(30 * UNIT)
    assert escrow.credits(seller, t) == 70 * UNIT
    assert t.balanceOf(buyer) == buyer_before + 30 * UNIT - fee  # the buyer is not held up
    single_event(tx, escrow.PayoutCredited, escrow, account=seller, token=t, order_id=order, amount=70 * UNIT)
    assert event_names(tx, escrow, t) == ["DisputeResolved", "Transfer", "PayoutCredited"]


@pytest.fixture
def hook_seller(project, admin, escrow):
    """A contract seller holding hook tokens, approved to the escrow, hooked to the token."""
    hook_token = admin.deploy(project.HookToken)
    escrow.set_token_allowed(hook_token, True, sender=admin)
    trader = admin.deploy(project.HookTrader)
    hook_token.mint(trader, 1_000 * UNIT, sender=admin)
    trader.execute(hook_token, hook_token.approve.encode_input(escrow, 2**256 - 1), sender=admin)
    trader.execute(hook_token, hook_token.register_hook.encode_input(True), sender=admin)
    return trader, hook_token


@pytest.mark.parametrize("inner", ["open_sell_order", "create_buy_ad", "top_up"])
def test_reentrancy__open_sell_order_refuses_a_hook(escrow, admin, buyer, create_buy_ad, hook_seller, inner):
    trader, hook_token = hook_seller
    ad_id = create_buy_ad(token_=hook_token)
    own_ad = (
        trader.execute(
            escrow,
            escrow.create_buy_ad.encode_input(
                hook_token, 50 * UNIT, PRICE, USD, UNIT, 50 * UNIT, HOUR, METHODS, BUYER_TERMS
            ),
            sender=admin,
        )
        .decode_logs(escrow.AdCreated)[0]
        .ad_id
    )
    inner_data = {
        "open_sell_order": escrow.open_sell_order.encode_input(ad_id, 10 * UNIT, PRICE),
        "create_buy_ad": escrow.create_buy_ad.encode_input(
            hook_token, 50 * UNIT, PRICE, USD, UNIT, 50 * UNIT, HOUR, METHODS, BUYER_TERMS
        ),
        "top_up": escrow.top_up.encode_input(own_ad, UNIT),
    }[inner]
    trader.arm(escrow, inner_data, sender=admin)

    tx = trader.execute(escrow, escrow.open_sell_order.encode_input(ad_id, 100 * UNIT, PRICE), sender=admin)

    assert trader.reentries() == 1
    assert not trader.reentry_succeeded()
    assert escrow.order_count() == 1 and escrow.ad_count() == 2
    assert escrow.ads(own_ad).available == 50 * UNIT
    assert escrow.ads(ad_id).locked == 100 * UNIT
    assert event_names(tx, escrow, hook_token) == ["OrderOpened", "Transfer"]
    # The same call outside a hook goes through: it was the lock that refused it.
    trader.execute(escrow, inner_data, sender=admin)


def test_cancel__seller_contract_whose_hook_reverts_is_credited(escrow, admin, buyer, create_buy_ad, hook_seller):
    trader, hook_token = hook_seller
    ad_id = create_buy_ad(token_=hook_token)
    tx = trader.execute(escrow, escrow.open_sell_order.encode_input(ad_id, 100 * UNIT, PRICE), sender=admin)
    order = tx.decode_logs(escrow.OrderOpened)[0].order_id
    trader.set_revert_on_hook(True, sender=admin)

    escrow.cancel(order, sender=buyer)

    assert escrow.orders(order).status == CANCELLED
    assert escrow.credits(trader, hook_token) == 100 * UNIT
    trader.set_revert_on_hook(False, sender=admin)
    trader.execute(escrow, escrow.withdraw_credit.encode_input(hook_token), sender=admin)
    assert hook_token.balanceOf(trader) == 1_000 * UNIT
