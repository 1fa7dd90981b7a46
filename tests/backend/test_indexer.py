"""The indexer against a real Anvil: checkpoint, idempotency, reorgs, block producers."""

import pytest
from conftest import UNIT
from sqlmodel import Session, func, select

from backend.chain.models import ChainEvent, ChainIncident, IndexedBlock
from backend.chain.projections import Projection
from backend.market.models import Ad, Order
from backend.projections import all_projections


def chain_escrow_logs(client, escrow):
    """Every log of the project's contracts on the chain now, as (tx_hash, log_index)."""
    w3, deployment = client.app.state.chain.w3, client.app.state.chain.deployment
    logs = w3.eth.get_logs(
        {"fromBlock": deployment.deploy_block, "toBlock": "latest", "address": list(deployment.addresses.values())}
    )
    return sorted((log["transactionHash"].to_0x_hex(), log["logIndex"]) for log in logs)


def stored_events(db):
    db.expire_all()
    return sorted((e.tx_hash, e.log_index) for e in db.exec(select(ChainEvent)).all())


def assert_projection_matches_chain(db, escrow):
    """Every ad and order in the database equals the contract's own record."""
    db.expire_all()
    for ad in db.exec(select(Ad)).all():
        on_chain = escrow.ads(ad.id)
        assert (ad.available, ad.locked, ad.price, ad.active, ad.closed) == (
            on_chain.available,
            on_chain.locked,
            on_chain.price,
            on_chain.active,
            on_chain.closed,
        ), f"ad {ad.id}"
    statuses = {1: "OPEN", 2: "PAID", 3: "RELEASED", 4: "CANCELLED", 5: "DISPUTED", 6: "RESOLVED"}
    for order in db.exec(select(Order)).all():
        on_chain = escrow.orders(order.id)
        assert (order.status, order.amount, order.deadline) == (
            statuses[on_chain.status],
            on_chain.amount,
            on_chain.deadline,
        ), f"order {order.id}"
    assert db.exec(select(func.count(Ad.id))).one() == escrow.ad_count()
    assert db.exec(select(func.count(Order.id))).one() == escrow.order_count()


def trade_activity(escrow, create_ad, open_order, seller, buyer):
    ad_id = create_ad()
    first = open_order(ad_id)
    escrow.mark_paid(first, b"\x01" * 32, sender=buyer)
    escrow.release(first, sender=seller)
    second = open_order(ad_id, 50 * UNIT)
    escrow.cancel(second, sender=buyer)
    escrow.top_up(ad_id, 5 * UNIT, sender=seller)
    return ad_id


def test_catch_up__ingests_every_event_once(client, db, sync, escrow, create_ad, open_order, seller, buyer):
    trade_activity(escrow, create_ad, open_order, seller, buyer)
    sync()
    assert stored_events(db) == chain_escrow_logs(client, escrow)
    assert sync() == 0  # nothing new: nothing ingested twice
    assert stored_events(db) == chain_escrow_logs(client, escrow)
    assert_projection_matches_chain(db, escrow)


def test_restart_midway__resumes_from_checkpoint(
    client, db, escrow, create_ad, open_order, seller, buyer, make_indexer
):
    trade_activity(escrow, create_ad, open_order, seller, buyer)
    first = make_indexer(window=3)
    first.step()
    first.step()
    checkpoint = first.checkpoint()
    assert 0 < len(stored_events(db)) < len(chain_escrow_logs(client, escrow))

    # A new process: same database, no memory of the old one.
    second = make_indexer(window=3)
    assert second.checkpoint() == checkpoint
    second.catch_up()
    assert stored_events(db) == chain_escrow_logs(client, escrow)
    assert_projection_matches_chain(db, escrow)


def test_crash_inside_window__commits_nothing_of_it(
    client, db, escrow, create_ad, open_order, seller, buyer, make_indexer
):
    trade_activity(escrow, create_ad, open_order, seller, buyer)
    crashing = Projection("crashing")

    @crashing.on("OtcEscrow", "OrderPaid")
    def crash(session, event):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        make_indexer(projections=all_projections_and(crashing)).step()
    assert stored_events(db) == []

    restarted = make_indexer()
    restarted.catch_up()
    assert stored_events(db) == chain_escrow_logs(client, escrow)
    assert_projection_matches_chain(db, escrow)


def test_failing_window__reported_not_silent(client, db, escrow, create_ad, make_indexer):
    """A bug in a projection keeps the window uncommitted, but the status route says so,
    and the incident outlives the window's rollback, once per distinct error."""
    create_ad()
    broken = Projection("broken")

    @broken.on("OtcEscrow", "AdCreated")
    def explode(session, event):
        raise ZeroDivisionError("a bug")

    indexer = make_indexer(projections=all_projections_and(broken))
    client.app.state.indexer = indexer
    assert indexer.run_once() is None and indexer.run_once() is None
    assert stored_events(db) == []
    status = client.get("/api/chain/status").json()
    assert status["error"] == "ZeroDivisionError: a bug" and status["error_since"]
    incidents = db.exec(select(ChainIncident).where(ChainIncident.kind == "indexer_error")).all()
    assert len(incidents) == 1 and "a bug" in incidents[0].detail
    assert indexer.next_delay(0.25, 0.25) == 0.5  # backs off instead of spinning

    indexer.projections = all_projections()  # the bug is fixed
    assert indexer.run_once().events >= 1
    assert client.get("/api/chain/status").json()["error"] is None


def test_projection__handler_registered_twice_is_refused():
    projection = Projection("twice")
    projection.on("OtcEscrow", "AdCreated")(lambda session, event: None)
    with pytest.raises(ValueError, match="already handles OtcEscrow.AdCreated"):
        projection.on("OtcEscrow", "AdCreated")(lambda session, event: None)


def test_refused_ad__later_events_recorded_not_stalling(
    client, db, sync, chain, escrow, create_ad, open_order, admin, other, seller
):
    """An ad created in a refused block, topped up and ordered from in accepted blocks:
    the indexer reaches the head, records what it could not place, and goes on."""
    chain.provider.make_request("anvil_setCoinbase", [other.address])
    try:
        rogue_ad = create_ad()
    finally:
        chain.provider.make_request("anvil_setCoinbase", [admin.address])
    escrow.top_up(rogue_ad, 5 * UNIT, sender=seller)
    rogue_order = open_order(rogue_ad)
    later_ad = create_ad()
    sync()

    db.expire_all()
    assert client.get("/api/chain/status").json()["lag_blocks"] == 0
    assert db.get(Ad, rogue_ad) is None and db.get(Order, rogue_order) is None
    assert db.get(Ad, later_ad) is not None
    gaps = db.exec(select(ChainIncident).where(ChainIncident.kind == "projection_gap")).all()
    assert {g.detail.split(" not projected")[0] for g in gaps} == {"OtcEscrow.AdToppedUp", "OtcEscrow.OrderOpened"}
    assert all(g.tx_hash and g.log_index is not None for g in gaps)
    # A restart replays nothing twice, and a reorg's replay does not duplicate the gaps.
    assert sync() == 0
    indexer = client.app.state.indexer
    indexer.projections.rebuild(db, on_missing=lambda event, missing: indexer._record_gap(db, event, missing))
    db.flush()
    assert len(db.exec(select(ChainIncident).where(ChainIncident.kind == "projection_gap")).all()) == 2


def all_projections_and(extra: Projection):
    from backend.chain.projections import Projections
    from backend.projections import PROJECTIONS

    return Projections([*PROJECTIONS, extra])


def test_reorg__database_equals_chain_after(client, db, sync, chain, escrow, create_ad, open_order, seller, buyer):
    ad_id = create_ad()
    sync()
    snapshot = chain.snapshot()
    order_id = open_order(ad_id, 100 * UNIT)
    escrow.mark_paid(order_id, b"\x02" * 32, sender=buyer)
    sync()
    db.expire_all()
    assert db.get(Order, order_id).status == "PAID"

    # The blocks holding the order are dropped; a different history replaces them.
    chain.restore(snapshot)
    escrow.top_up(ad_id, 7 * UNIT, sender=seller)
    escrow.pause_ad(ad_id, sender=seller)
    chain.mine(3)
    sync()

    assert stored_events(db) == chain_escrow_logs(client, escrow)
    assert db.get(Order, order_id) is None
    assert db.get(Ad, ad_id).available == 1_007 * UNIT and not db.get(Ad, ad_id).active
    assert_projection_matches_chain(db, escrow)
    incident = db.exec(select(ChainIncident).where(ChainIncident.kind == "reorg")).one()
    assert "removed" in incident.detail


def test_reorg__anvil_reorg_same_height(client, db, sync, chain, escrow, create_ad, open_order, seller):
    ad_id = create_ad()
    open_order(ad_id, 100 * UNIT)
    sync()
    assert db.exec(select(func.count(Order.id))).one() == 1
    # Replace the last block (the order) with an empty one at the same height.
    chain.provider.make_request("anvil_reorg", [1, []])
    sync()
    assert stored_events(db) == chain_escrow_logs(client, escrow)
    assert_projection_matches_chain(db, escrow)


def test_unauthorized_producer__block_refused(client, db, sync, chain, escrow, create_ad, admin, other):
    chain.provider.make_request("anvil_setCoinbase", [other.address])
    try:
        rogue_ad = create_ad()
    finally:
        chain.provider.make_request("anvil_setCoinbase", [admin.address])
    good_ad = create_ad()
    sync()
    db.expire_all()
    assert db.get(Ad, rogue_ad) is None  # nothing ingested from the rogue block
    assert db.get(Ad, good_ad) is not None
    refused = db.exec(select(IndexedBlock).where(IndexedBlock.accepted == False)).all()  # noqa: E712
    assert len(refused) == 1 and refused[0].producer == other.address
    assert "not authorized by NodeRegistry" in refused[0].reason
    incident = db.exec(select(ChainIncident).where(ChainIncident.kind == "unauthorized_producer")).one()
    assert incident.block_number == refused[0].number
    status = client.get("/api/chain/status").json()
    assert status["refused_blocks"] == 1 and status["lag_blocks"] == 0


def test_admitted_node__may_produce_blocks(
    client, db, sync, chain, escrow, node_registry, create_ad, admin, other, accounts
):
    from eth_utils import keccak

    node_registry.propose_node(other, "http://other:8000", keccak(text="hw"), keccak(text="c"), sender=admin)
    for authority in (accounts[7], accounts[8]):  # the quorum of the three local authorities
        node_registry.approve(node_registry.proposal_count(), sender=authority)
    chain.provider.make_request("anvil_setCoinbase", [other.address])
    try:
        ad_id = create_ad()
    finally:
        chain.provider.make_request("anvil_setCoinbase", [admin.address])
    sync()
    db.expire_all()
    assert db.get(Ad, ad_id) is not None
    assert db.exec(select(func.count(IndexedBlock.number)).where(IndexedBlock.accepted == False)).one() == 0  # noqa: E712


def test_confirmations__waits_behind_head(client, settings, escrow, create_ad, chain, make_indexer):
    state = client.app.state
    indexer = make_indexer(confirmations=2)
    create_ad()
    indexer.catch_up()
    with Session(state.engine) as session:
        assert session.exec(select(func.count(Ad.id))).one() == 0  # the ad's block is not 2 deep yet
    chain.mine(2)
    indexer.catch_up()
    with Session(state.engine) as session:
        assert session.exec(select(func.count(Ad.id))).one() == 1
