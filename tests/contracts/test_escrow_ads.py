"""OtcEscrow ads: create_ad, create_ad_with_permit, top_up, update_ad,
pause_ad, resume_ad, withdraw and close_ad."""

import ape
import pytest
from conftest import DAY, HOUR, METHODS, PRICE, SIDE_SELL, TERMS_HASH, UNIT, USD, sign_permit, single_event
from eth_utils import keccak

MAX_UINT64 = 2**64 - 1
MAX_UINT96 = 2**96 - 1
MAX_UINT128 = 2**128 - 1
MIN_WINDOW = 15 * 60
MAX_WINDOW = 7 * DAY
NEW_TERMS = keccak(text="cash in person")


# -------------------------------------------------------------- helpers


def new_ad(escrow, token, seller, amount=1_000 * UNIT, **terms):
    args = dict(
        price=PRICE,
        fiat=USD,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=METHODS,
        terms_hash=TERMS_HASH,
    )
    args.update(terms)
    return escrow.create_ad(
        token,
        amount,
        args["price"],
        args["fiat"],
        args["min_amount"],
        args["max_amount"],
        args["payment_window"],
        args["payment_methods"],
        args["terms_hash"],
        sender=seller,
    )


def create_with_permit(escrow, token, sender, amount, deadline, v, r, s, **terms):
    args = dict(min_amount=10 * UNIT, max_amount=500 * UNIT)
    args.update(terms)
    return escrow.create_ad_with_permit(
        token,
        amount,
        PRICE,
        USD,
        args["min_amount"],
        args["max_amount"],
        HOUR,
        METHODS,
        TERMS_HASH,
        deadline,
        v,
        r,
        s,
        sender=sender,
    )


@pytest.fixture
def permit_seller(escrow, token, other):
    """A seller with tokens but no allowance for the escrow."""
    token.faucet(1_000 * UNIT, sender=other)
    assert token.allowance(other, escrow) == 0
    return other


# ------------------------------------------------------------ create_ad


def test_create_ad__stores_ad_pulls_tokens_and_logs(escrow, token, seller):
    seller_before = token.balanceOf(seller)
    tx = new_ad(escrow, token, seller, 1_000 * UNIT)

    assert escrow.ad_count() == 1
    ad = escrow.ads(1)
    assert ad.maker == seller.address
    assert ad.token == token.address
    assert ad.available == 1_000 * UNIT
    assert ad.locked == 0
    assert ad.price == PRICE
    assert ad.fiat == USD
    assert ad.min_amount == 10 * UNIT
    assert ad.max_amount == 500 * UNIT
    assert ad.payment_window == HOUR
    assert ad.payment_methods == METHODS
    assert ad.active is True
    assert ad.closed is False
    assert ad.side == SIDE_SELL

    assert token.balanceOf(seller) == seller_before - 1_000 * UNIT
    assert token.balanceOf(escrow) == 1_000 * UNIT
    single_event(
        tx,
        escrow.AdCreated,
        escrow,
        ad_id=1,
        maker=seller,
        token=token,
        amount=1_000 * UNIT,
        price=PRICE,
        fiat=USD,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=METHODS,
        terms_hash=TERMS_HASH,
        side=SIDE_SELL,
    )


def test_create_ad__ids_increment_per_ad(escrow, token, seller, buyer, create_ad):
    assert create_ad() == 1
    assert create_ad(sender=buyer) == 2
    assert create_ad(amount=5 * UNIT, min_amount=UNIT, max_amount=5 * UNIT) == 3
    assert escrow.ad_count() == 3
    assert escrow.ads(2).maker == buyer.address
    assert escrow.ads(3).available == 5 * UNIT
    assert token.balanceOf(escrow) == 2_005 * UNIT


def test_create_ad__unknown_ad_reads_as_zero(escrow, token):
    ad = escrow.ads(1)
    assert ad.maker == "0x" + "00" * 20
    assert ad.available == 0
    assert ad.active is False
    assert ad.side == 0


def test_create_ad__extreme_terms_round_trip_through_packing(escrow, token, seller):
    new_ad(
        escrow,
        token,
        seller,
        UNIT,
        price=MAX_UINT64,
        fiat=b"\xff\xff\xff",
        min_amount=MAX_UINT96,
        max_amount=MAX_UINT96,
        payment_window=MAX_WINDOW,
        payment_methods=MAX_UINT64,
    )
    ad = escrow.ads(1)
    assert ad.maker == seller.address
    assert ad.token == token.address
    assert ad.available == UNIT
    assert ad.locked == 0
    assert ad.price == MAX_UINT64
    assert ad.fiat == b"\xff\xff\xff"
    assert ad.min_amount == MAX_UINT96
    assert ad.max_amount == MAX_UINT96
    assert ad.payment_window == MAX_WINDOW
    assert ad.payment_methods == MAX_UINT64
    assert ad.active is True
    assert ad.closed is False


def test_create_ad__window_bounds_and_min_equal_max_accepted(escrow, token, seller, create_ad):
    short = create_ad(payment_window=MIN_WINDOW, min_amount=20 * UNIT, max_amount=20 * UNIT)
    long_ = create_ad(payment_window=MAX_WINDOW)
    assert escrow.ads(short).payment_window == MIN_WINDOW
    assert escrow.ads(short).min_amount == escrow.ads(short).max_amount == 20 * UNIT
    assert escrow.ads(long_).payment_window == MAX_WINDOW


def test_create_ad__token_not_allowed(escrow, project, admin, seller):
    stranger = admin.deploy(project.TestStablecoin, "Other USD", "OUSD")
    stranger.faucet(100 * UNIT, sender=seller)
    stranger.approve(escrow, 2**256 - 1, sender=seller)
    with ape.reverts("otc_escrow: token not allowed"):
        new_ad(escrow, stranger, seller, 100 * UNIT)
    assert escrow.ad_count() == 0


@pytest.mark.parametrize(
    "amount, terms, message",
    [
        (0, {}, "otc_escrow: zero amount"),
        (MAX_UINT128 + 1, {}, "otc_escrow: amount too large"),
        (UNIT, {"fiat": b"\x00\x00\x00"}, "otc_escrow: empty fiat code"),
        (UNIT, {"price": 0}, "otc_escrow: zero price"),
        (UNIT, {"price": MAX_UINT64 + 1}, "otc_escrow: price too large"),
        (UNIT, {"min_amount": 0}, "otc_escrow: zero min amount"),
        (UNIT, {"min_amount": 11 * UNIT, "max_amount": 10 * UNIT}, "otc_escrow: min above max"),
        (UNIT, {"max_amount": MAX_UINT96 + 1}, "otc_escrow: max amount too large"),
        (UNIT, {"payment_window": MIN_WINDOW - 1}, "otc_escrow: payment window too short"),
        (UNIT, {"payment_window": MAX_WINDOW + 1}, "otc_escrow: payment window too long"),
        (UNIT, {"payment_methods": 0}, "otc_escrow: no payment method"),
        (UNIT, {"payment_methods": MAX_UINT64 + 1}, "otc_escrow: payment methods out of range"),
    ],
    ids=[
        "zero_amount",
        "amount_too_large",
        "empty_fiat",
        "zero_price",
        "price_too_large",
        "zero_min",
        "min_above_max",
        "max_too_large",
        "window_too_short",
        "window_too_long",
        "no_method",
        "methods_out_of_range",
    ],
)
def test_create_ad__invalid_terms(escrow, token, seller, amount, terms, message):
    with ape.reverts(message):
        new_ad(escrow, token, seller, amount, **terms)
    assert escrow.ad_count() == 0


def test_create_ad__without_allowance_fails(escrow, token, other):
    token.faucet(100 * UNIT, sender=other)
    with ape.reverts("otc_escrow: token transfer failed"):
        new_ad(escrow, token, other, 100 * UNIT)
    assert escrow.ad_count() == 0
    assert token.balanceOf(other) == 100 * UNIT


def test_create_ad__kyc_required(escrow, token, seller, admin, officer, kyc_registry, chain):
    escrow.set_kyc_min_level(2, sender=admin)
    with ape.reverts("otc_escrow: kyc required"):
        new_ad(escrow, token, seller)

    expires = chain.pending_timestamp + 30 * DAY
    kyc_registry.attest(seller, 1, expires, keccak(text="record"), sender=officer)
    with ape.reverts("otc_escrow: kyc required"):
        new_ad(escrow, token, seller)

    kyc_registry.attest(seller, 2, expires, keccak(text="record"), sender=officer)
    new_ad(escrow, token, seller)
    assert escrow.ads(1).maker == seller.address


# ------------------------------------------------- create_ad_with_permit


def test_create_ad_with_permit__creates_ad_without_prior_approve(escrow, token, chain, permit_seller):
    assert token.allowance(permit_seller, escrow) == 0
    deadline = chain.pending_timestamp + HOUR
    v, r, s = sign_permit(token, chain, permit_seller, escrow, 300 * UNIT, deadline)

    tx = create_with_permit(escrow, token, permit_seller, 300 * UNIT, deadline, v, r, s)

    ad = escrow.ads(1)
    assert ad.maker == permit_seller.address
    assert ad.available == 300 * UNIT
    assert ad.active is True
    assert token.balanceOf(permit_seller) == 700 * UNIT
    assert token.balanceOf(escrow) == 300 * UNIT
    assert token.allowance(permit_seller, escrow) == 0  # the permit was spent in full
    assert token.nonces(permit_seller) == 1
    log = single_event(
        tx,
        escrow.AdCreated,
        escrow,
        ad_id=1,
        maker=permit_seller,
        token=token,
        amount=300 * UNIT,
        price=PRICE,
        fiat=USD,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=METHODS,
        terms_hash=TERMS_HASH,
        side=SIDE_SELL,
    )
    assert log.ad_id == 1


def test_create_ad_with_permit__signed_by_someone_else(escrow, token, chain, permit_seller, buyer):
    deadline = chain.pending_timestamp + HOUR
    v, r, s = sign_permit(token, chain, permit_seller, escrow, 300 * UNIT, deadline, key_of=buyer)
    with ape.reverts("erc20: invalid signature"):
        create_with_permit(escrow, token, permit_seller, 300 * UNIT, deadline, v, r, s)
    assert escrow.ad_count() == 0
    assert token.nonces(permit_seller) == 0


def test_create_ad_with_permit__amount_differs_from_signed(escrow, token, chain, permit_seller):
    deadline = chain.pending_timestamp + HOUR
    v, r, s = sign_permit(token, chain, permit_seller, escrow, 100 * UNIT, deadline)
    with ape.reverts("erc20: invalid signature"):
        create_with_permit(escrow, token, permit_seller, 300 * UNIT, deadline, v, r, s)
    assert escrow.ad_count() == 0


def test_create_ad_with_permit__expired_permit(escrow, token, chain, permit_seller):
    deadline = chain.pending_timestamp + 60
    v, r, s = sign_permit(token, chain, permit_seller, escrow, 300 * UNIT, deadline)
    chain.pending_timestamp = deadline + 1
    with ape.reverts("erc20: expired deadline"):
        create_with_permit(escrow, token, permit_seller, 300 * UNIT, deadline, v, r, s)
    assert escrow.ad_count() == 0


def test_create_ad_with_permit__replayed_permit(escrow, token, chain, permit_seller):
    deadline = chain.pending_timestamp + HOUR
    v, r, s = sign_permit(token, chain, permit_seller, escrow, 100 * UNIT, deadline)
    create_with_permit(escrow, token, permit_seller, 100 * UNIT, deadline, v, r, s)
    with ape.reverts("erc20: invalid signature"):
        create_with_permit(escrow, token, permit_seller, 100 * UNIT, deadline, v, r, s)
    assert escrow.ad_count() == 1


def test_create_ad_with_permit__checks_terms(escrow, token, chain, permit_seller):
    deadline = chain.pending_timestamp + HOUR
    v, r, s = sign_permit(token, chain, permit_seller, escrow, 100 * UNIT, deadline)
    with ape.reverts("otc_escrow: min above max"):
        create_with_permit(
            escrow, token, permit_seller, 100 * UNIT, deadline, v, r, s, min_amount=50 * UNIT, max_amount=40 * UNIT
        )
    # the whole transaction reverted, permit included
    assert token.nonces(permit_seller) == 0
    assert token.allowance(permit_seller, escrow) == 0


def test_create_ad_with_permit__when_paused(escrow, token, chain, permit_seller, admin):
    escrow.pause(sender=admin)
    deadline = chain.pending_timestamp + HOUR
    v, r, s = sign_permit(token, chain, permit_seller, escrow, 100 * UNIT, deadline)
    with ape.reverts("pausable: contract is paused"):
        create_with_permit(escrow, token, permit_seller, 100 * UNIT, deadline, v, r, s)
    assert token.nonces(permit_seller) == 0


# --------------------------------------------------------------- top_up


def test_top_up__adds_to_available(escrow, token, seller, ad_id):
    before = token.balanceOf(seller)
    tx = escrow.top_up(ad_id, 250 * UNIT, sender=seller)
    assert escrow.ads(ad_id).available == 1_250 * UNIT
    assert escrow.ads(ad_id).locked == 0
    assert token.balanceOf(seller) == before - 250 * UNIT
    assert token.balanceOf(escrow) == 1_250 * UNIT
    single_event(tx, escrow.AdToppedUp, escrow, ad_id=ad_id, maker=seller, amount=250 * UNIT)


def test_top_up__works_on_a_paused_ad_and_with_orders_open(escrow, token, seller, ad_id, order_id):
    escrow.pause_ad(ad_id, sender=seller)
    escrow.top_up(ad_id, 50 * UNIT, sender=seller)
    ad = escrow.ads(ad_id)
    assert ad.available == 950 * UNIT
    assert ad.locked == 100 * UNIT
    assert ad.active is False


def test_top_up__only_seller(escrow, token, buyer, ad_id):
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.top_up(ad_id, UNIT, sender=buyer)


def test_top_up__unknown_ad(escrow, token, seller):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.top_up(1, UNIT, sender=seller)


def test_top_up__zero_amount(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: zero amount"):
        escrow.top_up(ad_id, 0, sender=seller)


def test_top_up__amount_too_large(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: amount too large"):
        escrow.top_up(ad_id, MAX_UINT128 - 1_000 * UNIT + 1, sender=seller)


def test_top_up__closed_ad(escrow, seller, ad_id):
    escrow.close_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.top_up(ad_id, UNIT, sender=seller)


# ------------------------------------------------------------ update_ad


def test_update_ad__changes_terms(escrow, token, seller, ad_id):
    tx = escrow.update_ad(ad_id, 800, 20 * UNIT, 300 * UNIT, 2 * HOUR, 0b10, NEW_TERMS, sender=seller)
    ad = escrow.ads(ad_id)
    assert ad.price == 800
    assert ad.min_amount == 20 * UNIT
    assert ad.max_amount == 300 * UNIT
    assert ad.payment_window == 2 * HOUR
    assert ad.payment_methods == 0b10
    # the rest is untouched
    assert ad.maker == seller.address
    assert ad.token == token.address
    assert ad.available == 1_000 * UNIT
    assert ad.fiat == USD
    assert ad.active is True
    assert ad.closed is False
    single_event(
        tx,
        escrow.AdUpdated,
        escrow,
        ad_id=ad_id,
        maker=seller,
        price=800,
        min_amount=20 * UNIT,
        max_amount=300 * UNIT,
        payment_window=2 * HOUR,
        payment_methods=0b10,
        terms_hash=NEW_TERMS,
    )


def test_update_ad__open_orders_keep_their_terms(escrow, seller, buyer, ad_id, order_id, open_order):
    escrow.update_ad(ad_id, 900, 10 * UNIT, 500 * UNIT, HOUR, METHODS, TERMS_HASH, sender=seller)
    assert escrow.orders(order_id).price == PRICE
    with ape.reverts("otc_escrow: price above max_price"):
        open_order(ad_id)
    second = open_order(ad_id, max_price=900)
    assert escrow.orders(second).price == 900


def test_update_ad__only_seller(escrow, buyer, ad_id):
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.update_ad(ad_id, 800, 10 * UNIT, 500 * UNIT, HOUR, METHODS, TERMS_HASH, sender=buyer)


def test_update_ad__unknown_ad(escrow, seller):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.update_ad(7, 800, 10 * UNIT, 500 * UNIT, HOUR, METHODS, TERMS_HASH, sender=seller)


def test_update_ad__closed_ad(escrow, seller, ad_id):
    escrow.close_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.update_ad(ad_id, 800, 10 * UNIT, 500 * UNIT, HOUR, METHODS, TERMS_HASH, sender=seller)


@pytest.mark.parametrize(
    "terms, message",
    [
        ((0, 10 * UNIT, 500 * UNIT, HOUR, METHODS), "otc_escrow: zero price"),
        ((PRICE, 600 * UNIT, 500 * UNIT, HOUR, METHODS), "otc_escrow: min above max"),
        ((PRICE, 10 * UNIT, 500 * UNIT, MIN_WINDOW - 1, METHODS), "otc_escrow: payment window too short"),
    ],
    ids=["zero_price", "min_above_max", "short_window"],
)
def test_update_ad__invalid_terms(escrow, seller, ad_id, terms, message):
    with ape.reverts(message):
        escrow.update_ad(ad_id, *terms, TERMS_HASH, sender=seller)
    assert escrow.ads(ad_id).price == PRICE


def test_update_ad__allowed_while_paused(escrow, seller, ad_id, admin):
    escrow.pause(sender=admin)
    escrow.update_ad(ad_id, 800, 10 * UNIT, 500 * UNIT, HOUR, METHODS, TERMS_HASH, sender=seller)
    assert escrow.ads(ad_id).price == 800


# ----------------------------------------------------- pause_ad / resume_ad


def test_pause_ad__stops_new_orders(escrow, seller, ad_id, open_order):
    tx = escrow.pause_ad(ad_id, sender=seller)
    assert escrow.ads(ad_id).active is False
    assert escrow.ads(ad_id).closed is False
    single_event(tx, escrow.AdPaused, escrow, ad_id=ad_id, maker=seller)
    with ape.reverts("otc_escrow: ad not active"):
        open_order(ad_id)


def test_pause_ad__open_orders_carry_on(escrow, token, seller, buyer, ad_id, paid_order_id):
    escrow.pause_ad(ad_id, sender=seller)
    escrow.release(paid_order_id, sender=seller)
    assert escrow.orders(paid_order_id).status == 3


def test_pause_ad__already_paused(escrow, seller, ad_id):
    escrow.pause_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad already paused"):
        escrow.pause_ad(ad_id, sender=seller)


def test_pause_ad__only_seller(escrow, other, ad_id):
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.pause_ad(ad_id, sender=other)


def test_pause_ad__closed_ad(escrow, seller, ad_id):
    escrow.close_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.pause_ad(ad_id, sender=seller)


def test_pause_ad__unknown_ad(escrow, seller):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.pause_ad(1, sender=seller)


def test_resume_ad__takes_orders_again(escrow, seller, ad_id, open_order):
    escrow.pause_ad(ad_id, sender=seller)
    tx = escrow.resume_ad(ad_id, sender=seller)
    assert escrow.ads(ad_id).active is True
    single_event(tx, escrow.AdResumed, escrow, ad_id=ad_id, maker=seller)
    order = open_order(ad_id)
    assert escrow.orders(order).status == 1


def test_resume_ad__already_active(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: ad already active"):
        escrow.resume_ad(ad_id, sender=seller)


def test_resume_ad__only_seller(escrow, seller, buyer, ad_id):
    escrow.pause_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.resume_ad(ad_id, sender=buyer)


def test_resume_ad__closed_ad_stays_closed(escrow, seller, ad_id):
    escrow.close_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.resume_ad(ad_id, sender=seller)
    assert escrow.ads(ad_id).active is False


def test_resume_ad__unknown_ad(escrow, seller):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.resume_ad(1, sender=seller)


# ------------------------------------------------------------- withdraw


def test_withdraw__returns_unlocked_tokens(escrow, token, seller, ad_id):
    before = token.balanceOf(seller)
    tx = escrow.withdraw(ad_id, 400 * UNIT, sender=seller)
    ad = escrow.ads(ad_id)
    assert ad.available == 600 * UNIT
    assert ad.active is True
    assert token.balanceOf(seller) == before + 400 * UNIT
    assert token.balanceOf(escrow) == 600 * UNIT
    single_event(tx, escrow.AdWithdrawn, escrow, ad_id=ad_id, maker=seller, amount=400 * UNIT)


def test_withdraw__all_available_but_not_locked(escrow, token, seller, ad_id, order_id):
    escrow.withdraw(ad_id, 900 * UNIT, sender=seller)
    ad = escrow.ads(ad_id)
    assert ad.available == 0
    assert ad.locked == 100 * UNIT
    assert token.balanceOf(escrow) == 100 * UNIT
    with ape.reverts("otc_escrow: amount exceeds available"):
        escrow.withdraw(ad_id, 1, sender=seller)


def test_withdraw__amount_exceeds_available(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: amount exceeds available"):
        escrow.withdraw(ad_id, 1_000 * UNIT + 1, sender=seller)
    assert escrow.ads(ad_id).available == 1_000 * UNIT


def test_withdraw__zero_amount(escrow, seller, ad_id):
    with ape.reverts("otc_escrow: zero amount"):
        escrow.withdraw(ad_id, 0, sender=seller)


def test_withdraw__only_seller(escrow, token, buyer, ad_id):
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.withdraw(ad_id, UNIT, sender=buyer)
    assert token.balanceOf(escrow) == 1_000 * UNIT


def test_withdraw__closed_ad(escrow, seller, ad_id):
    escrow.close_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.withdraw(ad_id, UNIT, sender=seller)


def test_withdraw__unknown_ad(escrow, seller):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.withdraw(3, UNIT, sender=seller)


def test_withdraw__allowed_while_paused(escrow, token, seller, ad_id, admin):
    escrow.pause(sender=admin)
    escrow.withdraw(ad_id, 1_000 * UNIT, sender=seller)
    assert token.balanceOf(escrow) == 0


# ------------------------------------------------------------- close_ad


def test_close_ad__refunds_available_and_closes(escrow, token, seller, ad_id):
    before = token.balanceOf(seller)
    tx = escrow.close_ad(ad_id, sender=seller)
    ad = escrow.ads(ad_id)
    assert ad.available == 0
    assert ad.locked == 0
    assert ad.active is False
    assert ad.closed is True
    assert ad.maker == seller.address  # the rest of the ad is kept
    assert ad.price == PRICE
    assert token.balanceOf(seller) == before + 1_000 * UNIT
    assert token.balanceOf(escrow) == 0
    single_event(tx, escrow.AdClosed, escrow, ad_id=ad_id, maker=seller, refunded=1_000 * UNIT)


def test_close_ad__locked_tokens_stay(escrow, token, seller, ad_id, order_id):
    before = token.balanceOf(seller)
    tx = escrow.close_ad(ad_id, sender=seller)
    ad = escrow.ads(ad_id)
    assert ad.available == 0
    assert ad.locked == 100 * UNIT
    assert ad.closed is True
    assert token.balanceOf(seller) == before + 900 * UNIT
    assert token.balanceOf(escrow) == 100 * UNIT
    single_event(tx, escrow.AdClosed, escrow, ad_id=ad_id, maker=seller, refunded=900 * UNIT)


def test_close_ad__nothing_to_refund(escrow, token, seller, ad_id):
    escrow.withdraw(ad_id, 1_000 * UNIT, sender=seller)
    tx = escrow.close_ad(ad_id, sender=seller)
    assert escrow.ads(ad_id).closed is True
    assert tx.decode_logs(token.Transfer) == []
    single_event(tx, escrow.AdClosed, escrow, ad_id=ad_id, maker=seller, refunded=0)


def test_close_ad__a_paused_ad(escrow, seller, ad_id):
    escrow.pause_ad(ad_id, sender=seller)
    escrow.close_ad(ad_id, sender=seller)
    ad = escrow.ads(ad_id)
    assert ad.closed is True
    assert ad.active is False


def test_close_ad__only_seller(escrow, token, other, ad_id):
    with ape.reverts("otc_escrow: caller is not the maker"):
        escrow.close_ad(ad_id, sender=other)
    assert escrow.ads(ad_id).closed is False


def test_close_ad__twice(escrow, seller, ad_id):
    escrow.close_ad(ad_id, sender=seller)
    with ape.reverts("otc_escrow: ad closed"):
        escrow.close_ad(ad_id, sender=seller)


def test_close_ad__unknown_ad(escrow, seller):
    with ape.reverts("otc_escrow: unknown ad"):
        escrow.close_ad(1, sender=seller)


def test_close_ad__allowed_while_paused(escrow, token, seller, ad_id, admin):
    escrow.pause(sender=admin)
    escrow.close_ad(ad_id, sender=seller)
    assert escrow.ads(ad_id).closed is True
    assert token.balanceOf(escrow) == 0
