"""The indexer's producer check: answers cached only until a membership change, a check
that cannot be answered is an error (never a refusal), the mode from the manifest or the
environment, and a status that says when the desk's events are being refused."""

import json
from dataclasses import replace

from eth_utils import keccak
from fastapi.testclient import TestClient
from sqlmodel import func, select

from backend.chain.indexer import Indexer
from backend.chain.models import IndexedBlock
from backend.main import create_app
from backend.market.models import Ad
from backend.projections import all_projections


def produced_by(chain, producer, admin, action):
    chain.provider.make_request("anvil_setCoinbase", [producer.address])
    try:
        return action()
    finally:
        chain.provider.make_request("anvil_setCoinbase", [admin.address])


def by_quorum(node_registry, accounts, propose):
    """Carry out a NodeRegistry proposal as the three local authorities (0, 7, 8) do: the
    proposer's approval and two more. Returns a callable sending the approval that executes it."""
    proposal = propose(sender=accounts[0]).return_value
    node_registry.approve(proposal, sender=accounts[7])
    return lambda: node_registry.approve(proposal, sender=accounts[8])


def test_producer_check__admitted_after_a_refused_block__later_blocks_accepted(
    client, db, sync, chain, node_registry, create_ad, admin, other, accounts
):
    rogue = produced_by(chain, other, admin, create_ad)
    sync()  # `other` is refused here, and that answer is remembered
    # The admission itself lands in a block `other` produces: NodeRegistry's state after
    # that block authorizes it, and every later block of it is accepted.
    hw, challenge = keccak(text="hw"), keccak(text="c")
    admission = by_quorum(
        node_registry,
        accounts,
        lambda sender: node_registry.propose_node(other, "http://x:8000", hw, challenge, sender=sender),
    )
    produced_by(chain, other, admin, admission)
    later = produced_by(chain, other, admin, create_ad)
    sync()
    db.expire_all()
    assert db.get(Ad, rogue) is None and db.get(Ad, later) is not None
    refused = db.exec(select(IndexedBlock.number).where(IndexedBlock.accepted == False)).all()  # noqa: E712
    assert len(refused) == 1


def test_producer_check__revocation_in_a_refused_block_still_counts(
    client, db, sync, chain, node_registry, create_ad, admin, other, accounts
):
    hw, challenge = keccak(text="hw"), keccak(text="c")
    by_quorum(
        node_registry,
        accounts,
        lambda sender: node_registry.propose_node(other, "http://x:8000", hw, challenge, sender=sender),
    )()
    first = produced_by(chain, other, admin, create_ad)
    sync()  # `other` is authorized here, and that answer is remembered
    # The revocation's own block is refused (the state after it no longer authorizes
    # `other`), so its NodeRevoked is never ingested: the window's raw logs still count.
    revocation = by_quorum(
        node_registry, accounts, lambda sender: node_registry.propose_revocation(other, "gone", sender=sender)
    )
    produced_by(chain, other, admin, revocation)
    second = produced_by(chain, other, admin, create_ad)
    third = create_ad()
    sync()
    db.expire_all()
    assert db.get(Ad, first) is not None and db.get(Ad, second) is None and db.get(Ad, third) is not None


def test_producer_check__unanswerable_is_an_error_to_retry_not_a_refusal(client, db):
    """A deploy block before NodeRegistry's code: the call fails (BadFunctionCallOutput);
    nothing is refused or stored, the failure is reported and retried."""
    state = client.app.state
    early = replace(state.chain.deployment, deploy_block=state.chain.deployment.deploy_block - 1)
    indexer = Indexer(engine=state.engine, w3=state.chain.w3, deployment=early, projections=all_projections())
    state.indexer = indexer
    assert indexer.run_once() is None and indexer.run_once() is None
    assert "has no code at block" in indexer.failure.error
    assert db.exec(select(func.count(IndexedBlock.number))).one() == 0
    status = client.get("/api/chain/status").json()
    assert status["healthy"] is False and "has no code at block" in status["problems"][0]


def test_status__unhealthy_while_the_desks_events_are_refused(client, sync, chain, create_ad, admin, other):
    produced_by(chain, other, admin, create_ad)
    sync()
    status = client.get("/api/chain/status").json()
    assert status["healthy"] is False and status["refused_with_desk_logs"] == 1
    assert "being refused" in status["problems"][0] and other.address in status["problems"][0]
    assert status["last_refused"][0]["producer"] == other.address and status["last_refused"][0]["desk_logs"] >= 1

    create_ad()  # the desk's events flow again
    sync()
    status = client.get("/api/chain/status").json()
    assert status["healthy"] is True and status["problems"] == [] and status["refused_blocks"] == 1


def test_producer_check__mode_from_the_manifest_unless_the_environment_sets_it(
    settings, manifest, tmp_path, token, chain, create_ad, admin, other, monkeypatch
):
    public = {k: v for k, v in manifest.items() if k != "path"} | {"producer_check": False}
    path = tmp_path / "public.json"
    path.write_text(json.dumps(public))
    rogue = produced_by(chain, other, admin, create_ad)

    with TestClient(create_app(settings.model_copy(update={"manifest_path": path}))) as client:
        assert client.app.state.indexer.producer_check is False
        client.app.state.indexer.catch_up()
        assert rogue in {ad["id"] for ad in client.get("/api/ads").json()["items"]}
        assert client.get("/api/chain/status").json()["refused_blocks"] == 0

    monkeypatch.setenv("SENTINEL_PRODUCER_CHECK", "true")
    from backend.config import Settings

    overridden = Settings(**settings.model_dump(exclude={"producer_check"}) | {"manifest_path": path})
    with TestClient(create_app(overridden)) as client:
        assert client.app.state.indexer.producer_check is True and client.app.state.settings.producer_check is True
