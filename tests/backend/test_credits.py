"""Payouts a token refused: the indexer keeps each account's withdrawable credit per token
(`PayoutCredited` / `CreditWithdrawn`), and `GET /api/me/credits` shows the signed-in
user their own. A real Anvil, a USDC-style token that blocklists the buyer."""

import pytest
from conftest import HOUR, PRICE, TERMS_HASH, UNIT, USD
from sqlmodel import Session

from backend.auth.models import User
from backend.auth.sessions import issue_session
from backend.market.models import Credit


@pytest.fixture
def blocklist_token(project, admin, escrow, kyc_registry, seller, buyer):
    contract = admin.deploy(project.BlocklistToken)
    escrow.set_token_allowed(contract, True, sender=admin)
    for account in (seller, buyer):
        contract.mint(account, 1_000 * UNIT, sender=account)
        contract.approve(escrow, 2**256 - 1, sender=account)
    return contract


@pytest.fixture
def released_to_blocked_buyer(escrow, blocklist_token, admin, seller, buyer):
    """An order on a blocklist-token ad, released while the buyer was blocklisted."""
    tx = escrow.create_ad(
        blocklist_token, 500 * UNIT, PRICE, USD, 10 * UNIT, 500 * UNIT, HOUR, 1, TERMS_HASH, sender=seller
    )
    ad_id = tx.decode_logs(escrow.AdCreated)[0].ad_id
    tx = escrow.open_order(ad_id, 100 * UNIT, PRICE, sender=buyer)
    order_id = tx.decode_logs(escrow.OrderOpened)[0].order_id
    blocklist_token.set_blocked(buyer, True, sender=admin)
    escrow.release(order_id, sender=seller)
    fee = 100 * UNIT * escrow.fee_bps() // 10_000
    return order_id, 100 * UNIT - fee


def test_credits__refused_payout_is_listed_for_its_owner(
    client, sync, login_as, db, escrow, blocklist_token, buyer, seller, released_to_blocked_buyer
):
    order_id, amount = released_to_blocked_buyer
    assert escrow.credits(buyer, blocklist_token) == amount
    sync()

    answer = client.get("/api/me/credits", headers=login_as(buyer))
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "token": blocklist_token.address,
            "amount": str(amount),
            "last_order_id": order_id,
            "updated_at": answer.json()[0]["updated_at"],
        }
    ]
    assert answer.json()[0]["updated_at"] > 0
    # The order itself ended as released, as on chain.
    order = client.get(f"/api/orders/{order_id}").json()
    assert order["status"] == "RELEASED"
    # Only the owner sees it.
    assert client.get("/api/me/credits", headers=login_as(seller)).json() == []


def test_credits__withdrawn_credit_disappears(
    client, sync, login_as, db, escrow, blocklist_token, admin, buyer, released_to_blocked_buyer
):
    _, amount = released_to_blocked_buyer
    blocklist_token.set_blocked(buyer, False, sender=admin)
    before = blocklist_token.balanceOf(buyer)
    escrow.withdraw_credit(blocklist_token, sender=buyer)
    assert blocklist_token.balanceOf(buyer) == before + amount
    sync()

    assert client.get("/api/me/credits", headers=login_as(buyer)).json() == []
    row = db.get(Credit, (buyer.address, blocklist_token.address))
    assert row is not None and row.amount == 0


def test_credits__add_up_and_survive_a_rebuild(
    client, sync, login_as, indexer, escrow, blocklist_token, seller, buyer, released_to_blocked_buyer
):
    _, first = released_to_blocked_buyer
    ad_id = escrow.ad_count()
    tx = escrow.open_order(ad_id, 50 * UNIT, PRICE, sender=buyer)
    escrow.release(tx.decode_logs(escrow.OrderOpened)[0].order_id, sender=seller)
    second = 50 * UNIT - 50 * UNIT * escrow.fee_bps() // 10_000
    sync()
    expected = str(first + second)
    assert [c["amount"] for c in client.get("/api/me/credits", headers=login_as(buyer)).json()] == [expected]
    assert escrow.credits(buyer, blocklist_token) == first + second

    with Session(client.app.state.engine) as session:
        indexer.projections.rebuild(session, on_missing=lambda *_: None)
        session.commit()
    assert [c["amount"] for c in client.get("/api/me/credits", headers=login_as(buyer)).json()] == [expected]


def test_credits__not_signed_in(client):
    answer = client.get("/api/me/credits")
    assert answer.status_code == 401
    assert answer.json()["detail"]


def test_credits__account_without_wallet(client):
    with Session(client.app.state.engine) as session:
        user = User(address=None, username="monitor-1", roles="monitor")
        session.add(user)
        session.commit()
        session.refresh(user)
        token, _ = issue_session(session, user=user, ttl_seconds=3600, method="password")
    answer = client.get("/api/me/credits", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400
    assert answer.json() == {"detail": "this account has no wallet address; sign in with a wallet"}
