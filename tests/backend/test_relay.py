"""Relay: prepare an EIP-712 action, sign it with the user's key, submit it gaslessly."""

import pytest
from conftest import UNIT
from eth_account import Account
from eth_account.messages import encode_typed_data

REF = "0x" + "5a" * 32


def sign(account, typed_data) -> str:
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), account.private_key)
    return signed.signature.to_0x_hex()


@pytest.fixture
def relay(client):
    """prepare + sign + submit; returns (submit response, submitted body)."""

    def run(action, order_id, account, *, payment_ref=None, tamper=None):
        body = {"action": action, "order_id": order_id}
        if payment_ref:
            body["payment_ref"] = payment_ref
        prepared = client.post("/api/relay/prepare", json=body)
        assert prepared.status_code == 200, prepared.text
        prepared = prepared.json()
        typed = prepared["typed_data"]
        if tamper:
            tamper(typed)
        submit = {
            **body,
            "nonce": int(typed["message"]["nonce"]),
            "deadline": int(typed["message"]["deadline"]),
            "signature": sign(account, typed),
        }
        return client.post("/api/relay/submit", json=submit), submit

    return run


@pytest.fixture
def order_id(create_ad, open_order):
    return open_order(create_ad(), 100 * UNIT)


def test_prepare__typed_data_for_the_buyer(client, chain, escrow, order_id, buyer):
    response = client.post("/api/relay/prepare", json={"action": "mark_paid", "order_id": order_id, "payment_ref": REF})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["signer"] == buyer.address and body["nonce"] == 0
    now = chain.blocks.head.timestamp
    assert now + 590 <= body["deadline"] <= now + 610
    typed = body["typed_data"]
    assert typed["primaryType"] == "MarkPaid"
    assert typed["domain"] == {
        "name": "Sentinel OTC",
        "version": "1",
        "chainId": chain.chain_id,
        "verifyingContract": escrow.address,
    }
    assert typed["message"] == {
        "orderId": str(order_id),
        "paymentRef": REF,
        "nonce": "0",
        "deadline": str(body["deadline"]),
    }
    assert [f["name"] for f in typed["types"]["EIP712Domain"]] == ["name", "version", "chainId", "verifyingContract"]


def test_prepare__release_is_signed_by_the_seller(client, order_id, seller):
    body = client.post("/api/relay/prepare", json={"action": "release", "order_id": order_id}).json()
    assert body["signer"] == seller.address and body["typed_data"]["primaryType"] == "Release"
    assert set(body["typed_data"]["message"]) == {"orderId", "nonce", "deadline"}


def test_relay__mark_paid(client, relay, escrow, order_id, buyer, relayer):
    response, _ = relay("mark_paid", order_id, buyer, payment_ref=REF)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "mined" and result["block_number"] and result["tx_hash"].startswith("0x")
    assert result["signer"] == buyer.address and result["relayer"] == relayer.address
    assert result["node"] == relayer.address and result["endpoint"] is None  # the desk's own key
    order = escrow.orders(order_id)
    assert order.status == 2  # PAID
    assert escrow.nonces(buyer) == 1


def test_relay__release(relay, escrow, token, order_id, buyer, seller):
    escrow.mark_paid(order_id, bytes.fromhex(REF[2:]), sender=buyer)
    before = token.balanceOf(buyer)
    response, _ = relay("release", order_id, seller)
    assert response.status_code == 200, response.text
    assert escrow.orders(order_id).status == 3  # RELEASED
    assert escrow.nonces(seller) == 1 and escrow.nonces(buyer) == 0
    fee = 100 * UNIT * 25 // 10_000
    assert token.balanceOf(buyer) - before == 100 * UNIT - fee


def test_relay__cancel(relay, escrow, order_id, buyer):
    response, _ = relay("cancel", order_id, buyer)
    assert response.status_code == 200, response.text
    assert escrow.orders(order_id).status == 4  # CANCELLED
    assert escrow.nonces(buyer) == 1


def test_relay__replay_refused_without_gas(client, chain, relay, escrow, order_id, buyer, relayer):
    response, submitted = relay("mark_paid", order_id, buyer, payment_ref=REF)
    assert response.status_code == 200
    balance = chain.provider.get_balance(relayer.address)
    again = client.post("/api/relay/submit", json=submitted)
    assert again.status_code == 409
    assert "nonce already used" in again.json()["detail"]
    assert chain.provider.get_balance(relayer.address) == balance
    assert escrow.nonces(buyer) == 1


def test_relay__wrong_signer_refused_without_gas(chain, relay, escrow, order_id, other, relayer):
    balance = chain.provider.get_balance(relayer.address)
    response, _ = relay("mark_paid", order_id, other, payment_ref=REF)
    assert response.status_code == 400
    assert "signature is not from the order's buyer" in response.json()["detail"]
    assert chain.provider.get_balance(relayer.address) == balance
    assert escrow.orders(order_id).status == 1


def test_relay__release_signed_by_buyer_refused(relay, order_id, buyer):
    response, _ = relay("release", order_id, buyer)
    assert response.status_code == 400
    assert "signature is not from the order's seller" in response.json()["detail"]


def test_relay__expired_deadline_refused(client, chain, relay, escrow, order_id, buyer, relayer):
    def backdate(typed):
        typed["message"]["deadline"] = str(chain.blocks.head.timestamp - 1)

    balance = chain.provider.get_balance(relayer.address)
    response, _ = relay("cancel", order_id, buyer, tamper=backdate)
    assert response.status_code == 400
    assert "signature expired" in response.json()["detail"]
    assert chain.provider.get_balance(relayer.address) == balance
    assert escrow.orders(order_id).status == 1


def test_relay__deadline_passes_after_signing(client, chain, order_id, buyer):
    prepared = client.post("/api/relay/prepare", json={"action": "cancel", "order_id": order_id}).json()
    typed = prepared["typed_data"]
    chain.pending_timestamp += 3600
    chain.mine()
    body = {
        "action": "cancel",
        "order_id": order_id,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": sign(buyer, typed),
    }
    response = client.post("/api/relay/submit", json=body)
    assert response.status_code == 400 and "signature expired" in response.json()["detail"]


def test_relay__revert_reason_from_simulation(client, relay, escrow, order_id, buyer, seller):
    # Signed while the order was open, submitted after the seller released it.
    prepared = client.post("/api/relay/prepare", json={"action": "cancel", "order_id": order_id}).json()
    escrow.release(order_id, sender=seller)
    body = {
        "action": "cancel",
        "order_id": order_id,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": sign(buyer, prepared["typed_data"]),
    }
    response = client.post("/api/relay/submit", json=body)
    assert response.status_code == 409
    assert response.json()["detail"] == "otc_escrow: order not cancellable"


def test_relay__revoked_relayer_is_503(client, relay, node_registry, order_id, buyer, admin, relayer, accounts):
    node_registry.propose_revocation(relayer, "test", sender=admin)
    for authority in (accounts[7], accounts[8]):  # the quorum of the three local authorities
        node_registry.approve(node_registry.proposal_count(), sender=authority)
    assert not node_registry.is_authorized(relayer)
    response, _ = relay("mark_paid", order_id, buyer, payment_ref=REF)
    assert response.status_code == 503
    assert response.json()["detail"] == "otc_escrow: relayer not authorized"


def test_prepare__unknown_order_is_404(client):
    response = client.post("/api/relay/prepare", json={"action": "cancel", "order_id": 999})
    assert response.status_code == 404 and response.json()["detail"] == "order 999 not found on chain"


def test_prepare__ended_order_is_409(client, escrow, order_id, buyer):
    escrow.cancel(order_id, sender=buyer)
    response = client.post("/api/relay/prepare", json={"action": "release", "order_id": order_id})
    assert response.status_code == 409
    assert response.json()["detail"] == f"order {order_id} is cancelled: it cannot be released"


BAD_PREPARE = [
    ({"action": "mark_paid", "order_id": 1}, "payment_ref is required"),
    ({"action": "mark_paid", "order_id": 1, "payment_ref": "0x" + "00" * 32}, "payment_ref must not be zero"),
    ({"action": "mark_paid", "order_id": 1, "payment_ref": "0x1234"}, "not a 32-byte hash"),
    ({"action": "cancel", "order_id": 1, "payment_ref": REF}, "payment_ref is only for mark_paid"),
    ({"action": "dispute", "order_id": 1}, "action"),
    ({"action": "cancel", "order_id": 0}, "order_id"),
    ({"action": "cancel"}, "order_id"),
]


def test_prepare__bad_input_is_422(client):
    # One app for every case: each app start runs the migrations.
    for body, message in BAD_PREPARE:
        response = client.post("/api/relay/prepare", json=body)
        assert response.status_code == 422, body
        assert message in response.json()["detail"], (body, response.json())


def test_submit__malformed_signature_is_422(client):
    for signature in ["0x1234", "0x" + "zz" * 65, "ab" * 65, "0x" + "ab" * 64, "0x" + "ab" * 66, ""]:
        body = {"action": "cancel", "order_id": 1, "nonce": 0, "deadline": 2**40, "signature": signature}
        response = client.post("/api/relay/submit", json=body)
        assert response.status_code == 422, signature
        assert response.json()["detail"].startswith("signature:"), response.json()
    body = {"action": "cancel", "order_id": 1, "nonce": -1, "deadline": 2**40, "signature": "0x" + "ab" * 65}
    assert client.post("/api/relay/submit", json=body).status_code == 422


def test_submit__unrecoverable_signature_is_400(client, chain, order_id):
    body = {
        "action": "cancel",
        "order_id": order_id,
        "nonce": 0,
        "deadline": chain.blocks.head.timestamp + 600,
        "signature": "0x" + "00" * 65,
    }
    response = client.post("/api/relay/submit", json=body)
    assert response.status_code == 400 and "no signer can be recovered" in response.json()["detail"]


def test_submit__nonce_ahead_is_400(client, relay, order_id, buyer):
    def skip(typed):
        typed["message"]["nonce"] = "5"

    response, _ = relay("cancel", order_id, buyer, tamper=skip)
    assert response.status_code == 400 and "not the signer's next nonce" in response.json()["detail"]


def test_relay__concurrent_duplicates_pay_gas_once(client, chain, relay, escrow, order_id, buyer, relayer):
    from concurrent.futures import ThreadPoolExecutor

    prepared = client.post("/api/relay/prepare", json={"action": "cancel", "order_id": order_id}).json()
    body = {
        "action": "cancel",
        "order_id": order_id,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": sign(buyer, prepared["typed_data"]),
    }
    nonce_before = chain.provider.get_nonce(relayer.address)
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(
            r.status_code for r in pool.map(lambda _: client.post("/api/relay/submit", json=body), range(4))
        )
    assert statuses == [200, 409, 409, 409]
    assert chain.provider.get_nonce(relayer.address) == nonce_before + 1  # one transaction sent
    assert escrow.orders(order_id).status == 4


def test_prepare__chain_node_down_is_503(settings, token):
    from fastapi.testclient import TestClient

    from backend.main import create_app

    with TestClient(create_app(settings.model_copy(update={"rpc_url": "http://127.0.0.1:9"}))) as down:
        response = down.post("/api/relay/prepare", json={"action": "cancel", "order_id": 1})
    assert response.status_code == 503 and "unreachable" in response.json()["detail"]
