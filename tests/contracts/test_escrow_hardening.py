"""OtcEscrow against tokens that refuse a party or call back: a blocklisted or paused
recipient never traps the other party (the refused payout is credited and withdrawn
later), ad functions refuse re-entry through a hook token, events follow the state order,
and permit on a token without EIP-2612 fails in words."""

import ape
import pytest
from conftest import EVIDENCE, FEE_BPS, HOUR, METHODS, PAYMENT_REF, PRICE, TERMS_HASH, UNIT, USD, single_event
from eth_utils import keccak

OPEN, PAID, RELEASED, CANCELLED, DISPUTED, RESOLVED = 1, 2, 3, 4, 5, 6
REFUSED = "blocklist_token: transfer refused"
TRANSFER_FAILED = "otc_escrow: token transfer failed"
NOTHING = "otc_escrow: nothing to withdraw"
WHOLE = 10**18  # the hook token has 18 decimals


def fee_of(amount):
    return amount * FEE_BPS // 10_000


# ------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def blocklist_token(project, admin, escrow, seller, buyer):
    """A USDC-style token whose owner (admin) can blocklist accounts and pause transfers."""
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


@pytest.fixture
def post(escrow, blocklist_token, seller):
    def post_(amount=1_000 * UNIT, *, sender=None, token=None):
        tx = escrow.create_ad(
            token or blocklist_token,
            amount,
            PRICE,
            USD,
            10 * UNIT,
            500 * UNIT,
            HOUR,
            METHODS,
            TERMS_HASH,
            sender=sender or seller,
        )
        return tx.decode_logs(escrow.AdCreated)[0].ad_id

    return post_


@pytest.fixture
def order_on(escrow, buyer):
    def open_(ad_id, amount=100 * UNIT):
        tx = escrow.open_order(ad_id, amount, PRICE, sender=buyer)
        return tx.decode_logs(escrow.OrderOpened)[0].order_id

    return open_


@pytest.fixture(scope="module")
def hook_token(project, admin, escrow):
    contract = admin.deploy(project.HookToken)
    escrow.set_token_allowed(contract, True, sender=admin)
    return contract


@pytest.fixture
def trader(project, admin, escrow, hook_token):
    """A contract trader holding hook tokens, approved to the escrow, hooked to the token."""
    contract = admin.deploy(project.HookTrader)
    hook_token.mint(contract, 10_000 * WHOLE, sender=admin)
    contract.execute(hook_token, hook_token.approve.encode_input(escrow, 2**256 - 1), sender=admin)
    contract.execute(hook_token, hook_token.register_hook.encode_input(True), sender=admin)
    return contract


def trader_ad(escrow, hook_token, trader, admin, amount=1_000 * WHOLE):
    data = escrow.create_ad.encode_input(hook_token, amount, PRICE, USD, WHOLE, 500 * WHOLE, HOUR, METHODS, TERMS_HASH)
    tx = trader.execute(escrow, data, sender=admin)
    return tx.decode_logs(escrow.AdCreated)[0].ad_id


def event_names(tx, *contracts):
    """Names of the logs of `tx` emitted by `contracts`, in log order."""
    by_topic = {}
    for contract in contracts:
        for abi in contract.contract_type.events:
            by_topic[(contract.address.lower(), keccak(text=abi.selector))] = abi.name
    names = []
    for log in tx.logs:
        key = (log["address"].lower(), bytes(log["topics"][0]))
        if key in by_topic:
            names.append(by_topic[key])
    return names


# --------------------------------------------- a refused seller on cancel


def test_cancel__blocklisted_seller_of_closed_ad_does_not_trap_buyer(
    escrow, blocklist_token, admin, seller, buyer, post, order_on, refusal
):
    t = blocklist_token
    ad = post()
    order = order_on(ad, 100 * UNIT)
    escrow.close_ad(ad, sender=seller)
    seller_before = t.balanceOf(seller)
    t.set_blocked(seller, True, sender=admin)

    tx = escrow.cancel(order, sender=buyer)

    assert escrow.orders(order).status == CANCELLED
    assert escrow.ads(ad).locked == 0
    assert escrow.credits(seller, t) == 100 * UNIT
    assert t.balanceOf(seller) == seller_before
    assert t.balanceOf(escrow) == 100 * UNIT
    single_event(tx, escrow.OrderCancelled, escrow, order_id=order, by=buyer, reason=1)
    single_event(tx, escrow.PayoutCredited, escrow, account=seller, token=t, order_id=order, amount=100 * UNIT)
    assert event_names(tx, escrow, t) == ["OrderCancelled", "PayoutCredited"]

    # While still blocked, the credit stays put.
    with ape.reverts(TRANSFER_FAILED):
        escrow.withdraw_credit(t, sender=seller)
    assert escrow.credits(seller, t) == 100 * UNIT

    t.set_blocked(seller, False, sender=admin)
    tx = escrow.withdraw_credit(t, sender=seller)
    assert t.balanceOf(seller) == seller_before + 100 * UNIT
    assert escrow.credits(seller, t) == 0
    assert t.balanceOf(escrow) == 0
    single_event(tx, escrow.CreditWithdrawn, escrow, account=seller, token=t, amount=100 * UNIT)
    assert event_names(tx, escrow, t) == ["CreditWithdrawn", "Transfer"]


def test_cancel_expired__blocklisted_seller_of_closed_ad(
    escrow, blocklist_token, admin, seller, other, post, order_on, chain
):
    t = blocklist_token
    ad = post()
    order = order_on(ad, 100 * UNIT)
    escrow.close_ad(ad, sender=seller)
    t.set_blocked(seller, True, sender=admin)
    chain.pending_timestamp = escrow.orders(order).deadline + 1

    tx = escrow.cancel_expired(order, sender=other)

    assert escrow.orders(order).status == CANCELLED
    assert escrow.credits(seller, t) == 100 * UNIT
    single_event(tx, escrow.OrderCancelled, escrow, order_id=order, by=other, reason=2)
    single_event(tx, escrow.PayoutCredited, escrow, account=seller, token=t, order_id=order, amount=100 * UNIT)


def test_cancel__paused_token_on_open_ad_needs_no_transfer(escrow, blocklist_token, admin, buyer, post, order_on):
    # On an open ad the tokens only go back on sale: no transfer, no credit.
    ad = post()
    order = order_on(ad, 100 * UNIT)
    blocklist_token.set_paused(True, sender=admin)
    tx = escrow.cancel(order, sender=buyer)
    assert escrow.ads(ad).available == 1_000 * UNIT
    assert tx.decode_logs(escrow.PayoutCredited) == []


def test_cancel__unblocked_seller_is_paid_at_once(escrow, blocklist_token, seller, buyer, post, order_on):
    t = blocklist_token
    ad = post()
    order = order_on(ad, 100 * UNIT)
    escrow.close_ad(ad, sender=seller)
    before = t.balanceOf(seller)
    tx = escrow.cancel(order, sender=buyer)
    assert t.balanceOf(seller) == before + 100 * UNIT
    assert escrow.credits(seller, t) == 0
    assert tx.decode_logs(escrow.PayoutCredited) == []


# --------------------------------------------- a refused buyer on release


def test_release__blocklisted_buyer_is_credited(
    escrow, blocklist_token, admin, seller, buyer, other, post, order_on, refusal
):
    t = blocklist_token
    ad = post()
    order = order_on(ad, 200 * UNIT)
    escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    buyer_before = t.balanceOf(buyer)
    t.set_blocked(buyer, True, sender=admin)

    tx = escrow.release(order, sender=seller)

    fee = fee_of(200 * UNIT)
    assert escrow.orders(order).status == RELEASED
    assert escrow.ads(ad).locked == 0
    assert escrow.accrued_fees(t) == fee
    assert escrow.credits(buyer, t) == 200 * UNIT - fee
    assert t.balanceOf(buyer) == buyer_before
    assert t.balanceOf(escrow) == 800 * UNIT + 200 * UNIT  # ad + credit + fee
    single_event(
        tx, escrow.OrderReleased, escrow, order_id=order, seller=seller, buyer=buyer, amount=200 * UNIT, fee=fee
    )
    single_event(tx, escrow.PayoutCredited, escrow, account=buyer, token=t, order_id=order, amount=200 * UNIT - fee)
    assert event_names(tx, escrow, t) == ["OrderReleased", "PayoutCredited"]

    # Nobody else can take it, before or after the unblock.
    with ape.reverts(NOTHING):
        escrow.withdraw_credit(t, sender=other)
    t.set_blocked(buyer, False, sender=admin)
    with ape.reverts(NOTHING):
        escrow.withdraw_credit(t, sender=seller)

    escrow.withdraw_credit(t, sender=buyer)
    assert t.balanceOf(buyer) == buyer_before + 200 * UNIT - fee
    # Exactly once.
    with ape.reverts(NOTHING):
        escrow.withdraw_credit(t, sender=buyer)
    assert t.balanceOf(buyer) == buyer_before + 200 * UNIT - fee
    assert t.balanceOf(escrow) == 800 * UNIT + fee


def test_release__credits_add_up_per_token(escrow, blocklist_token, token, admin, seller, buyer, post, order_on):
    t = blocklist_token
    ad = post()
    first, second = order_on(ad, 100 * UNIT), order_on(ad, 50 * UNIT)
    t.set_paused(True, sender=admin)
    escrow.release(first, sender=seller)
    escrow.release(second, sender=seller)
    assert escrow.credits(buyer, t) == 150 * UNIT - fee_of(100 * UNIT) - fee_of(50 * UNIT)
    assert escrow.credits(buyer, token) == 0
    with ape.reverts(NOTHING):
        escrow.withdraw_credit(token, sender=buyer)


def test_withdraw_credit__nothing_credited(escrow, blocklist_token, buyer):
    with ape.reverts(NOTHING):
        escrow.withdraw_credit(blocklist_token, sender=buyer)


def test_withdraw_credit__while_the_escrow_is_paused(escrow, blocklist_token, admin, seller, buyer, post, order_on):
    # Pause stops new business, never a payout.
    ad = post()
    order = order_on(ad, 100 * UNIT)
    blocklist_token.set_blocked(buyer, True, sender=admin)
    escrow.release(order, sender=seller)
    blocklist_token.set_blocked(buyer, False, sender=admin)
    escrow.pause(sender=admin)
    escrow.withdraw_credit(blocklist_token, sender=buyer)
    assert escrow.credits(buyer, blocklist_token) == 0


# ----------------------------------------------------- dispute resolution


@pytest.mark.parametrize("buyer_bps", [10_000, 6_000, 0])
def test_resolve_dispute__paused_token_credits_both_sides(
    escrow, blocklist_token, admin, seller, buyer, arbitrator, post, order_on, buyer_bps
):
    t = blocklist_token
    ad = post()
    order = order_on(ad, 100 * UNIT)
    escrow.mark_paid(order, PAYMENT_REF, sender=buyer)
    escrow.open_dispute(order, EVIDENCE, sender=buyer)
    escrow.close_ad(ad, sender=seller)
    t.set_paused(True, sender=admin)

    tx = escrow.resolve_dispute(order, buyer_bps, sender=arbitrator)

    buyer_share = 100 * UNIT * buyer_bps // 10_000
    fee = fee_of(buyer_share)
    seller_share = 100 * UNIT - buyer_share
    assert escrow.orders(order).status == RESOLVED
    assert escrow.credits(buyer, t) == buyer_share - fee
    assert escrow.credits(seller, t) == seller_share
    assert escrow.accrued_fees(t) == fee
    assert t.balanceOf(escrow) == buyer_share + seller_share
    expected = ["DisputeResolved"] + ["PayoutCredited"] * ((buyer_share != fee) + (seller_share != 0))
    assert event_names(tx, escrow, t) == expected

    t.set_paused(False, sender=admin)
    for account, amount in ((buyer, buyer_share - fee), (seller, seller_share)):
        if amount:
            escrow.withdraw_credit(t, sender=account)
    assert t.balanceOf(escrow) == fee


# ------------------------------------------------ a refusing hook contract


def test_release__buyer_contract_whose_hook_reverts_is_credited(escrow, hook_token, trader, admin, seller):
    hook_token.mint(seller, 1_000 * WHOLE, sender=admin)
    hook_token.approve(escrow, 2**256 - 1, sender=seller)
    tx = escrow.create_ad(
        hook_token, 1_000 * WHOLE, PRICE, USD, WHOLE, 500 * WHOLE, HOUR, METHODS, TERMS_HASH, sender=seller
    )
    ad = tx.decode_logs(escrow.AdCreated)[0].ad_id
    tx = trader.execute(escrow, escrow.open_order.encode_input(ad, 100 * WHOLE, PRICE), sender=admin)
    order = tx.decode_logs(escrow.OrderOpened)[0].order_id
    trader.set_revert_on_hook(True, sender=admin)

    escrow.release(order, sender=seller)

    assert escrow.orders(order).status == RELEASED
    assert escrow.credits(trader, hook_token) == 100 * WHOLE - fee_of(100 * WHOLE)
    trader.set_revert_on_hook(False, sender=admin)
    trader.execute(escrow, escrow.withdraw_credit.encode_input(hook_token), sender=admin)
    assert escrow.credits(trader, hook_token) == 0


# ------------------------------------------------------------ re-entrancy


INNER = {
    "pause_ad": lambda escrow, ad, other_ad: escrow.pause_ad.encode_input(ad),
    "update_ad": lambda escrow, ad, other_ad: escrow.update_ad.encode_input(
        ad, PRICE + 1, WHOLE, 400 * WHOLE, HOUR, METHODS, TERMS_HASH
    ),
    "top_up": lambda escrow, ad, other_ad: escrow.top_up.encode_input(ad, WHOLE),
    "withdraw": lambda escrow, ad, other_ad: escrow.withdraw.encode_input(ad, WHOLE),
    "close_ad": lambda escrow, ad, other_ad: escrow.close_ad.encode_input(ad),
    "open_order": lambda escrow, ad, other_ad: escrow.open_order.encode_input(other_ad, 10 * WHOLE, PRICE),
}


@pytest.mark.parametrize("outer", ["create_ad", "top_up", "withdraw", "close_ad"])
@pytest.mark.parametrize("inner", list(INNER))
def test_reentrancy__ad_functions_refuse_a_hook(escrow, hook_token, trader, admin, seller, outer, inner):
    # The trader (a contract) has ads A and B; while the token moves its tokens for an
    # action on A, its hook tries an action on B (or an order on someone else's ad).
    ad_a = trader_ad(escrow, hook_token, trader, admin)
    ad_b = trader_ad(escrow, hook_token, trader, admin)
    hook_token.mint(seller, 1_000 * WHOLE, sender=admin)
    hook_token.approve(escrow, 2**256 - 1, sender=seller)
    tx = escrow.create_ad(
        hook_token, 1_000 * WHOLE, PRICE, USD, WHOLE, 500 * WHOLE, HOUR, METHODS, TERMS_HASH, sender=seller
    )
    sellers_ad = tx.decode_logs(escrow.AdCreated)[0].ad_id
    inner_data = INNER[inner](escrow, ad_b, sellers_ad)
    b_before = escrow.ads(ad_b)
    trader.arm(escrow, inner_data, sender=admin)

    outer_data = {
        "create_ad": escrow.create_ad.encode_input(
            hook_token, 10 * WHOLE, PRICE, USD, WHOLE, 10 * WHOLE, HOUR, METHODS, TERMS_HASH
        ),
        "top_up": escrow.top_up.encode_input(ad_a, WHOLE),
        "withdraw": escrow.withdraw.encode_input(ad_a, WHOLE),
        "close_ad": escrow.close_ad.encode_input(ad_a),
    }[outer]
    trader.execute(escrow, outer_data, sender=admin)

    assert trader.reentries() == 1
    assert not trader.reentry_succeeded()
    assert escrow.ads(ad_b) == b_before
    assert escrow.order_count() == 0
    # The same call outside a hook goes through: it was the lock that refused it.
    trader.execute(escrow, inner_data, sender=admin)


def test_event_order__hook_reentry_logs_after_the_outer_event(escrow, hook_token, trader, admin, seller):
    # The trader buys twice; on the release of the first order, its hook marks the second
    # paid (not an ad function: allowed). The logs must show the release first, as the
    # state changed in that order.
    hook_token.mint(seller, 1_000 * WHOLE, sender=admin)
    hook_token.approve(escrow, 2**256 - 1, sender=seller)
    tx = escrow.create_ad(
        hook_token, 1_000 * WHOLE, PRICE, USD, WHOLE, 500 * WHOLE, HOUR, METHODS, TERMS_HASH, sender=seller
    )
    ad = tx.decode_logs(escrow.AdCreated)[0].ad_id
    orders = []
    for _ in range(2):
        tx = trader.execute(escrow, escrow.open_order.encode_input(ad, 10 * WHOLE, PRICE), sender=admin)
        orders.append(tx.decode_logs(escrow.OrderOpened)[0].order_id)
    trader.arm(escrow, escrow.mark_paid.encode_input(orders[1], PAYMENT_REF), sender=admin)

    tx = escrow.release(orders[0], sender=seller)

    assert trader.reentry_succeeded()
    assert escrow.orders(orders[1]).status == PAID
    assert event_names(tx, escrow, hook_token) == ["OrderReleased", "Transfer", "OrderPaid"]


@pytest.mark.parametrize("action", ["create_ad", "top_up", "withdraw", "close_ad"])
def test_event_order__ad_event_before_the_transfer(escrow, hook_token, trader, admin, action):
    ad = trader_ad(escrow, hook_token, trader, admin)
    data = {
        "create_ad": escrow.create_ad.encode_input(
            hook_token, 10 * WHOLE, PRICE, USD, WHOLE, 10 * WHOLE, HOUR, METHODS, TERMS_HASH
        ),
        "top_up": escrow.top_up.encode_input(ad, WHOLE),
        "withdraw": escrow.withdraw.encode_input(ad, WHOLE),
        "close_ad": escrow.close_ad.encode_input(ad),
    }[action]
    tx = trader.execute(escrow, data, sender=admin)
    event = {"create_ad": "AdCreated", "top_up": "AdToppedUp", "withdraw": "AdWithdrawn", "close_ad": "AdClosed"}
    assert event_names(tx, escrow, hook_token) == [event[action], "Transfer"]


# ----------------------------------------------------------------- permit


@pytest.mark.parametrize("which", ["no_return_token", "blocklist_token"])
def test_create_ad_with_permit__token_without_permit(escrow, seller, no_return_token, blocklist_token, which, chain):
    # Both fixtures are requested up front: a session fixture first made inside a test
    # would be reverted with the test's snapshot.
    t = {"no_return_token": no_return_token, "blocklist_token": blocklist_token}[which]
    deadline = chain.pending_timestamp + HOUR
    with ape.reverts("otc_escrow: token has no permit"):
        escrow.create_ad_with_permit(
            t,
            100 * UNIT,
            PRICE,
            USD,
            10 * UNIT,
            100 * UNIT,
            HOUR,
            METHODS,
            TERMS_HASH,
            deadline,
            27,
            b"\x01" * 32,
            b"\x02" * 32,
            sender=seller,
        )
    assert escrow.ad_count() == 0
