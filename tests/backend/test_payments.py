"""Payment details sealed at rest and shown only to whom they concern; an ad's terms hash
that commits to them; the buyer's proof of payment whose hash is the order's payment_ref."""

import base64
import json
import os

import pytest
from conftest import HOUR, PRICE, UNIT, USD
from eth_utils import keccak
from sqlmodel import select

from backend.errors import DomainError
from backend.payments.crypto import Keyring
from backend.payments.models import PaymentDetail, PaymentProof
from backend.payments.service import canonical

BANK = {
    "bank_name": "Sandbox Bank",
    "holder": "Sam Seller",
    "account": "DE89 3704 0044 0532 0130 00",
    "note": "no crypto words",
}
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200)


@pytest.fixture
def as_seller(login_as, seller):
    return login_as(seller)


@pytest.fixture
def as_buyer(login_as, buyer):
    return login_as(buyer)


@pytest.fixture
def committed_order(client, escrow, token, seller, open_order, sync, as_seller):
    """An ad whose terms hash commits to the seller's bank details, and an open order on it."""

    def make():
        detail = client.post(
            "/api/payments/details", json={"method": 0, "label": "main", "fields": BANK}, headers=as_seller
        )
        assert detail.status_code == 200, detail.text
        terms = client.post(
            "/api/payments/terms",
            json={"text": "Pay within the hour.", "detail_ids": [detail.json()["id"]]},
            headers=as_seller,
        ).json()
        tx = escrow.create_ad(
            token, 1_000 * UNIT, PRICE, USD, 10 * UNIT, 500 * UNIT, HOUR, 0b1, terms["terms_hash"], sender=seller
        )
        ad_id = tx.decode_logs(escrow.AdCreated)[0].ad_id
        order_id = open_order(ad_id, 100 * UNIT)
        sync()
        return ad_id, order_id, detail.json()

    return make


def test_details__sealed_at_rest(client, db, as_seller):
    response = client.post("/api/payments/details", json={"method": 0, "fields": BANK}, headers=as_seller)
    assert response.status_code == 200 and response.json()["fields"]["account"] == BANK["account"]
    row = db.exec(select(PaymentDetail)).one()
    assert BANK["account"].encode() not in row.sealed and BANK["holder"].encode() not in row.sealed
    assert row.key_id == "k1"
    mine = client.get("/api/payments/details", headers=as_seller).json()
    assert [d["fields"]["holder"] for d in mine] == ["Sam Seller"]


def test_details__bad_input_refused(client, as_seller):
    nowhere = client.post("/api/payments/details", json={"method": 0, "fields": {"holder": "x"}}, headers=as_seller)
    assert nowhere.status_code == 422 and "somewhere to pay" in nowhere.json()["detail"]
    desk = client.post("/api/payments/details", json={"method": 6, "fields": BANK}, headers=as_seller)
    assert desk.status_code == 422 and "desk balance" in desk.json()["detail"]
    assert (
        client.post("/api/payments/details", json={"method": 64, "fields": BANK}, headers=as_seller).status_code == 422
    )
    assert client.post("/api/payments/details", json={"method": 0, "fields": BANK}).status_code == 401


def test_terms_hash__commits_to_the_details(client, committed_order, as_buyer):
    ad_id, order_id, detail = committed_order()
    commitment = client.get(f"/api/payments/ads/{ad_id}/commitment").json()
    assert commitment["matches"]
    assert "0x" + keccak(commitment["document"].encode()).hex() == commitment["terms_hash"]
    document = json.loads(commitment["document"])
    assert document["methods"] == [{"method": 0, "commitment": detail["commitment"]}]

    # The buyer can check each detail against the document: keccak(salt ‖ canonical(fields)).
    shown = client.get(f"/api/payments/orders/{order_id}/details", headers=as_buyer)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["committed"] and body["reference"] == f"OTC-{order_id}" and body["fiat_total_minor"] == 100 * PRICE
    (method,) = body["methods"]
    assert method["fields"]["account"] == BANK["account"] and method["label"] == ""
    recomputed = "0x" + keccak(bytes.fromhex(method["salt"]) + canonical(method["fields"])).hex()
    assert recomputed == document["methods"][0]["commitment"]


def test_order_details__only_the_buyer(client, escrow, sync, committed_order, as_seller, login_as, other, buyer):
    _, order_id, _ = committed_order()
    path = f"/api/payments/orders/{order_id}/details"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=login_as(other)).status_code == 403
    assert client.get(path, headers=as_seller).status_code == 403
    assert client.get("/api/payments/orders/999999/details", headers=login_as(buyer)).status_code == 404
    escrow.cancel(order_id, sender=buyer)
    sync()
    ended = client.get(path, headers=login_as(buyer))
    assert ended.status_code == 403 and "cancelled" in ended.json()["detail"]


def test_order_details__arbitrator_only_in_a_dispute(client, escrow, sync, committed_order, login_as, admin, buyer):
    _, order_id, _ = committed_order()
    path = f"/api/payments/orders/{order_id}/details"
    arbitrator = login_as(admin)  # a wallet holding the escrow's arbitrator role, no staff role
    assert client.get(path, headers=arbitrator).status_code == 403
    escrow.mark_paid(order_id, b"\x07" * 32, sender=buyer)
    escrow.open_dispute(order_id, b"\x01" * 32, sender=buyer)
    sync()
    assert client.get(path, headers=arbitrator).status_code == 200


def test_proof__payment_ref_is_the_record_hash(
    client, db, escrow, sync, committed_order, as_buyer, as_seller, buyer, login_as, other
):
    _, order_id, _ = committed_order()
    response = client.post(
        f"/api/payments/orders/{order_id}/proof",
        data={"bank_reference": "SANDBOX-778812"},
        files={"file": ("receipt.txt", PNG, "text/plain")},  # the name and type claimed do not matter
        headers=as_buyer,
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    assert proof["mime"] == "image/png" and proof["size"] == len(PNG)
    assert "0x" + keccak(canonical(proof["record"])).hex() == proof["record_hash"]
    row = db.exec(select(PaymentProof)).one()
    assert b"SANDBOX-778812" not in row.sealed and PNG[16:80] not in row.sealed_file

    escrow.mark_paid(order_id, proof["record_hash"], sender=buyer)
    sync()
    seen = client.get(f"/api/payments/orders/{order_id}/proofs", headers=as_seller).json()
    assert seen[0]["is_payment_ref"] and seen[0]["record"]["bank_reference"] == "SANDBOX-778812"
    file = client.get(f"/api/payments/orders/{order_id}/proofs/{proof['id']}/file", headers=as_seller)
    assert file.status_code == 200 and file.content == PNG and file.headers["content-type"] == "image/png"
    assert client.get(f"/api/payments/orders/{order_id}/proofs", headers=login_as(other)).status_code == 403
    assert (
        client.get(f"/api/payments/orders/{order_id}/proofs/{proof['id']}/file", headers=login_as(other)).status_code
        == 403
    )


@pytest.mark.parametrize(
    "data, status, words",
    [
        (b"just some text, not an image", 415, "JPEG, PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 600_000, 413, "at most"),
    ],
)
def test_proof__file_checked_by_content_and_size(client, committed_order, as_buyer, data, status, words):
    _, order_id, _ = committed_order()
    response = client.post(
        f"/api/payments/orders/{order_id}/proof",
        data={"bank_reference": "REF-1"},
        files={"file": ("proof.png", data, "image/png")},
        headers=as_buyer,
    )
    assert response.status_code == status and words in response.json()["detail"], response.text


def test_proof__only_the_buyer_of_an_open_order(client, committed_order, as_seller, as_buyer):
    _, order_id, _ = committed_order()
    path = f"/api/payments/orders/{order_id}/proof"
    assert client.post(path, data={"bank_reference": "X"}, headers=as_seller).status_code == 403
    blank = client.post(path, data={"bank_reference": "   "}, headers=as_buyer)
    assert blank.status_code == 422
    without_file = client.post(path, data={"bank_reference": "WIRE 1"}, headers=as_buyer)
    assert without_file.status_code == 200 and without_file.json()["record"]["file_sha256"] is None


def test_keyring__rotation_opens_old_rows_with_their_key():
    k1, k2 = os.urandom(32), os.urandom(32)
    old = Keyring({"k1": k1}, "k1")
    key_id, sealed = old.seal(b"IBAN DE89", context="payment_detail:0xabc:0")
    rotated = Keyring({"k1": k1, "k2": k2}, "k2")
    assert rotated.open(key_id, sealed, context="payment_detail:0xabc:0") == b"IBAN DE89"
    assert rotated.seal(b"new", context="c")[0] == "k2"
    with pytest.raises(Exception):  # noqa: B017  moved to another row: the tag no longer matches
        rotated.open(key_id, sealed, context="payment_detail:0xdef:0")
    with pytest.raises(DomainError, match="not configured"):
        Keyring({"k2": k2}, "k2").open("k1", sealed, context="payment_detail:0xabc:0")
    with pytest.raises(RuntimeError, match="32 bytes"):
        Keyring({"k1": base64.b64decode("AAAA")}, "k1")
