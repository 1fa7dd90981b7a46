"""The push follower (backend/push.py) in one process: it pushes what any writer stored,
once, including what a reorg re-ingests. Across processes: test_scale_out.py; rows
committed out of id order (PostgreSQL): test_postgres.py."""

from sqlmodel import select

from backend.chain.models import ChainEvent
from tests.backend.sockets import receive_json, session_cookie

URL = "/api/notifications/ws"
UNIT = 10**6


def connect(client, headers):
    return client.websocket_connect(URL, headers=session_cookie(headers))


def test_push__a_standalone_writer_is_pushed_by_the_follower(client, login_as, make_indexer, create_ad, seller):
    # Another indexer on the same database (a standalone `backend.cli index`): it tells
    # this app nothing, yet the app's follower pushes what it stored.
    standalone = make_indexer()
    standalone.catch_up()  # the deployment's own events of the seller (KYC attestations),
    client.app.state.follower.poll()  # pushed before the socket opens
    with connect(client, login_as(seller)) as ws:
        receive_json(ws)
        ad_id = create_ad()
        standalone.catch_up()
        push = receive_json(ws)
        assert push["type"] == "chain_event" and push["event"] == "AdCreated" and push["ad_id"] == ad_id


def test_push__what_a_reorg_reingests_is_pushed(
    client, db, login_as, sync, chain, escrow, create_ad, open_order, seller
):
    ad_id = create_ad()
    sync()
    follower = client.app.state.follower
    with connect(client, login_as(seller)) as ws:
        receive_json(ws)
        snapshot = chain.snapshot()
        order_id = open_order(ad_id)
        sync()
        assert receive_json(ws)["event"] == "OrderOpened"
        dropped = db.exec(select(ChainEvent.id).where(ChainEvent.order_id == order_id)).one()

        chain.restore(snapshot)  # the order's block is dropped; a top-up takes its place
        escrow.top_up(ad_id, 5 * UNIT, sender=seller)
        sync()
        db.expire_all()
        replacement = db.exec(select(ChainEvent).where(ChainEvent.name == "AdToppedUp")).one()
        # On SQLite too the dropped event's id is not handed out again (AUTOINCREMENT):
        # a follower tailing by id would skip the new event otherwise.
        assert replacement.id > dropped
        push = receive_json(ws)
        assert push["event"] == "AdToppedUp" and push["ad_id"] == ad_id
        follower.poll()
        client.app.state.hub.publish(seller.address, {"type": "probe"})
        assert receive_json(ws) == {"type": "probe"}  # pushed once


def test_push__the_follower_stops_with_the_app(app, token):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        follower = client.app.state.follower
        assert all(thread.is_alive() for thread in follower._threads)
    assert not any(thread.is_alive() for thread in follower._threads)


def test_push__nothing_is_replayed_at_start(client, login_as, sync, create_ad, seller, settings):
    from fastapi.testclient import TestClient

    from backend.main import create_app

    create_ad()
    sync()  # stored before the second app starts
    with TestClient(create_app(settings)) as second, connect(second, login_as(seller)) as ws:
        receive_json(ws)
        second.app.state.follower.poll()
        second.app.state.hub.publish(seller.address, {"type": "probe"})
        assert receive_json(ws) == {"type": "probe"}
