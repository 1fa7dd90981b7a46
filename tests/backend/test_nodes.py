"""Permissioned nodes: admission by challenge and quorum, refusals with their reasons,
real node agent processes that relay users' signed actions, failover, revocation, producers.

The protocol tests drive the API in process with a candidate key held by the test (the
same challenge code the agent runs). The agent tests start `python -m scripts.node_agent`
as real processes against the backend served by uvicorn on a free port.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import UNIT
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlmodel import Session, select

from backend.chain.models import ChainIncident, IndexedBlock
from backend.crypto import new_key
from backend.main import create_app
from backend.nodes import challenge as work
from backend.nodes.models import NodeAdmission, NodeHeartbeat
from scripts.node_agent import load_or_create_key

ROOT = Path(__file__).resolve().parents[2]
REF = "0x" + "5a" * 32
HARDWARE = {
    "cpu_cores": 8,
    "cpu_model": "Test CPU",
    "memory_mb": 16_384,
    "disk_free_gb": 100.0,
    "gpus": [],
    "os": "Linux-test",
}


@pytest.fixture
def settings(settings):
    # A light challenge: the tests are about the checks, the benchmark about the cost.
    return settings.model_copy(
        update={"node_challenge_packets": 8, "node_challenge_difficulty_bits": 8, "node_challenge_seconds": 20.0}
    )


@pytest.fixture(scope="session")
def authorities(accounts):
    """The three local authorities of `ape run deploy`: accounts 0, 7 and 8."""
    return [accounts[0], accounts[7], accounts[8]]


def candidate_key():
    return Account.create()


def ask(client, candidate, authority=None):
    body = {"candidate": candidate.address}
    if authority is not None:
        body["authority"] = authority.address if hasattr(authority, "address") else authority
    response = client.post("/api/nodes/challenges", json=body)
    return response


def answer(client, challenge, candidate, *, signer=None, results=None, hardware=None, endpoint="http://127.0.0.1:9"):
    results = (
        results
        if results is not None
        else work.solve(
            nonce=challenge["nonce"], packets=challenge["packets"], difficulty_bits=challenge["difficulty_bits"]
        )
    )
    hardware = hardware or HARDWARE
    data = work.answer_typed_data(
        chain_id=challenge["chain_id"],
        registry=challenge["registry"],
        digest=challenge["digest"],
        candidate=candidate.address,
        endpoint=endpoint,
        results=work.results_hash(results),
        report=work.report_hash(hardware),
    )
    body = {
        "results": results,
        "hardware": hardware,
        "endpoint": endpoint,
        "signature": work.sign_typed((signer or candidate).key, data),
    }
    return client.post(f"/api/nodes/challenges/{challenge['id']}/answer", json=body)


def admit(client, candidate, authorities, **options):
    """Answers one challenge from each authority; returns the decisions."""
    decisions = []
    for authority in authorities:
        challenge = ask(client, candidate, authority)
        assert challenge.status_code == 201, challenge.text
        response = answer(client, challenge.json(), candidate, **options)
        assert response.status_code == 200, response.text
        decisions.append(response.json())
    return decisions


def recorded(db, candidate):
    db.expire_all()
    rows = db.exec(select(NodeAdmission).where(NodeAdmission.candidate == candidate.address)).all()
    return [(r.outcome, r.check, r.reason) for r in sorted(rows, key=lambda r: r.id)]


def heartbeat(client, candidate, *, sent_ms=None, endpoint="http://127.0.0.1:9", signer=None, chain_id=None):
    sent_ms = sent_ms or work.now_ms()
    chain_id = chain_id or client.get("/api/chain/deployment").json()["chain_id"]
    signature = work.sign_heartbeat(
        (signer or candidate).key, chain_id=chain_id, node=candidate.address, endpoint=endpoint, sent_at=sent_ms
    )
    body = {"node": candidate.address, "endpoint": endpoint, "sent_ms": sent_ms, "signature": signature}
    return client.post("/api/nodes/heartbeats", json=body)


# ------------------------------------------------------------- admission protocol


def test_admission__three_authorities_admit(client, db, node_registry, authorities):
    candidate = candidate_key()
    decisions = admit(client, candidate, authorities)
    assert [d["approvals"] for d in decisions] == [1, 2, 3]
    assert all(d["quorum"] == 3 and d["outcome"] == "accepted" for d in decisions)
    assert [d["admitted"] for d in decisions] == [False, False, True]
    assert {d["authority"] for d in decisions} == {a.address for a in authorities}
    assert len({d["proposal_id"] for d in decisions}) == 1
    assert node_registry.is_authorized(candidate.address)
    node = node_registry.nodes(candidate.address)
    assert node.endpoint == "http://127.0.0.1:9"
    assert "0x" + node.hardware_hash.hex() == work.report_hash(HARDWARE) == decisions[0]["report_hash"]
    assert "0x" + node.challenge_digest.hex() == decisions[0]["challenge_digest"]
    assert [r[:2] for r in recorded(db, candidate)] == [("accepted", "passed")] * 3
    assert "3 of 3 approvals, admitted" in recorded(db, candidate)[-1][2]


def test_refusal__late_answer(client, db, settings, node_registry):
    client.app.state.settings = settings.model_copy(update={"node_challenge_seconds": 0.3})
    candidate = candidate_key()
    challenge = ask(client, candidate).json()
    time.sleep(0.5)
    response = answer(client, challenge, candidate)
    assert response.status_code == 410 and "answer too late" in response.json()["detail"]
    assert recorded(db, candidate) == [("refused", "deadline", response.json()["detail"])]
    assert not node_registry.is_authorized(candidate.address)


def test_refusal__wrong_result(client, db, node_registry):
    candidate = candidate_key()
    challenge = ask(client, candidate).json()
    results = work.solve(nonce=challenge["nonce"], packets=challenge["packets"], difficulty_bits=8)
    # The smallest counter after the right one that fails the difficulty: a wrong answer.
    bad = results[3] + 1
    while work.meets(bytes.fromhex(challenge["nonce"][2:]), bytes.fromhex(challenge["packets"][3][2:]), bad, 8):
        bad += 1
    results[3] = bad
    response = answer(client, challenge, candidate, results=results)
    assert response.status_code == 400
    assert response.json()["detail"] == "wrong result for packet 3: the hash has fewer than 8 zero bits"
    assert recorded(db, candidate) == [("refused", "results", response.json()["detail"])]
    # Too few results is a wrong answer as well.
    challenge = ask(client, candidate).json()
    response = answer(client, challenge, candidate, results=[0])
    assert response.status_code == 400 and response.json()["detail"] == "1 results for 8 packets"
    assert not node_registry.is_authorized(candidate.address)


def test_refusal__replayed_challenge(client, db, node_registry):
    candidate = candidate_key()
    challenge = ask(client, candidate).json()
    assert answer(client, challenge, candidate).status_code == 200
    again = answer(client, challenge, candidate)
    assert again.status_code == 409
    assert again.json()["detail"] == f"challenge {challenge['id']} was already answered: each challenge is single-use"
    assert [r[:2] for r in recorded(db, candidate)] == [("accepted", "passed"), ("refused", "replay")]
    assert node_registry.proposals(node_registry.proposal_count()).approvals == 1  # the replay approved nothing


def test_refusal__report_signed_by_another_key(client, db, node_registry):
    candidate = candidate_key()
    impostor = candidate_key()
    challenge = ask(client, candidate).json()
    response = answer(client, challenge, candidate, signer=impostor)
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"the answer is not signed by the candidate {candidate.address}: it recovers to {impostor.address}"
    )
    assert recorded(db, candidate) == [("refused", "signature", response.json()["detail"])]
    # A report changed after signing no longer matches the signature either.
    challenge = ask(client, candidate).json()
    results = work.solve(nonce=challenge["nonce"], packets=challenge["packets"], difficulty_bits=8)
    data = work.answer_typed_data(
        chain_id=challenge["chain_id"],
        registry=challenge["registry"],
        digest=challenge["digest"],
        candidate=candidate.address,
        endpoint="http://127.0.0.1:9",
        results=work.results_hash(results),
        report=work.report_hash(HARDWARE),
    )
    body = {
        "results": results,
        "hardware": {**HARDWARE, "cpu_cores": 64},
        "endpoint": "http://127.0.0.1:9",
        "signature": work.sign_typed(candidate.key, data),
    }
    response = client.post(f"/api/nodes/challenges/{challenge['id']}/answer", json=body)
    assert response.status_code == 400 and "not signed by the candidate" in response.json()["detail"]
    assert not node_registry.is_authorized(candidate.address)


def test_refusal__hardware_under_minimums(client, db, settings, node_registry):
    client.app.state.settings = settings.model_copy(update={"node_min_cpu_cores": 16, "node_min_memory_mb": 32_768})
    candidate = candidate_key()
    response = answer(client, ask(client, candidate).json(), candidate)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "hardware under the minimums: 8 CPU cores, at least 16 required; 16384 MB memory, at least 32768 MB required"
    )
    assert recorded(db, candidate) == [("refused", "hardware", response.json()["detail"])]
    assert not node_registry.is_authorized(candidate.address)


def test_refusal__approvals_short_of_quorum(client, db, node_registry, authorities):
    candidate = candidate_key()
    decisions = admit(client, candidate, authorities[:2])
    assert decisions[-1]["approvals"] == 2 and decisions[-1]["quorum"] == 3 and not decisions[-1]["admitted"]
    assert "2 of 3 approvals, not yet admitted, 1 more approval(s) needed" in recorded(db, candidate)[-1][2]
    assert not node_registry.is_authorized(candidate.address)
    # Not admitted: the platform takes no heartbeat from it, so it is never routed to.
    beat = heartbeat(client, candidate)
    assert beat.status_code == 403 and "is not admitted" in beat.json()["detail"]
    status = client.get("/api/nodes/status").json()
    node = next(n for n in status["nodes"] if n["address"] == candidate.address)
    assert node["state"] == "pending" and node["live"] is False


def test_revocation__by_quorum_then_refused_everywhere(
    client, db, login_as, admin, node_registry, authorities, order_id, buyer, settings
):
    candidate = candidate_key()
    admit(client, candidate, authorities)
    assert heartbeat(client, candidate).status_code == 200
    headers = login_as(admin, roles=("admin",))
    assert client.post(f"/api/nodes/{candidate.address}/revocations", json={"reason": "x"}).status_code == 401
    started = client.post(
        f"/api/nodes/{candidate.address}/revocations", json={"reason": "compromised host"}, headers=headers
    )
    assert started.status_code == 201, started.text
    proposal = started.json()
    assert proposal["approvals"] == 1 and not proposal["executed"]
    assert node_registry.is_authorized(candidate.address)  # one authority is not a quorum
    status = client.get("/api/nodes/status").json()
    pending = next(p for p in status["proposals"] if p["id"] == proposal["proposal_id"])
    assert pending["kind"] == "revoke" and pending["approved_by"] == [authorities[0].address]
    for authority in authorities[1:]:
        approved = client.post(
            f"/api/nodes/proposals/{proposal['proposal_id']}/approvals",
            json={"authority": authority.address},
            headers=headers,
        )
        assert approved.status_code == 200, approved.text
    assert approved.json()["executed"] and not node_registry.is_authorized(candidate.address)
    # Approving an executed proposal is refused with the contract's reason.
    again = client.post(
        f"/api/nodes/proposals/{proposal['proposal_id']}/approvals",
        json={"authority": authorities[0].address},
        headers=headers,
    )
    assert again.status_code == 409 and "already executed" in again.json()["detail"]

    # The platform: no heartbeat taken, no relay routed to it (own-key fallback off here).
    beat = heartbeat(client, candidate)
    assert beat.status_code == 403 and "was revoked" in beat.json()["detail"]
    client.app.state.settings = settings.model_copy(update={"relay_fallback_to_own_key": False})
    response = relay_via(client, "mark_paid", order_id, buyer, payment_ref=REF)
    assert response.status_code == 503 and "no admitted node is live" in response.json()["detail"]
    # The candidate asking again: refused, with the reason recorded.
    refused = ask(client, candidate)
    assert refused.status_code == 403 and "was revoked" in refused.json()["detail"]
    assert recorded(db, candidate)[-1][:2] == ("refused", "revoked")
    node = next(n for n in client.get("/api/nodes/status").json()["nodes"] if n["address"] == candidate.address)
    assert node["state"] == "revoked" and node["revoked_reason"] == "compromised host"


def test_heartbeat__checks(client, authorities):
    candidate = candidate_key()
    admit(client, candidate, authorities)
    sent = work.now_ms()
    assert heartbeat(client, candidate, sent_ms=sent).status_code == 200
    replay = heartbeat(client, candidate, sent_ms=sent)
    assert replay.status_code == 409 and "replayed" in replay.json()["detail"]
    forged = heartbeat(client, candidate, signer=candidate_key())
    assert forged.status_code == 400 and "not signed by" in forged.json()["detail"]
    stale = heartbeat(client, candidate, sent_ms=sent - 120_000)
    assert stale.status_code == 400 and "from the platform's clock" in stale.json()["detail"]


def test_nodes_api__bad_input(client, login_as, other):
    assert client.post("/api/nodes/challenges", json={"candidate": "0x12"}).status_code == 422
    unknown = client.post("/api/nodes/challenges", json={"candidate": other.address, "authority": other.address})
    assert unknown.status_code == 404 and "not an authority key this backend holds" in unknown.json()["detail"]
    body = {"results": [1], "hardware": HARDWARE, "endpoint": "http://x:1", "signature": "0x" + "ab" * 65}
    missing = client.post("/api/nodes/challenges/nope/answer", json=body)
    assert missing.status_code == 404 and "no challenge nope" in missing.json()["detail"]
    bad_endpoint = client.post("/api/nodes/challenges/nope/answer", json={**body, "endpoint": "ftp://x"})
    assert bad_endpoint.status_code == 422 and bad_endpoint.json()["detail"].startswith("endpoint:")
    extra = client.post("/api/nodes/challenges/nope/answer", json={**body, "hardware": {**HARDWARE, "x": 1}})
    assert extra.status_code == 422
    user = login_as(other)
    forbidden = client.post(f"/api/nodes/{other.address}/revocations", json={"reason": "r"}, headers=user)
    assert forbidden.status_code == 403
    admin = login_as(other, roles=("admin",))
    not_node = client.post(f"/api/nodes/{other.address}/revocations", json={"reason": "r"}, headers=admin)
    assert not_node.status_code == 409 and "node not admitted" in not_node.json()["detail"]
    no_proposal = client.post(
        "/api/nodes/proposals/999/approvals",
        json={"authority": client.get("/api/nodes/authorities").json()[0]["address"]},
        headers=admin,
    )
    assert no_proposal.status_code == 404


def test_challenges__open_ones_are_limited(client, settings):
    client.app.state.settings = settings.model_copy(update={"node_open_challenges_max": 2})
    candidate = candidate_key()
    assert ask(client, candidate).status_code == 201 and ask(client, candidate).status_code == 201
    third = ask(client, candidate)
    assert third.status_code == 429 and "open challenges" in third.json()["detail"]


# ------------------------------------------------------------------ producers


def test_producer__refused_until_admitted_by_the_flow(
    client, db, sync, chain, create_ad, admin, authorities, node_registry
):
    producer = candidate_key()
    chain.provider.make_request("anvil_setCoinbase", [producer.address])
    try:
        create_ad()
    finally:
        chain.provider.make_request("anvil_setCoinbase", [admin.address])
    sync()
    refused = db.exec(select(IndexedBlock).where(IndexedBlock.producer == producer.address)).all()
    assert len(refused) == 1 and not refused[0].accepted
    incident = db.exec(select(ChainIncident).where(ChainIncident.kind == "unauthorized_producer")).one()
    assert incident.block_number == refused[0].number

    admit(client, producer, authorities)
    chain.provider.make_request("anvil_setCoinbase", [producer.address])
    try:
        create_ad()
    finally:
        chain.provider.make_request("anvil_setCoinbase", [admin.address])
    sync()
    db.expire_all()
    blocks = db.exec(select(IndexedBlock).where(IndexedBlock.producer == producer.address)).all()
    assert [b.accepted for b in sorted(blocks, key=lambda b: b.number)] == [False, True]


# ------------------------------------------------------------ relay helpers


def sign(account, typed_data) -> str:
    return Account.sign_message(encode_typed_data(full_message=typed_data), account.private_key).signature.to_0x_hex()


def relay_via(http, action, order_id, account, *, payment_ref=None):
    body = {"action": action, "order_id": order_id}
    if payment_ref:
        body["payment_ref"] = payment_ref
    prepared = http.post("/api/relay/prepare", json=body)
    assert prepared.status_code == 200, prepared.text
    typed = prepared.json()["typed_data"]
    submit = {
        **body,
        "nonce": int(typed["message"]["nonce"]),
        "deadline": int(typed["message"]["deadline"]),
        "signature": sign(account, typed),
    }
    response = http.post("/api/relay/submit", json=submit)
    response.submitted = submit  # for a replay
    return response


@pytest.fixture
def order_id(create_ad, open_order):
    return open_order(create_ad(), 100 * UNIT)


# ----------------------------------------------------------- real agent processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    app: object
    http: httpx.Client


@pytest.fixture
def server(settings, token):
    """The backend served by uvicorn on a free port: agents are separate processes."""
    app = create_app(settings.model_copy(update={"relay_fallback_to_own_key": False}))
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline, "backend did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=60) as http:
        yield Server(url=url, app=app, http=http)
    uv.should_exit = True
    thread.join(timeout=10)


@dataclass
class AgentProcess:
    address: str
    endpoint: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def start_agent(server, chain, manifest, tmp_path):
    started = []

    def start(name, *, heartbeat_seconds=0.3):
        keyfile = tmp_path / name / "node.key"
        address = load_or_create_key(keyfile).address
        chain.provider.set_balance(address, 10**20)  # the operator funds its node's gas
        port = _free_port()
        log_path = tmp_path / name / "agent.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scripts.node_agent",
                    "run",
                    "--platform",
                    server.url,
                    "--rpc",
                    chain.provider.uri,
                    "--manifest",
                    manifest["path"],
                    "--keyfile",
                    str(keyfile),
                    "--port",
                    str(port),
                    "--heartbeat-seconds",
                    str(heartbeat_seconds),
                    "--retry-seconds",
                    "2",
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        agent = AgentProcess(address, f"http://127.0.0.1:{port}", process, log_path)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        if agent.process.poll() is None:
            agent.process.terminate()
            try:
                agent.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.process.kill()
                agent.process.wait()


def wait_live(server, node_registry, agent, timeout=90.0):
    """Until NodeRegistry admits the agent and the platform has its heartbeat."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert agent.process.poll() is None, f"agent exited:\n{agent.log()}"
        if node_registry.is_authorized(agent.address):
            status = server.http.get("/api/nodes/status").json()
            if any(n["address"] == agent.address and n["live"] for n in status["nodes"]):
                return status
        time.sleep(0.2)
    raise AssertionError(f"agent {agent.address} not admitted and live:\n{agent.log()}")


def test_agent__admitted_end_to_end_and_relays(
    server, start_agent, chain, node_registry, escrow, order_id, buyer, seller, authorities
):
    agent = start_agent("node-a")
    status = wait_live(server, node_registry, agent)

    admissions = [a for a in status["admissions"] if a["candidate"] == agent.address]
    assert sorted(a["authority"] for a in admissions) == sorted(a.address for a in authorities)
    assert all(a["outcome"] == "accepted" for a in admissions)
    node = next(n for n in status["nodes"] if n["address"] == agent.address)
    assert node["state"] == "admitted" and node["endpoint"] == agent.endpoint
    assert node["hardware"]["cpu_cores"] >= 1 and node["hardware"]["memory_mb"] > 0
    health = httpx.get(f"{agent.endpoint}/health").json()
    assert health["state"] == "admitted" and health["node"] == agent.address

    paid = relay_via(server.http, "mark_paid", order_id, buyer, payment_ref=REF)
    assert paid.status_code == 200, paid.text + agent.log()
    result = paid.json()
    assert result["node"] == result["relayer"] == agent.address and result["endpoint"] == agent.endpoint
    assert result["status"] == "mined"
    sent = chain.provider.web3.eth.get_transaction(result["tx_hash"])
    assert sent["from"] == agent.address and sent["to"] == escrow.address
    assert chain.provider.web3.eth.get_transaction_receipt(result["tx_hash"])["status"] == 1
    assert escrow.orders(order_id).status == 2  # PAID

    released = relay_via(server.http, "release", order_id, seller)
    assert released.status_code == 200, released.text
    assert released.json()["node"] == agent.address
    assert chain.provider.web3.eth.get_transaction(released.json()["tx_hash"])["from"] == agent.address
    assert escrow.orders(order_id).status == 3  # RELEASED

    # A refusal from the node (a replayed action) is the user's answer, not a failover.
    replay = server.http.post("/api/relay/submit", json=released.submitted)
    assert replay.status_code == 409 and "nonce already used" in replay.json()["detail"]


def test_agent__killed_node_fails_over_to_another(
    server, start_agent, chain, node_registry, create_ad, open_order, buyer
):
    # The desk tries the freshest heartbeat first. node-a beats every 0.3 s, node-b once
    # (its next beat would come after this test), so once node-a is killed its last beat is
    # still the freshest: the desk tries the dead node first and must fail over to node-b.
    killed, survivor = start_agent("node-a", heartbeat_seconds=0.3), start_agent("node-b", heartbeat_seconds=25)
    for agent in (killed, survivor):
        wait_live(server, node_registry, agent)
    ad_id = create_ad()
    first, second = open_order(ad_id, 50 * UNIT), open_order(ad_id, 50 * UNIT)
    served = relay_via(server.http, "mark_paid", first, buyer, payment_ref=REF)
    assert served.status_code == 200, served.text

    killed.process.kill()
    killed.process.wait()
    with Session(server.app.state.engine) as session:
        beats = {a.address: session.get(NodeHeartbeat, a.address).received_ms for a in (killed, survivor)}
    assert beats[killed.address] > beats[survivor.address], "the killed node must be the one tried first"
    after = relay_via(server.http, "mark_paid", second, buyer, payment_ref=REF)
    assert after.status_code == 200, after.text + survivor.log()
    assert after.json()["node"] == survivor.address
    assert chain.provider.web3.eth.get_transaction(after.json()["tx_hash"])["from"] == survivor.address
    with Session(server.app.state.engine) as session:
        assert session.get(NodeHeartbeat, killed.address).failed_ms is not None
    status = server.http.get("/api/nodes/status").json()
    live = {n["address"]: n["live"] for n in status["nodes"]}
    assert live[survivor.address] is True


def test_start_up__anvil_authority_keys_refused_off_a_local_chain(settings, manifest, tmp_path, token):
    import json

    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    remote = {**json.loads(Path(manifest["path"]).read_text()), "chain_id": 11155111}
    path = tmp_path / "11155111.json"
    path.write_text(json.dumps(remote))
    own_keys = {
        "manifest_path": path,
        "relayer_private_key": SecretStr(Account.create().key.to_0x_hex()),
        "kyc_officer_private_key": SecretStr(Account.create().key.to_0x_hex()),
        "kyc_keys": {settings.kyc_current_key_id: SecretStr(new_key())},
    }
    app = create_app(settings.model_copy(update=own_keys))
    with pytest.raises(RuntimeError, match="well-known authority keys"), TestClient(app):
        pass
    # With this authority's own key (or none), it starts.
    ok = settings.model_copy(update={**own_keys, "authority_keys": []})
    with TestClient(create_app(ok)) as client:
        assert client.get("/api/nodes/authorities").json() == []


def test_relay__a_node_answering_with_a_foreign_hash_is_skipped(client, db, authorities, order_id, buyer, relayer):
    """An admitted node that claims a transaction it did not send is passed over (here to
    the desk's own key, the fallback being on) and marked failed until its next heartbeat."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Liar(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"tx_hash": "0x" + "ab" * 32, "node": candidate.address}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    candidate = candidate_key()
    liar = ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    threading.Thread(target=liar.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{liar.server_address[1]}"
    try:
        admit(client, candidate, authorities, endpoint=endpoint)
        assert heartbeat(client, candidate, endpoint=endpoint).status_code == 200
        response = relay_via(client, "mark_paid", order_id, buyer, payment_ref=REF)
    finally:
        liar.shutdown()
    assert response.status_code == 200, response.text
    assert response.json()["node"] == relayer.address and response.json()["endpoint"] is None
    db.expire_all()
    assert db.get(NodeHeartbeat, candidate.address).failed_ms is not None


def test_agent_key__made_once_kept_private(tmp_path):
    keyfile = tmp_path / "node" / "node.key"
    first = load_or_create_key(keyfile)
    again = load_or_create_key(keyfile)
    assert first.address == again.address
    assert keyfile.stat().st_mode & 0o777 == 0o600
    assert first.key.hex().removeprefix("0x") not in keyfile.read_text()  # an encrypted keystore
    printed = subprocess.run(
        [sys.executable, "-m", "scripts.node_agent", "address", "--keyfile", str(keyfile)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.strip() == first.address
