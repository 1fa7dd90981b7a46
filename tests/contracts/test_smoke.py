from conftest import PAYMENT_REF, UNIT


def test_trade__happy_path(escrow, token, seller, buyer, order_id):
    before = token.balanceOf(buyer)
    escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    tx = escrow.release(order_id, sender=seller)
    fee = 100 * UNIT * 50 // 10_000
    assert token.balanceOf(buyer) == before + 100 * UNIT - fee
    assert escrow.orders(order_id).status == 3
    print("gas", tx.gas_used)
