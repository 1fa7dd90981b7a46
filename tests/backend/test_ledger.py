"""The ledger API and settlement by the chain: top-up, pay an order from the desk balance,
mark paid, and the escrow's outcome (release, cancel, ruling) moves the money once."""

import uuid

import pytest
from conftest import PRICE, UNIT
from sqlmodel import select

from backend.chain.models import ChainIncident
from backend.ledger import service
from backend.ledger.models import LedgerTransfer
from backend.projections import all_projections

DESK = 1 << service.DESK_BALANCE_BIT
BANK_AND_DESK = 0b1 | DESK
TOTAL = 100 * PRICE  # 100 tokens at 7.25 USD: 725.00 USD = 72,500 cents


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def as_buyer(login_as, buyer):
    return login_as(buyer)


@pytest.fixture
def as_seller(login_as, seller):
    return login_as(seller)


@pytest.fixture
def topup(client):
    def top(headers, amount, currency="USD"):
        response = client.post(
            "/api/ledger/topup", json={"id": key(), "currency": currency, "amount": amount}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    return top


def balance(client, headers, currency="USD"):
    accounts = {a["currency"]: a for a in client.get("/api/ledger/accounts", headers=headers).json()}
    return accounts.get(currency)


def books_ok(client, login_as, admin):
    report = client.get("/api/ledger/admin/check", headers=login_as(admin, roles=("admin",))).json()
    assert report["ok"], report
    return report


@pytest.fixture
def desk_order(create_ad, open_order, sync):
    def make(amount=100 * UNIT):
        order_id = open_order(create_ad(payment_methods=BANK_AND_DESK), amount)
        sync()
        return order_id

    return make


@pytest.fixture
def pay(client):
    def pay_(order_id, headers):
        response = client.post(f"/api/ledger/orders/{order_id}/pay", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    return pay_


# ------------------------------------------------------------------ bank


def test_topup_and_withdraw__balances_and_history(client, as_buyer, topup, login_as, admin):
    topup(as_buyer, 50_000)
    response = client.post(
        "/api/ledger/withdraw", json={"id": key(), "currency": "USD", "amount": 20_000}, headers=as_buyer
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "posted" and response.json()["credit_owner"] == service.BANK
    account = balance(client, as_buyer)
    assert account["balance"] == account["available"] == 30_000
    history = client.get("/api/ledger/history", params={"currency": "usd"}, headers=as_buyer).json()
    assert [(e["direction"], e["posted_delta"], e["balance"]) for e in history["entries"]] == [
        ("out", -20_000, 30_000),
        ("in", 50_000, 50_000),
    ]
    books_ok(client, login_as, admin)


def test_topup__same_id_again_moves_money_once(client, as_buyer):
    body = {"id": key(), "currency": "USD", "amount": 1_000}
    first = client.post("/api/ledger/topup", json=body, headers=as_buyer).json()
    again = client.post("/api/ledger/topup", json=body, headers=as_buyer).json()
    assert first == again
    assert balance(client, as_buyer)["balance"] == 1_000
    changed = client.post("/api/ledger/topup", json={**body, "amount": 2_000}, headers=as_buyer)
    assert changed.status_code == 409 and "already used" in changed.json()["detail"]


@pytest.mark.parametrize(
    "amount, status, words",
    [
        (0, 422, "positive"),
        (-5, 422, "positive"),
        (10**39, 422, "too large"),
        ("ten", 422, "integer"),
    ],
)
def test_topup__bad_amounts_refused(client, as_buyer, amount, status, words):
    response = client.post(
        "/api/ledger/topup", json={"id": key(), "currency": "USD", "amount": amount}, headers=as_buyer
    )
    assert response.status_code == status and words in response.json()["detail"], response.text
    assert balance(client, as_buyer) is None


def test_topup__bad_currency_and_id_refused(client, as_buyer):
    bad_currency = client.post(
        "/api/ledger/topup", json={"id": key(), "currency": "U1D", "amount": 5}, headers=as_buyer
    )
    assert bad_currency.status_code == 422 and "currency" in bad_currency.json()["detail"]
    bad_id = client.post("/api/ledger/topup", json={"id": "x", "currency": "USD", "amount": 5}, headers=as_buyer)
    assert bad_id.status_code == 422 and "id" in bad_id.json()["detail"]


def test_withdraw__overdraft_refused(client, as_buyer, topup):
    topup(as_buyer, 100)
    response = client.post(
        "/api/ledger/withdraw", json={"id": key(), "currency": "USD", "amount": 101}, headers=as_buyer
    )
    assert response.status_code == 409 and "insufficient funds" in response.json()["detail"]
    assert balance(client, as_buyer)["balance"] == 100


def test_ledger__needs_sign_in(client):
    assert client.get("/api/ledger/accounts").status_code == 401
    assert client.post("/api/ledger/topup", json={"id": key(), "currency": "USD", "amount": 1}).status_code == 401


def test_admin_routes__staff_only(client, as_buyer):
    assert client.get("/api/ledger/admin/check", headers=as_buyer).status_code == 403
    assert client.get("/api/ledger/admin/accounts", headers=as_buyer).status_code == 403


def test_admin_transfer__refusals_are_clear(client, login_as, admin, as_buyer, topup):
    staff = login_as(admin, roles=("admin",))
    topup(as_buyer, 1_000)
    topup(as_buyer, 1_000, currency="EUR")
    accounts = {a["currency"]: a["id"] for a in client.get("/api/ledger/accounts", headers=as_buyer).json()}
    bank = {
        a["currency"]: a["id"]
        for a in client.get("/api/ledger/admin/accounts", headers=staff).json()
        if a["owner"] == service.BANK
    }

    def send(**body):
        return client.post("/api/ledger/admin/transfers", json={"id": key(), **body}, headers=staff)

    unknown = send(debit_account_id=bank["USD"], credit_account_id=99_999, amount=5)
    assert unknown.status_code == 404 and "does not exist" in unknown.json()["detail"]
    mismatch = send(debit_account_id=accounts["USD"], credit_account_id=bank["EUR"], amount=5)
    assert mismatch.status_code == 409 and "currency mismatch" in mismatch.json()["detail"]
    overdraft = send(debit_account_id=accounts["USD"], credit_account_id=bank["USD"], amount=1_001)
    assert overdraft.status_code == 409 and "insufficient" in overdraft.json()["detail"]

    pending = send(
        kind="pending", debit_account_id=accounts["USD"], credit_account_id=bank["USD"], amount=400, timeout=60
    )
    assert pending.status_code == 200 and pending.json()["status"] == "pending"
    pending_id = pending.json()["id"]
    assert balance(client, as_buyer)["available"] == 600
    void = send(kind="void_pending", pending_id=pending_id)
    assert void.status_code == 200 and void.json()["status"] == "voided"
    post_voided = send(kind="post_pending", pending_id=pending_id)
    assert post_voided.status_code == 409 and "already voided" in post_voided.json()["detail"]
    missing = send(kind="post_pending", pending_id="nope")
    assert missing.status_code == 404
    assert balance(client, as_buyer)["available"] == 1_000

    history = client.get(f"/api/ledger/admin/accounts/{accounts['USD']}/history", headers=staff).json()
    assert history["account"]["balance"] == 1_000 and len(history["entries"]) == 3
    books_ok(client, login_as, admin)


# ------------------------------------------------------------ settlement


def test_desk_trade__release_posts_the_payment(
    client, escrow, sync, desk_order, pay, topup, as_buyer, as_seller, buyer, seller, login_as, admin
):
    order_id = desk_order()
    topup(as_buyer, 100_000)
    paid = pay(order_id, as_buyer)
    assert paid["fiat_total_minor"] == TOTAL and paid["transfer"]["status"] == "pending"
    assert paid["payment_ref"] == service.payment_reference(paid["transfer"]["id"])
    assert pay(order_id, as_buyer)["transfer"]["id"] == paid["transfer"]["id"]  # paying twice: the same hold
    assert balance(client, as_buyer)["available"] == 100_000 - TOTAL
    assert balance(client, as_seller)["incoming"] == TOTAL

    escrow.mark_paid(order_id, paid["payment_ref"], sender=buyer)
    sync()
    seen = client.get(f"/api/ledger/orders/{order_id}", headers=as_seller).json()
    assert seen["transfer"]["status"] == "pending" and seen["transfer"]["amount"] == TOTAL

    escrow.release(order_id, sender=seller)
    sync()
    assert client.get(f"/api/ledger/transfers/{paid['transfer']['id']}", headers=as_buyer).json()["status"] == "posted"
    assert balance(client, as_buyer)["balance"] == 100_000 - TOTAL
    assert balance(client, as_seller)["available"] == TOTAL

    # A replay of every projection (what a reorg does) moves nothing again.
    state = client.app.state
    from sqlmodel import Session

    with Session(state.engine) as session:
        all_projections().rebuild(session, on_missing=lambda *_: None)
        session.commit()
    sync()
    assert balance(client, as_seller)["available"] == TOTAL
    assert balance(client, as_buyer)["balance"] == 100_000 - TOTAL
    books_ok(client, login_as, admin)


def test_desk_trade__cancel_returns_the_money(client, escrow, sync, desk_order, pay, topup, as_buyer, as_seller, buyer):
    order_id = desk_order()
    topup(as_buyer, TOTAL)
    paid = pay(order_id, as_buyer)
    assert balance(client, as_buyer)["available"] == 0
    escrow.cancel(order_id, sender=buyer)
    sync()
    assert client.get(f"/api/ledger/transfers/{paid['transfer']['id']}", headers=as_buyer).json()["status"] == "voided"
    assert balance(client, as_buyer)["available"] == TOTAL
    assert balance(client, as_seller)["balance"] == 0 and balance(client, as_seller)["incoming"] == 0


def test_desk_trade__ruling_splits_the_money(
    client, escrow, sync, desk_order, pay, topup, as_buyer, as_seller, buyer, admin, login_as
):
    order_id = desk_order()
    topup(as_buyer, TOTAL)
    paid = pay(order_id, as_buyer)
    escrow.mark_paid(order_id, paid["payment_ref"], sender=buyer)
    escrow.open_dispute(order_id, b"\x01" * 32, sender=buyer)
    escrow.resolve_dispute(order_id, 2_500, sender=admin)  # the buyer gets 25 % of the tokens
    sync()
    assert balance(client, as_seller)["available"] == TOTAL // 4
    assert balance(client, as_buyer)["available"] == TOTAL - TOTAL // 4
    books_ok(client, login_as, admin)


def test_pay__refusals(
    client, escrow, sync, create_ad, open_order, desk_order, topup, as_buyer, as_seller, login_as, other
):
    bank_only = open_order(create_ad(payment_methods=0b1), 100 * UNIT)
    sync()
    refused = client.post(f"/api/ledger/orders/{bank_only}/pay", headers=as_buyer)
    assert refused.status_code == 409 and "does not accept the desk balance" in refused.json()["detail"]

    order_id = desk_order()
    poor = client.post(f"/api/ledger/orders/{order_id}/pay", headers=as_buyer)
    assert poor.status_code == 409 and "insufficient funds" in poor.json()["detail"]
    not_buyer = client.post(f"/api/ledger/orders/{order_id}/pay", headers=as_seller)
    assert not_buyer.status_code == 403
    assert client.post("/api/ledger/orders/999999/pay", headers=as_buyer).status_code == 404
    stranger = login_as(other)
    assert client.get(f"/api/ledger/orders/{order_id}", headers=stranger).status_code == 403


def test_reorg__dropped_settlement_is_a_critical_incident(
    client, db, chain, escrow, sync, desk_order, pay, topup, as_buyer, as_seller, buyer, seller
):
    order_id = desk_order()
    topup(as_buyer, TOTAL)
    paid = pay(order_id, as_buyer)
    escrow.mark_paid(order_id, paid["payment_ref"], sender=buyer)
    sync()
    snapshot = chain.snapshot()
    escrow.release(order_id, sender=seller)
    sync()
    assert balance(client, as_seller)["available"] == TOTAL

    chain.restore(snapshot)  # the release is gone from the chain
    chain.mine(3)
    sync()
    # The money stays where the ledger put it, and staff hear of it.
    assert balance(client, as_seller)["available"] == TOTAL
    incidents = db.exec(select(ChainIncident).where(ChainIncident.kind == "ledger_reorg")).all()
    assert len(incidents) == 1 and incidents[0].detail.startswith("CRITICAL")
    settlement = db.exec(select(LedgerTransfer).where(LedgerTransfer.code == "settlement")).one()
    assert incidents[0].tx_hash == settlement.event_tx
