from conftest import UNIT


def test_ads__listed_from_chain_events(client, sync, create_ad, seller):
    ad_id = create_ad()
    assert sync() >= 1
    page = client.get("/api/ads").json()
    assert [a["id"] for a in page["items"]] == [ad_id]
    ad = page["items"][0]
    assert ad["seller"] == seller.address and ad["available"] == str(1_000 * UNIT) and ad["fiat"] == "USD"
