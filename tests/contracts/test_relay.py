"""Relayed actions: an authorized node submits a user's EIP-712 signed mark_paid / release / cancel."""

import ape
import pytest
from conftest import FEE_BPS, HOUR, PAYMENT_REF, UNIT
from eth_utils import keccak

ACTION_MARK_PAID = 1
ACTION_RELEASE = 2
ACTION_CANCEL = 3
STATUS_OPEN = 1
STATUS_PAID = 2
STATUS_RELEASED = 3
STATUS_CANCELLED = 4
CANCEL_BY_BUYER = 1
ORDER_AMOUNT = 100 * UNIT
AD_AMOUNT = 1_000 * UNIT
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + HOUR


def relay(escrow, action, order_id, nonce, deadline, signature, relayer, payment_ref=PAYMENT_REF):
    if action == "MarkPaid":
        return escrow.relay_mark_paid(order_id, payment_ref, nonce, deadline, signature, sender=relayer)
    if action == "Release":
        return escrow.relay_release(order_id, nonce, deadline, signature, sender=relayer)
    return escrow.relay_cancel(order_id, nonce, deadline, signature, sender=relayer)


def signed(sign_action, account, action, order_id, nonce, deadline, payment_ref=PAYMENT_REF):
    return sign_action(account, action, order_id, nonce, deadline, payment_ref if action == "MarkPaid" else None)


def to_compact(signature):
    """EIP-2098 form (r, yParity|s) of a 65-byte signature."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + ((1 if v == 28 else 0) << 255 | s).to_bytes(32, "big")


# ------------------------------------------------------------ mark_paid


def test_relay_mark_paid__valid(escrow, order_id, buyer, node, sign_action, deadline):
    assert escrow.nonces(buyer) == 0
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    tx = escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)

    assert tx.events == [
        escrow.ActionRelayed(order_id=order_id, signer=buyer, relayer=node, action=ACTION_MARK_PAID, nonce=0),
        escrow.OrderPaid(order_id=order_id, buyer=buyer, payment_ref=PAYMENT_REF),
    ]
    order = escrow.orders(order_id)
    assert order.status == STATUS_PAID
    assert order.paid_at == tx.timestamp
    assert escrow.nonces(buyer) == 1


def test_relay_mark_paid__replay(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    with ape.reverts("otc_escrow: invalid nonce"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    # The compact (EIP-2098) form of the same signature is refused as well.
    with ape.reverts("otc_escrow: invalid nonce"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, to_compact(signature), sender=node)
    assert escrow.nonces(buyer) == 1


def test_relay_mark_paid__expired(escrow, order_id, buyer, node, sign_action, chain):
    deadline = chain.pending_timestamp - 1
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    with ape.reverts("otc_escrow: signature expired"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    assert escrow.nonces(buyer) == 0
    assert escrow.orders(order_id).status == STATUS_OPEN


def test_relay_mark_paid__deadline_is_inclusive(escrow, order_id, buyer, node, sign_action, chain):
    deadline = chain.pending_timestamp + 100
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    chain.pending_timestamp = deadline
    tx = escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    assert tx.timestamp == deadline
    assert escrow.orders(order_id).status == STATUS_PAID


def test_relay_mark_paid__expires_as_time_moves(escrow, order_id, buyer, node, sign_action, chain):
    deadline = chain.pending_timestamp + 100
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    chain.mine(timestamp=deadline + 1)
    with ape.reverts("otc_escrow: signature expired"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)


@pytest.mark.parametrize("signer_name", ["other", "seller", "node"])
def test_relay_mark_paid__wrong_key(escrow, order_id, node, sign_action, deadline, request, signer_name):
    signer = request.getfixturevalue(signer_name)
    signature = signed(sign_action, signer, "MarkPaid", order_id, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    assert escrow.orders(order_id).status == STATUS_OPEN


def test_relay_mark_paid__tampered_fields(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_mark_paid(order_id, keccak(text="another payment"), 0, deadline, signature, sender=node)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline + 1, signature, sender=node)
    assert escrow.nonces(buyer) == 0


def test_relay_mark_paid__signature_for_another_order(
    escrow, ad_id, order_id, open_order, buyer, node, sign_action, deadline
):
    second = open_order(ad_id)
    signature = signed(sign_action, buyer, "MarkPaid", second, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    escrow.relay_mark_paid(second, PAYMENT_REF, 0, deadline, signature, sender=node)
    assert escrow.orders(second).status == STATUS_PAID
    assert escrow.orders(order_id).status == STATUS_OPEN


def test_relay_mark_paid__other_action_signature(escrow, order_id, buyer, node, sign_action, deadline):
    # A Cancel signature does not authorize MarkPaid (different type hash).
    signature = signed(sign_action, buyer, "Cancel", order_id, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)


def test_relay_mark_paid__future_nonce(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 1, deadline)
    with ape.reverts("otc_escrow: invalid nonce"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 1, deadline, signature, sender=node)


def test_relay_mark_paid__compact_signature(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    tx = escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, to_compact(signature), sender=node)
    assert escrow.OrderPaid(order_id=order_id, buyer=buyer, payment_ref=PAYMENT_REF) in tx.events
    # And the 65-byte form cannot be replayed afterwards.
    with ape.reverts("otc_escrow: invalid nonce"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=node)


def test_relay_mark_paid__high_s_refused(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    s = int.from_bytes(signature[32:64], "big")
    flipped = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with ape.reverts("ecdsa: invalid signature `s` value"):
        escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, flipped, sender=node)


def test_relay_mark_paid__state_rules_still_apply(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline, payment_ref=b"\x00" * 32)
    with ape.reverts("otc_escrow: empty payment reference"):
        escrow.relay_mark_paid(order_id, b"\x00" * 32, 0, deadline, signature, sender=node)
    assert escrow.nonces(buyer) == 0


def test_relay_mark_paid__already_paid(escrow, paid_order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", paid_order_id, 0, deadline)
    with ape.reverts("otc_escrow: order not open"):
        escrow.relay_mark_paid(paid_order_id, PAYMENT_REF, 0, deadline, signature, sender=node)
    # The reverted relay did not burn the nonce.
    assert escrow.nonces(buyer) == 0


def test_relay_mark_paid__unknown_order(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id + 1, 0, deadline)
    with ape.reverts("otc_escrow: unknown order"):
        escrow.relay_mark_paid(order_id + 1, PAYMENT_REF, 0, deadline, signature, sender=node)


# -------------------------------------------------------------- release


def test_relay_release__valid(escrow, token, paid_order_id, ad_id, seller, buyer, node, sign_action, deadline):
    buyer_before = token.balanceOf(buyer)
    seller_before = token.balanceOf(seller)
    escrow_before = token.balanceOf(escrow)
    fee = ORDER_AMOUNT * FEE_BPS // 10_000
    assert escrow.nonces(seller) == 0

    signature = signed(sign_action, seller, "Release", paid_order_id, 0, deadline)
    tx = escrow.relay_release(paid_order_id, 0, deadline, signature, sender=node)

    assert tx.decode_logs(escrow.ActionRelayed) == [
        escrow.ActionRelayed(order_id=paid_order_id, signer=seller, relayer=node, action=ACTION_RELEASE, nonce=0)
    ]
    assert tx.decode_logs(escrow.OrderReleased) == [
        escrow.OrderReleased(order_id=paid_order_id, seller=seller, buyer=buyer, amount=ORDER_AMOUNT, fee=fee)
    ]
    assert token.Transfer(sender=escrow, receiver=buyer, value=ORDER_AMOUNT - fee) in tx.events
    assert escrow.orders(paid_order_id).status == STATUS_RELEASED
    assert token.balanceOf(buyer) == buyer_before + ORDER_AMOUNT - fee
    assert token.balanceOf(seller) == seller_before
    assert token.balanceOf(escrow) == escrow_before - ORDER_AMOUNT + fee
    assert escrow.accrued_fees(token) == fee
    ad = escrow.ads(ad_id)
    assert ad.locked == 0
    assert ad.available == AD_AMOUNT - ORDER_AMOUNT
    assert escrow.nonces(seller) == 1
    assert escrow.nonces(buyer) == 0


def test_relay_release__open_order(escrow, order_id, seller, node, sign_action, deadline):
    # The seller may release before the buyer marks paid, by relay too.
    signature = signed(sign_action, seller, "Release", order_id, 0, deadline)
    tx = escrow.relay_release(order_id, 0, deadline, signature, sender=node)
    assert len(tx.decode_logs(escrow.OrderReleased)) == 1
    assert escrow.orders(order_id).status == STATUS_RELEASED


def test_relay_release__replay(escrow, paid_order_id, seller, node, sign_action, deadline):
    signature = signed(sign_action, seller, "Release", paid_order_id, 0, deadline)
    escrow.relay_release(paid_order_id, 0, deadline, signature, sender=node)
    with ape.reverts("otc_escrow: invalid nonce"):
        escrow.relay_release(paid_order_id, 0, deadline, signature, sender=node)
    assert escrow.nonces(seller) == 1


def test_relay_release__expired(escrow, paid_order_id, seller, node, sign_action, chain):
    deadline = chain.pending_timestamp + 60
    signature = signed(sign_action, seller, "Release", paid_order_id, 0, deadline)
    chain.mine(timestamp=deadline + 1)
    with ape.reverts("otc_escrow: signature expired"):
        escrow.relay_release(paid_order_id, 0, deadline, signature, sender=node)
    assert escrow.orders(paid_order_id).status == STATUS_PAID


@pytest.mark.parametrize("signer_name", ["buyer", "other", "admin"])
def test_relay_release__wrong_key(escrow, paid_order_id, node, sign_action, deadline, request, signer_name):
    signer = request.getfixturevalue(signer_name)
    signature = signed(sign_action, signer, "Release", paid_order_id, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_release(paid_order_id, 0, deadline, signature, sender=node)
    assert escrow.orders(paid_order_id).status == STATUS_PAID


def test_relay_release__cancel_signature_refused(escrow, paid_order_id, seller, node, sign_action, deadline):
    signature = signed(sign_action, seller, "Cancel", paid_order_id, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_release(paid_order_id, 0, deadline, signature, sender=node)


def test_relay_release__cancelled_order(escrow, order_id, buyer, seller, node, sign_action, deadline):
    escrow.cancel(order_id, sender=buyer)
    signature = signed(sign_action, seller, "Release", order_id, 0, deadline)
    with ape.reverts("otc_escrow: order not releasable"):
        escrow.relay_release(order_id, 0, deadline, signature, sender=node)
    assert escrow.nonces(seller) == 0


# --------------------------------------------------------------- cancel


@pytest.mark.parametrize("paid", [False, True])
def test_relay_cancel__valid(escrow, token, order_id, ad_id, buyer, node, sign_action, deadline, paid):
    nonce = 0
    if paid:
        escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    buyer_before = token.balanceOf(buyer)
    escrow_before = token.balanceOf(escrow)

    signature = signed(sign_action, buyer, "Cancel", order_id, nonce, deadline)
    tx = escrow.relay_cancel(order_id, nonce, deadline, signature, sender=node)

    assert tx.events == [
        escrow.ActionRelayed(order_id=order_id, signer=buyer, relayer=node, action=ACTION_CANCEL, nonce=nonce),
        escrow.OrderCancelled(order_id=order_id, by=buyer, reason=CANCEL_BY_BUYER),
    ]
    assert escrow.orders(order_id).status == STATUS_CANCELLED
    ad = escrow.ads(ad_id)
    assert ad.locked == 0
    assert ad.available == AD_AMOUNT
    assert token.balanceOf(buyer) == buyer_before
    assert token.balanceOf(escrow) == escrow_before
    assert escrow.nonces(buyer) == nonce + 1


def test_relay_cancel__replay(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "Cancel", order_id, 0, deadline)
    escrow.relay_cancel(order_id, 0, deadline, signature, sender=node)
    with ape.reverts("otc_escrow: invalid nonce"):
        escrow.relay_cancel(order_id, 0, deadline, signature, sender=node)


def test_relay_cancel__expired(escrow, order_id, buyer, node, sign_action, chain):
    deadline = chain.pending_timestamp - 1
    signature = signed(sign_action, buyer, "Cancel", order_id, 0, deadline)
    with ape.reverts("otc_escrow: signature expired"):
        escrow.relay_cancel(order_id, 0, deadline, signature, sender=node)
    assert escrow.orders(order_id).status == STATUS_OPEN


@pytest.mark.parametrize("signer_name", ["seller", "other"])
def test_relay_cancel__wrong_key(escrow, order_id, node, sign_action, deadline, request, signer_name):
    signer = request.getfixturevalue(signer_name)
    signature = signed(sign_action, signer, "Cancel", order_id, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_cancel(order_id, 0, deadline, signature, sender=node)
    assert escrow.orders(order_id).status == STATUS_OPEN


def test_relay_cancel__release_signature_refused(escrow, order_id, buyer, node, sign_action, deadline):
    signature = signed(sign_action, buyer, "Release", order_id, 0, deadline)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_cancel(order_id, 0, deadline, signature, sender=node)


def test_relay_cancel__garbage_signature(escrow, order_id, node, deadline):
    # r = 0 has no point: ecrecover yields the zero address.
    with ape.reverts("ecdsa: invalid signature"):
        escrow.relay_cancel(order_id, 0, deadline, b"\x00" * 32 + b"\x02" * 32 + b"\x1b", sender=node)
    # A well-formed signature of some other digest recovers a stranger.
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_cancel(order_id, 0, deadline, b"\x01" * 32 + b"\x02" * 32 + b"\x1b", sender=node)
    with ape.reverts("otc_escrow: invalid signature"):
        escrow.relay_cancel(order_id, 0, deadline, b"", sender=node)


# ---------------------------------------------------------------- relayer


@pytest.mark.parametrize("action", ["MarkPaid", "Release", "Cancel"])
@pytest.mark.parametrize("relayer_name", ["other", "buyer", "seller"])
def test_relay__relayer_not_authorized(
    escrow, order_id, buyer, seller, sign_action, deadline, request, action, relayer_name
):
    relayer = request.getfixturevalue(relayer_name)
    signer = seller if action == "Release" else buyer
    signature = signed(sign_action, signer, action, order_id, 0, deadline)
    with ape.reverts("otc_escrow: relayer not authorized"):
        relay(escrow, action, order_id, 0, deadline, signature, relayer)
    assert escrow.orders(order_id).status == STATUS_OPEN
    assert escrow.nonces(signer) == 0


@pytest.mark.parametrize("action", ["MarkPaid", "Release", "Cancel"])
def test_relay__revoked_node(
    escrow, node_registry, admin, order_id, buyer, seller, node, sign_action, deadline, action
):
    node_registry.propose_revocation(node, "compromised host", sender=admin)
    assert not node_registry.is_authorized(node)
    signer = seller if action == "Release" else buyer
    signature = signed(sign_action, signer, action, order_id, 0, deadline)
    with ape.reverts("otc_escrow: relayer not authorized"):
        relay(escrow, action, order_id, 0, deadline, signature, node)
    assert escrow.orders(order_id).status == STATUS_OPEN
    assert escrow.nonces(signer) == 0


def test_relay__newly_admitted_node(escrow, node_registry, admin, other, order_id, buyer, sign_action, deadline):
    signature = signed(sign_action, buyer, "Cancel", order_id, 0, deadline)
    with ape.reverts("otc_escrow: relayer not authorized"):
        escrow.relay_cancel(order_id, 0, deadline, signature, sender=other)
    node_registry.propose_node(other, "http://node-2:8000", keccak(text="hw2"), keccak(text="c2"), sender=admin)
    tx = escrow.relay_cancel(order_id, 0, deadline, signature, sender=other)
    assert (
        escrow.ActionRelayed(order_id=order_id, signer=buyer, relayer=other, action=ACTION_CANCEL, nonce=0) in tx.events
    )


def test_relay__authority_may_relay(escrow, admin, order_id, buyer, sign_action, deadline):
    signature = signed(sign_action, buyer, "MarkPaid", order_id, 0, deadline)
    tx = escrow.relay_mark_paid(order_id, PAYMENT_REF, 0, deadline, signature, sender=admin)
    assert (
        escrow.ActionRelayed(order_id=order_id, signer=buyer, relayer=admin, action=ACTION_MARK_PAID, nonce=0)
        in tx.events
    )


def test_relay__authorization_checked_before_signature(escrow, order_id, other, deadline):
    with ape.reverts("otc_escrow: relayer not authorized"):
        escrow.relay_cancel(order_id, 5, deadline, b"", sender=other)


# ----------------------------------------------------------------- nonces


def test_nonces__increment_per_signer(escrow, ad_id, open_order, buyer, seller, node, sign_action, deadline):
    first = open_order(ad_id)
    second = open_order(ad_id)
    third = open_order(ad_id)
    assert (escrow.nonces(buyer), escrow.nonces(seller)) == (0, 0)

    escrow.relay_mark_paid(
        first, PAYMENT_REF, 0, deadline, signed(sign_action, buyer, "MarkPaid", first, 0, deadline), sender=node
    )
    assert (escrow.nonces(buyer), escrow.nonces(seller)) == (1, 0)

    escrow.relay_release(first, 0, deadline, signed(sign_action, seller, "Release", first, 0, deadline), sender=node)
    assert (escrow.nonces(buyer), escrow.nonces(seller)) == (1, 1)

    tx = escrow.relay_cancel(
        second, 1, deadline, signed(sign_action, buyer, "Cancel", second, 1, deadline), sender=node
    )
    assert escrow.ActionRelayed(order_id=second, signer=buyer, relayer=node, action=ACTION_CANCEL, nonce=1) in tx.events
    assert (escrow.nonces(buyer), escrow.nonces(seller)) == (2, 1)

    escrow.relay_mark_paid(
        third, PAYMENT_REF, 2, deadline, signed(sign_action, buyer, "MarkPaid", third, 2, deadline), sender=node
    )
    escrow.relay_release(third, 1, deadline, signed(sign_action, seller, "Release", third, 1, deadline), sender=node)
    assert (escrow.nonces(buyer), escrow.nonces(seller)) == (3, 2)
    assert escrow.orders(first).status == STATUS_RELEASED
    assert escrow.orders(second).status == STATUS_CANCELLED
    assert escrow.orders(third).status == STATUS_RELEASED


def test_nonces__old_nonce_refused_on_other_order(escrow, ad_id, open_order, buyer, node, sign_action, deadline):
    first = open_order(ad_id)
    second = open_order(ad_id)
    sig_first = signed(sign_action, buyer, "MarkPaid", first, 0, deadline)
    sig_second = signed(sign_action, buyer, "MarkPaid", second, 0, deadline)
    escrow.relay_mark_paid(first, PAYMENT_REF, 0, deadline, sig_first, sender=node)
    # Signed with the same nonce for another order: consumed already.
    with ape.reverts("otc_escrow: invalid nonce"):
        escrow.relay_mark_paid(second, PAYMENT_REF, 0, deadline, sig_second, sender=node)


def test_nonces__direct_calls_do_not_use_nonces(escrow, order_id, buyer, seller):
    escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    escrow.release(order_id, sender=seller)
    assert escrow.nonces(buyer) == 0
    assert escrow.nonces(seller) == 0


def test_domain_separator__matches_signer(escrow, chain):
    from eth_abi import encode

    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [type_hash, keccak(text="Sentinel OTC"), keccak(text="1"), chain.chain_id, escrow.address],
        )
    )
    assert escrow.domain_separator() == expected
