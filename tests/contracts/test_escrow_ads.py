import ape
from conftest import PAYMENT_REF, UNIT, PRICE, USD, HOUR, TERMS_HASH, METHODS


def test_probe(escrow, token, seller, buyer, ad_id, chain):
    ad = escrow.ads(ad_id)
    print(type(ad), ad, ad.fiat, ad.active)
    tx = escrow.open_order(ad_id, 100 * UNIT, PRICE, sender=buyer)
    print(tx.events)
    print(tx.timestamp, chain.pending_timestamp, chain.blocks.head.timestamp)
    o = escrow.orders(1)
    print(o)
    assert tx.events.filter(escrow.OrderOpened) == [escrow.OrderOpened(order_id=1, ad_id=ad_id, buyer=buyer, seller=seller, amount=100*UNIT, price=PRICE, deadline=tx.timestamp + HOUR)]
    chain.pending_timestamp += 2 * HOUR
    print(chain.pending_timestamp, chain.blocks.head.timestamp)
    with ape.reverts("otc_escrow: payment deadline passed"):
        escrow.mark_paid(1, PAYMENT_REF, sender=buyer)
    with ape.reverts("access_control: account is missing role"):
        escrow.set_fee(1, sender=buyer)
    ev = tx.decode_logs(escrow.OrderOpened)[0]
    print(ev.seller == seller, type(ev.seller))
    e2 = escrow.create_ad(token, UNIT * 10, PRICE, USD, UNIT, UNIT*10, HOUR, METHODS, TERMS_HASH, sender=seller).decode_logs(escrow.AdCreated)[0]
    print(e2, e2.fiat, e2.terms_hash)
