"""Explorer: one search box for tx and block hashes, addresses, block numbers, ad and order ids."""

from conftest import HOUR, PRICE, TERMS_HASH, UNIT, USD


def search(client, q):
    return client.get("/api/explorer/search", params={"q": q})


def kinds(response):
    return [r["kind"] for r in response.json()["results"]]


def test_search__tx_hash_decoded(client, escrow, token, seller):
    tx = escrow.create_ad(
        token, 1_000 * UNIT, PRICE, USD, 10 * UNIT, 500 * UNIT, HOUR, 0b101, TERMS_HASH, sender=seller
    )
    response = search(client, tx.txn_hash)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == tx.txn_hash and body["message"] is None
    [result] = body["results"]
    assert result["kind"] == "tx" and result["hash"] == tx.txn_hash
    assert result["from"] == seller.address and result["to"] == escrow.address and result["to_name"] == "OtcEscrow"
    assert result["status"] == "success" and result["block_number"] == tx.block_number
    assert result["gas_used"] > 0 and result["value"] == "0"
    call = result["call"]
    assert call["contract"] == "OtcEscrow" and call["function"] == "create_ad"
    assert call["args"]["token"] == token.address and call["args"]["amount"] == 1_000 * UNIT
    assert call["args"]["fiat"] == "0x" + USD.hex()
    # The token's Transfer is decoded with the token ABI, the escrow's event with the project's
    # (the escrow logs before it pulls the tokens).
    names = [(e["contract"], e["name"]) for e in result["events"]]
    assert names == [("OtcEscrow", "AdCreated"), ("TUSD", "Transfer")]
    created, transfer = result["events"]
    assert transfer["args"]["value"] == 1_000 * UNIT and transfer["args"]["receiver"] == escrow.address
    assert created["args"]["ad_id"] == 1 and created["args"]["maker"] == seller.address and created["args"]["side"] == 1


def test_search__reverted_tx(client, escrow, token, seller):
    tx = escrow.withdraw(1, UNIT, sender=seller, raise_on_revert=False, gas=200_000)
    result = search(client, tx.txn_hash).json()["results"][0]
    assert result["status"] == "reverted" and result["call"]["function"] == "withdraw" and result["events"] == []


def test_search__address(client, sync, escrow, token, create_ad, open_order, seller, buyer):
    ad_id = create_ad()
    order_id = open_order(ad_id, 100 * UNIT)
    sync()
    # Any case is accepted; the answer is checksummed.
    response = search(client, seller.address.lower())
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["kind"] == "address" and result["address"] == seller.address
    assert result["is_contract"] is False and result["contract_name"] is None
    assert result["ads_count"] == 1 and result["orders_count"] == 1
    [balance] = result["token_balances"]
    assert balance["token"] == token.address and balance["symbol"] == "TUSD"
    assert balance["balance"] == str(token.balanceOf(seller))
    # The fixtures attest the trading roles (the escrow's KYC switch is on).
    assert result["kyc"]["level"] == 2 and result["kyc_verified"] is True
    assert result["authorized"] is False and result["node"] is None
    events = result["events"]
    assert [e["name"] for e in events] == ["OrderOpened", "AdCreated", "Attested"]  # newest first
    assert events[0]["args"]["order_id"] == order_id

    buyer_result = search(client, buyer.address).json()["results"][0]
    assert buyer_result["ads_count"] == 0 and buyer_result["orders_count"] == 1


def test_search__contract_and_node_addresses(client, sync, escrow, relayer, admin):
    sync()
    contract = search(client, escrow.address).json()["results"][0]
    assert contract["is_contract"] is True and contract["contract_name"] == "OtcEscrow"
    node = search(client, relayer.address).json()["results"][0]
    assert node["authorized"] is True and node["is_authority"] is False
    assert node["node"]["active"] is True and node["node"]["endpoint"] == "local-relayer"
    authority = search(client, admin.address).json()["results"][0]
    assert authority["is_authority"] is True and authority["authorized"] is True


def test_search__kyc_attestation(client, sync, chain, kyc_registry, admin, other):
    kyc_registry.attest(other, 2, chain.blocks.head.timestamp + 86_400, b"\x01" * 32, sender=admin)
    sync()
    result = search(client, other.address).json()["results"][0]
    assert result["kyc"]["level"] == 2 and result["kyc"]["revoked"] is False
    assert result["kyc_verified"] is True


def test_search__block_number(client, sync, chain, escrow, token, seller):
    tx = escrow.create_ad(
        token, 1_000 * UNIT, PRICE, USD, 10 * UNIT, 500 * UNIT, HOUR, 0b101, TERMS_HASH, sender=seller
    )
    sync()
    for q in (str(tx.block_number), f"#{tx.block_number}", f"block {tx.block_number}", f"Block #{tx.block_number}"):
        response = search(client, q)
        assert response.status_code == 200, q
        blocks = [r for r in response.json()["results"] if r["kind"] == "block"]
        assert len(blocks) == 1, q
    block = blocks[0]
    assert block["number"] == tx.block_number and block["hash"] == chain.blocks[tx.block_number].hash.to_0x_hex()
    assert tx.txn_hash in block["transactions"] and block["tx_count"] == len(block["transactions"])
    assert block["indexed"] is True and block["accepted"] is True and block["refused_reason"] is None
    assert block["timestamp"] > 0 and block["producer"]

    by_hash = search(client, block["hash"]).json()["results"]
    assert [r["kind"] for r in by_hash] == ["block"] and by_hash[0]["number"] == tx.block_number


def test_search__block_not_indexed_yet(client, chain):
    head = chain.blocks.head.number
    block = search(client, f"block {head}").json()["results"][0]
    assert block["indexed"] is False and block["accepted"] is None


def test_search__bare_number_finds_every_kind(client, sync, create_ad, open_order):
    open_order(create_ad())
    sync()
    assert kinds(search(client, "1")) == ["block", "ad", "order"]
    assert kinds(search(client, "ad 1")) == ["ad"]
    assert kinds(search(client, "order 1")) == ["order"]
    assert kinds(search(client, "block 1")) == ["block"]


def test_search__ad_id(client, sync, create_ad, seller):
    ad_id = create_ad()
    sync()
    [ad] = search(client, f"ad {ad_id}").json()["results"]
    assert ad["kind"] == "ad" and ad["id"] == ad_id and ad["maker"] == seller.address
    assert ad["available"] == str(1_000 * UNIT) and ad["fiat"] == "USD"
    assert [e["name"] for e in ad["events"]] == ["AdCreated"]


def test_search__order_id(client, sync, escrow, create_ad, open_order, buyer):
    order_id = open_order(create_ad(), 100 * UNIT)
    escrow.mark_paid(order_id, b"\x07" * 32, sender=buyer)
    sync()
    [order] = search(client, f"Order {order_id}").json()["results"]
    assert order["kind"] == "order" and order["id"] == order_id and order["status"] == "PAID"
    assert order["amount"] == str(100 * UNIT) and order["buyer"] == buyer.address
    assert [e["name"] for e in order["events"]] == ["OrderPaid", "OrderOpened"]


def test_search__nothing_found(client):
    unknown_hash = "0x" + "ab" * 32
    response = search(client, unknown_hash)
    assert response.status_code == 200
    body = response.json()
    assert body["results"] == [] and "no transaction or block" in body["message"]
    for q, message in [
        ("ad 999", "no ad numbered 999"),
        ("order 77", "no order numbered 77"),
        ("99999999", "no block, ad or order numbered 99999999"),
        ("9" * 40, "no block, ad or order"),
    ]:
        body = search(client, q).json()
        assert body["results"] == [] and message in body["message"], q


def test_search__bad_input_is_422(client):
    for q in ["hello", "0x1234", "0x" + "g" * 40, "ad", "order -1", "1.5", "   ", "0x" + "a" * 63, "SELECT *"]:
        response = search(client, q)
        assert response.status_code == 422, q
        detail = response.json()["detail"]
        assert "address (0x + 40 hex digits)" in detail and "block number" in detail, q
    assert "at least 1 character" in search(client, "").json()["detail"]
    assert "at most 100 characters" in search(client, "1" * 101).json()["detail"]
    assert client.get("/api/explorer/search").status_code == 422


def test_search__openapi_documents_the_kinds(client):
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("TxResult", "BlockResult", "AddressResult", "AdResult", "OrderResult"):
        assert name in components
    results = components["SearchResponse"]["properties"]["results"]["items"]
    assert results["discriminator"]["propertyName"] == "kind"


def test_search__chain_node_down_is_503(settings, token):
    from fastapi.testclient import TestClient

    from backend.main import create_app

    with TestClient(create_app(settings.model_copy(update={"rpc_url": "http://127.0.0.1:9"}))) as down:
        response = search(down, "block 1")
    assert response.status_code == 503 and "unreachable" in response.json()["detail"]
