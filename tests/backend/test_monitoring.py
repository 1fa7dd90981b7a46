"""Monitoring: each rule on its own, chain-event rules raising their alert once (also after
an indexer restart, a replay and a full re-index), the center's API and live feed, and
account freezes."""

import time
from types import SimpleNamespace

import pytest
from conftest import UNIT
from eth_utils import keccak
from sqlalchemy import delete, text
from sqlmodel import Session, select
from starlette.websockets import WebSocketDisconnect

from backend.auth.models import User
from backend.chain.models import ChainEvent, ChainIncident, IndexedBlock
from backend.config import Settings
from backend.market.models import Ad, Order
from backend.monitoring import rules
from backend.monitoring.models import Alert, FailedSignIn, StaffAction
from backend.nodes.models import NodeHeartbeat, NodeRecord
from tests.backend.sockets import receive_json, session_cookie

A = "0x" + "11" * 20
B = "0x" + "22" * 20
WS = "/api/monitoring/ws"


def event(name, args, *, ts=1_000, block=10, log_index=0, tx="0x" + "ab" * 32):
    return SimpleNamespace(
        contract="OtcEscrow", name=name, args=args, timestamp=ts, block_number=block, log_index=log_index, tx_hash=tx
    )


def counting(n):
    """A `recent` that reports `n` matching events and records what it was asked."""
    asked = []

    def recent(name, match, since):
        asked.append((name, match, since))
        return n

    recent.asked = asked
    return recent


CONFIG = rules.RuleConfig(large_order_amount=1_000, burst_orders=3, burst_window_seconds=600, cancel_count=3)


def opened(amount=10, order_id=7):
    return event("OrderOpened", {"order_id": order_id, "ad_id": 1, "buyer": A, "seller": B, "amount": amount})


# ---------------------------------------------------------------- each rule


def test_rule_large_order__at_threshold_not_below():
    assert rules.large_order(opened(amount=999), CONFIG, counting(1)) is None
    draft = rules.large_order(opened(amount=1_000), CONFIG, counting(1))
    assert draft.rule == "large_order" and draft.order_id == 7 and draft.subject_kind == "order"
    assert draft.key == f"large_order:order7:{'0x' + 'ab' * 32}:0"


def test_rule_order_burst__once_when_the_count_is_reached():
    recent = counting(3)
    draft = rules.order_burst(opened(), CONFIG, recent)
    assert draft.rule == "order_burst" and draft.address == A and "3 orders" in draft.title
    assert recent.asked == [("OrderOpened", {"taker": A}, 1_000 - 600)]
    # Below the count nothing; above it nothing either: the burst's alert is raised once.
    assert rules.order_burst(opened(), CONFIG, counting(2)) is None
    assert rules.order_burst(opened(), CONFIG, counting(4)) is None


def test_rule_repeated_cancels__buyer_cancels_only():
    cancel = event("OrderCancelled", {"order_id": 3, "by": A, "reason": 1})
    assert rules.repeated_cancels(cancel, CONFIG, counting(3)).address == A
    assert rules.repeated_cancels(cancel, CONFIG, counting(2)) is None
    expired = event("OrderCancelled", {"order_id": 3, "by": B, "reason": 2})
    assert rules.repeated_cancels(expired, CONFIG, counting(3)) is None


def test_rule_dispute_opened():
    dispute = event("DisputeOpened", {"order_id": 4, "by": B, "evidence_hash": "0x" + "00" * 32})
    draft = rules.dispute_opened(dispute, CONFIG, counting(0))
    assert draft.order_id == 4 and draft.address == B and draft.severity == "warning"


def test_rule_unauthorized_producer():
    draft = rules.unauthorized_producer(block_number=55, producer=A, detail="producer not authorized")
    assert draft.severity == "critical" and draft.key == f"unauthorized_producer:55:{A}"


def test_rule_node_silent__after_the_silence_limit_once_per_heartbeat():
    config = rules.RuleConfig(node_silence_seconds=60)
    assert rules.node_silent(node=A, last_heartbeat_ms=100_000, now_ms=159_000, config=config) is None
    draft = rules.node_silent(node=A, last_heartbeat_ms=100_000, now_ms=161_000, config=config)
    assert draft.key == f"node_silent:{A}:100000" and draft.subject_kind == "node"


def test_rule_is_silent__the_node_silent_limit_and_never_heard():
    config = rules.RuleConfig(node_silence_seconds=60)
    assert not rules.is_silent(last_heartbeat_ms=100_000, now_ms=159_999, config=config)
    assert rules.is_silent(last_heartbeat_ms=100_000, now_ms=160_000, config=config)
    assert rules.is_silent(last_heartbeat_ms=None, now_ms=160_000, config=config)


def test_rule_failed_sign_ins__at_the_count():
    config = rules.RuleConfig(failed_sign_ins=5)
    assert rules.failed_sign_ins(ident="bob", failure_id=9, count=4, config=config) is None
    draft = rules.failed_sign_ins(ident="bob", failure_id=9, count=5, config=config)
    assert draft.subject_kind == "user" and draft.address is None
    assert rules.failed_sign_ins(ident=A, failure_id=9, count=5, config=config).address == A


def test_rules__disabled_from_settings():
    config = rules.RuleConfig.from_settings(Settings(monitoring_disabled_rules=["large_order"]))
    assert not config.enabled("large_order") and config.enabled("order_burst")


# --------------------------------------------------- rules over chain events


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"monitoring_large_order_amount": 400 * UNIT})


def alerts(db, rule=None):
    db.expire_all()
    query = select(Alert).order_by(Alert.id)
    if rule:
        query = query.where(Alert.rule == rule)
    return db.exec(query).all()


def reindex_from_scratch(client):
    """What a new indexer on a restored database does: the chain read again from the
    deployment block, every projection rebuilt, the alerts table kept."""
    from backend.projections import PROJECTIONS

    with Session(client.app.state.engine) as session:
        session.exec(delete(ChainEvent))
        session.exec(delete(IndexedBlock))
        for projection in PROJECTIONS:
            for model in projection.tables:
                session.exec(delete(model))
        session.commit()


def test_chain_rules__each_alert_once_after_restart_replay_and_reindex(
    client, db, sync, make_indexer, escrow, create_ad, open_order, buyer, seller
):
    ad = create_ad(5_000 * UNIT)
    first, second, third, fourth = (open_order(ad, 50 * UNIT) for _ in range(4))
    for order_id in (first, second, third):
        escrow.cancel(order_id, sender=buyer)
    escrow.mark_paid(fourth, keccak(text="ref"), sender=buyer)
    escrow.open_dispute(fourth, b"\x02" * 32, sender=buyer)
    big = open_order(ad, 450 * UNIT)  # the fifth order: no second burst alert
    sync()

    def summary():
        return sorted((a.rule, a.order_id) for a in alerts(db))

    expected = sorted(
        [("order_burst", third), ("repeated_cancels", third), ("dispute_opened", fourth), ("large_order", big)]
    )
    assert summary() == expected
    burst = alerts(db, "order_burst")[0]
    assert burst.address == buyer.address and burst.severity == "warning"
    assert {e["kind"] for e in burst.evidence} == {"address", "order", "tx"}

    # A restarted indexer (a second process on the same database) finds nothing new.
    make_indexer().catch_up()
    assert summary() == expected
    # A projection replay (what a reorg triggers) raises nothing twice.
    with Session(client.app.state.engine) as session:
        make_indexer().projections.rebuild(session, on_missing=lambda *_: None)
        session.commit()
    assert summary() == expected
    # Nor does indexing the whole chain again into emptied projections.
    reindex_from_scratch(client)
    assert make_indexer().catch_up() > 0
    assert summary() == expected
    with Session(client.app.state.engine) as session:
        assert session.get(Order, big).amount == 450 * UNIT and session.get(Ad, ad) is not None


def test_chain_rules__burst_needs_the_window(client, db, sync, chain, create_ad, open_order, settings):
    ad = create_ad()
    open_order(ad)
    open_order(ad)
    chain.mine(1, timestamp=chain.pending_timestamp + settings.monitoring_burst_window_seconds + 10)
    open_order(ad)
    sync()
    assert alerts(db, "order_burst") == []


def test_chain_rules__one_window_or_many_the_same(db, make_indexer, create_ad, open_order):
    """Orders indexed block by block (each in its own window) count like one window."""
    ad = create_ad()
    orders = [open_order(ad) for _ in range(3)]
    indexer = make_indexer()
    while indexer.step(max_blocks=1).blocks:
        pass
    assert [a.order_id for a in alerts(db, "order_burst")] == [orders[2]]


def test_chain_rules__disabled_rule_raises_nothing(client, db, sync, create_ad, open_order, settings):
    from backend.monitoring.center import MonitoringCenter

    off = settings.model_copy(update={"monitoring_disabled_rules": ["order_burst", "large_order"]})
    MonitoringCenter(engine=client.app.state.engine, settings=off)  # registers its rule config
    ad = create_ad(2_000 * UNIT)
    for _ in range(3):
        open_order(ad, 450 * UNIT)
    sync()
    assert alerts(db) == []


def test_sweep__unauthorized_producer_once(client, db, sync, chain, escrow, create_ad, admin, other):
    create_ad()
    chain.provider.make_request("anvil_setCoinbase", [other.address])
    try:
        chain.mine(1)
    finally:
        chain.provider.make_request("anvil_setCoinbase", [admin.address])
    sync()
    assert db.exec(select(ChainIncident).where(ChainIncident.kind == "unauthorized_producer")).all()
    center = client.app.state.monitoring
    assert center.sweep() == 1
    assert center.sweep() == 0
    (alert,) = alerts(db, "unauthorized_producer")
    assert alert.address == other.address and alert.severity == "critical"


def test_sweep__silent_node(client, db, sync, relayer):
    sync()  # the relayer node admitted at deploy
    assert db.get(NodeRecord, relayer.address) is not None
    center = client.app.state.monitoring
    assert center.sweep() == 0
    with Session(client.app.state.engine) as session:
        # The nodes domain owns this table; its shape here is the columns this rule reads.
        session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS node_heartbeat (address VARCHAR(42) PRIMARY KEY, endpoint VARCHAR(256), "
                "sent_ms BIGINT, received_ms BIGINT, relayed INTEGER DEFAULT 0)"
            )
        )
        session.execute(
            text(
                "INSERT INTO node_heartbeat (address, endpoint, sent_ms, received_ms, relayed) VALUES (:a, '', 1, 1, 0)"
            ),
            {"a": relayer.address},
        )
        session.commit()
    assert center.sweep() == 1
    assert center.sweep() == 0
    assert alerts(db, "node_silent")[0].address == relayer.address


# ------------------------------------------------------------ failed sign-ins


def test_failed_sign_ins__burst_raises_one_alert(client, db):
    for _ in range(6):
        response = client.post("/api/auth/login", json={"username": "mallory", "password": "guess-guess"})
        assert response.status_code == 401
    assert len(db.exec(select(FailedSignIn).where(FailedSignIn.ident == "mallory")).all()) == 6
    (alert,) = alerts(db, "failed_sign_ins")
    assert alert.subject == "mallory" and "5 failed sign-ins" in alert.title


def test_failed_sign_ins__siwe_refusal_recorded_with_its_address(client, db, buyer):
    message = f"testserver wants you to sign in with your Ethereum account:\n{buyer.address}\n\nnot quite EIP-4361"
    response = client.post("/api/auth/siwe", json={"message": message, "signature": "0x" + "00" * 65})
    assert response.status_code == 400
    (failure,) = db.exec(select(FailedSignIn)).all()
    assert failure.method == "siwe" and failure.ident == buyer.address and "malformed" in failure.reason


# ------------------------------------------------------------------ the center


@pytest.fixture
def monitor(login_as, other):
    return login_as(other, roles=("monitor",))


@pytest.fixture
def raise_alert(client):
    def make(key="k1", **fields):
        from backend.monitoring.service import raise_alert as store

        draft = rules.Draft(
            rule=fields.get("rule", "dispute_opened"),
            severity=fields.get("severity", "warning"),
            key=key,
            title="a test alert",
            subject_kind="order",
            subject="1",
            address=fields.get("address", A),
            order_id=fields.get("order_id", 1),
        )
        with Session(client.app.state.engine) as session:
            alert = store(session, draft)
            session.commit()
            session.refresh(alert)
            client.app.state.monitoring.nudge()
            return alert.id

    return make


def test_center__staff_only(client, login_as, buyer):
    assert client.get("/api/monitoring/alerts").status_code == 401
    refused = client.get("/api/monitoring/alerts", headers=login_as(buyer))
    assert refused.status_code == 403 and refused.json()["detail"] == "requires role: monitor"


def test_center__admin_allowed(client, login_as, admin):
    assert client.get("/api/monitoring/alerts", headers=login_as(admin, roles=("admin",))).status_code == 200


def test_center__list_filters(client, monitor, raise_alert):
    raise_alert("a", severity="critical", address=A, order_id=1)
    raise_alert("b", severity="info", address=B, order_id=2, rule="large_order")
    page = client.get("/api/monitoring/alerts", headers=monitor).json()
    assert page["total"] == 2 and [a["subject"] for a in page["items"]] == ["1", "1"]
    assert client.get("/api/monitoring/alerts?severity=critical", headers=monitor).json()["total"] == 1
    assert client.get("/api/monitoring/alerts?rule=large_order", headers=monitor).json()["items"][0]["order_id"] == 2
    assert client.get(f"/api/monitoring/alerts?address={B.lower()}", headers=monitor).json()["total"] == 1
    assert client.get(f"/api/monitoring/alerts?address={'0x' + '33' * 20}", headers=monitor).json()["total"] == 0
    assert client.get("/api/monitoring/alerts?order_id=1", headers=monitor).json()["total"] == 1
    assert client.get("/api/monitoring/alerts?status=unresolved", headers=monitor).json()["total"] == 2
    bad = client.get("/api/monitoring/alerts?status=later", headers=monitor)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("status:")
    bad = client.get("/api/monitoring/alerts?address=0x123", headers=monitor)
    assert bad.status_code == 422 and "not an address" in bad.json()["detail"]


def test_center__acknowledge_assign_resolve(client, db, monitor, login_as, raise_alert, admin):
    alert_id = raise_alert()
    login_as(admin, roles=("admin",))
    url = f"/api/monitoring/alerts/{alert_id}"
    acked = client.post(f"{url}/acknowledge", json={"note": "looking"}, headers=monitor)
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged" and acked.json()["revision"] == 2
    assigned = client.post(f"{url}/assign", json={"assignee": admin.address}, headers=monitor)
    assert assigned.status_code == 200 and assigned.json()["assignee"] == admin.address
    not_staff = client.post(f"{url}/assign", json={"assignee": "nobody"}, headers=monitor)
    assert not_staff.status_code == 422 and "not a member of the monitoring staff" in not_staff.json()["detail"]
    no_note = client.post(f"{url}/resolve", json={}, headers=monitor)
    assert no_note.status_code == 422 and no_note.json()["detail"].startswith("note:")
    resolved = client.post(f"{url}/resolve", json={"note": "a known customer"}, headers=monitor)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert resolved.json()["note"] == "a known customer"
    again = client.post(f"{url}/acknowledge", json={}, headers=monitor)
    assert again.status_code == 409 and again.json()["detail"] == f"alert {alert_id} is already resolved"
    detail = client.get(url, headers=monitor).json()
    assert [a["action"] for a in detail["actions"]] == ["acknowledge", "assign", "resolve"]
    assert detail["actions"][1]["note"] == f"to {admin.address}"
    assert len(db.exec(select(StaffAction).where(StaffAction.alert_id == alert_id)).all()) == 3
    missing = client.post("/api/monitoring/alerts/999/acknowledge", json={}, headers=monitor)
    assert missing.status_code == 404 and missing.json()["detail"] == "no alert 999"


def test_center__rules_and_chain_panel(client, sync, monitor, create_ad):
    create_ad()
    sync()
    listed = client.get("/api/monitoring/rules", headers=monitor).json()
    assert {r["rule"] for r in listed} >= {"order_burst", "repeated_cancels", "dispute_opened", "failed_sign_ins"}
    panel = client.get("/api/monitoring/chain", headers=monitor).json()
    assert panel["lag_blocks"] == 0 and panel["head"] == panel["indexed"]
    assert panel["escrow_events"][0]["name"] == "AdCreated"


def test_center__nodes_panel(client, db, sync, monitor, login_as, buyer, relayer, settings):
    sync()  # the relayer node admitted at deploy
    url = "/api/monitoring/nodes"
    refused = client.get(url, headers=login_as(buyer))
    assert refused.status_code == 403 and refused.json()["detail"] == "requires role: monitor"
    assert client.get(url).status_code == 401

    panel = client.get(url, headers=monitor).json()
    assert panel["authority_count"] >= panel["quorum"] >= 1
    assert panel["silence_seconds"] == settings.monitoring_node_silence_seconds
    (node,) = [n for n in panel["nodes"] if n["address"] == relayer.address]
    # Admitted but never heard from: silent, with no age.
    assert node["status"] == "active" and node["silent"] is True
    assert node["last_heartbeat_ms"] is None and node["heartbeat_age_seconds"] is None

    now = int(time.time() * 1000)
    db.add(NodeHeartbeat(address=relayer.address, endpoint="http://127.0.0.1:8600", sent_ms=now, received_ms=now))
    db.commit()
    (node,) = [n for n in client.get(url, headers=monitor).json()["nodes"] if n["address"] == relayer.address]
    assert node["silent"] is False and node["last_heartbeat_ms"] == now and node["heartbeat_age_seconds"] < 60

    beat = db.get(NodeHeartbeat, relayer.address)
    beat.received_ms = now - (settings.monitoring_node_silence_seconds + 5) * 1000
    db.commit()
    (node,) = [n for n in client.get(url, headers=monitor).json()["nodes"] if n["address"] == relayer.address]
    assert node["silent"] is True and node["heartbeat_age_seconds"] >= settings.monitoring_node_silence_seconds + 5


# ------------------------------------------------------------------ live feed


def test_feed__new_alerts_and_changes_arrive(client, monitor, raise_alert):
    with client.websocket_connect(WS, headers=session_cookie(monitor)) as ws:
        assert receive_json(ws) == {"type": "subscribed"}
        alert_id = raise_alert()
        pushed = receive_json(ws)
        assert pushed["type"] == "alert" and pushed["alert"]["id"] == alert_id and pushed["alert"]["revision"] == 1
        client.post(f"/api/monitoring/alerts/{alert_id}/acknowledge", json={}, headers=monitor)
        changed = receive_json(ws)
        assert changed["alert"]["status"] == "acknowledged" and changed["alert"]["revision"] == 2


def test_feed__chain_alert_arrives(client, sync, monitor, create_ad, open_order):
    ad = create_ad()
    with client.websocket_connect(WS, headers=session_cookie(monitor)) as ws:
        receive_json(ws)
        for _ in range(3):
            open_order(ad)
        sync()
        assert receive_json(ws)["alert"]["rule"] == "order_burst"


@pytest.mark.parametrize("who", [None, "user", "frozen"])
def test_feed__refused(client, db, login_as, buyer, who):
    headers = {}
    if who is not None:
        headers = session_cookie(login_as(buyer, roles=("monitor",) if who == "frozen" else ("user",)))
        if who == "frozen":
            user = db.exec(select(User).where(User.address == buyer.address)).one()
            user.frozen = True
            db.add(user)
            db.commit()
    with client.websocket_connect(WS, headers=headers) as ws, pytest.raises(WebSocketDisconnect) as refused:
        receive_json(ws)
    assert refused.value.code == (4401 if who is None else 4403)


def test_feed__a_foreign_page_refused_at_the_handshake(client, monitor):
    """A monitor's browser on another site would send the desk's cookie with the handshake."""
    headers = {**session_cookie(monitor), "origin": "https://evil.example"}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(WS, headers=headers):
        pass  # never accepted: the first frame is never sent
    assert refused.value.code == 4403
    with client.websocket_connect(WS, headers={**session_cookie(monitor), "origin": "http://testserver"}) as ws:
        assert receive_json(ws) == {"type": "subscribed"}


# -------------------------------------------------------------------- freezes


def test_freeze__refuses_api_sign_in_chat_and_relay(client, db, monitor, login_as, sync, create_ad, open_order, buyer):
    order_id = open_order(create_ad())
    sync()
    buyer_headers = login_as(buyer)
    url = f"/api/monitoring/accounts/{buyer.address}"
    frozen = client.post(f"{url}/freeze", json={"note": "face mismatch on camera"}, headers=monitor)
    assert frozen.status_code == 200, frozen.text
    body = frozen.json()
    assert body["frozen"] and body["in_force"] == ["backend"] and body["freeze_note"] == "face mismatch on camera"
    me = client.get("/api/auth/me", headers=buyer_headers)
    assert me.status_code == 403 and me.json()["detail"] == "this account is frozen"
    chat = client.post(f"/api/orders/{order_id}/chat", json={"body": "hi"}, headers=buyer_headers)
    assert chat.status_code == 403
    relay = client.post(
        "/api/relay/submit",
        json={"action": "cancel", "order_id": order_id, "nonce": 0, "deadline": 2**40, "signature": "0x" + "11" * 65},
    )
    assert relay.status_code == 403
    assert relay.json()["detail"] == f"relaying cancel refused: the account {buyer.address} is frozen by the desk"
    again = client.post(f"{url}/freeze", json={"note": "twice"}, headers=monitor)
    assert again.status_code == 409 and again.json()["detail"] == f"{buyer.address} is already frozen"
    thawed = client.post(f"{url}/unfreeze", json={"note": "cleared by phone"}, headers=monitor)
    assert thawed.status_code == 200 and thawed.json()["in_force"] == []
    assert client.get("/api/auth/me", headers=buyer_headers).status_code == 200
    actions = [a["action"] for a in client.get(url, headers=monitor).json()["actions"]]
    assert actions == ["unfreeze", "freeze"]
    # Both are in the shared, hash-chained audit log, and the chain still verifies.
    from backend.kyc import service as kyc
    from backend.kyc.models import KycAuditEntry

    db.expire_all()
    logged = db.exec(select(KycAuditEntry).order_by(KycAuditEntry.seq)).all()
    assert [e.action for e in logged] == ["monitoring.freeze", "monitoring.unfreeze"]
    assert buyer.address in logged[0].detail and "face mismatch on camera" in logged[0].detail
    assert kyc.verify_audit(db)["ok"]


def test_freeze__unknown_address_frozen_before_first_sign_in(client, db, monitor):
    response = client.post(f"/api/monitoring/accounts/{B}/freeze", json={"note": "sanctions list"}, headers=monitor)
    assert response.status_code == 200 and response.json()["frozen"]
    user = db.exec(select(User).where(User.address == response.json()["address"])).one()
    assert user.frozen


def test_freeze__refused_cases(client, monitor, other):
    own = client.post(f"/api/monitoring/accounts/{other.address}/freeze", json={"note": "x"}, headers=monitor)
    assert own.status_code == 400 and own.json()["detail"] == "you cannot freeze or unfreeze your own account"
    no_note = client.post(f"/api/monitoring/accounts/{A}/freeze", json={}, headers=monitor)
    assert no_note.status_code == 422
    bad = client.post("/api/monitoring/accounts/0xnope/freeze", json={"note": "x"}, headers=monitor)
    assert bad.status_code == 422 and "not an address" in bad.json()["detail"]
    not_frozen = client.post(f"/api/monitoring/accounts/{A}/unfreeze", json={"note": "x"}, headers=monitor)
    assert not_frozen.status_code == 409


def test_standing__kyc_revoked_on_chain_is_in_force(client, sync, monitor, kyc_registry, admin, buyer, chain):
    kyc_registry.attest(buyer, 1, chain.pending_timestamp + 86_400, b"\x07" * 32, sender=admin)
    kyc_registry.revoke(buyer, "document forged", sender=admin)
    sync()
    standing = client.get(f"/api/monitoring/accounts/{buyer.address}", headers=monitor).json()
    assert standing["in_force"] == ["chain"] and not standing["frozen"]
    assert standing["kyc"]["revoked"] and standing["kyc"]["revoke_reason"] == "document forged"
    assert standing["kyc_min_level"] == 1  # the local deploy turns the KYC switch on
