"""Nodes benchmark: what a challenge costs the candidate and the authority, how many
admissions one authority key processes, and how many relayed actions one node sends.

make bench   (or: python -m bench.nodes)
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn
from ape import accounts
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi.testclient import TestClient
from web3 import Web3
from web3.logs import DISCARD

from backend.chain.contracts import Deployment
from backend.chain.deps import ChainContext
from backend.config import Settings
from backend.main import create_app
from backend.nodes import challenge as work
from backend.nodes.models import NodeChallenge
from backend.nodes.schemas import ChallengeAnswer
from backend.nodes.service import verify_answer
from backend.relay.service import typed_data
from bench._chain import UNIT, Traffic, deployed_chain, seller_ad_args
from bench._server import free_port
from scripts.node_agent import hardware_report, load_or_create_key

ROOT = Path(__file__).resolve().parent.parent
HARDWARE = hardware_report(ROOT)
ADMISSIONS = 12
RELAYS_PER_BUYER = 25


def _answer(challenge: dict, candidate, endpoint="http://127.0.0.1:9") -> tuple[dict, float]:
    started = time.perf_counter()
    results = work.solve(
        nonce=challenge["nonce"], packets=challenge["packets"], difficulty_bits=challenge["difficulty_bits"]
    )
    solve_s = time.perf_counter() - started
    report = HARDWARE.model_dump(mode="json")
    data = work.answer_typed_data(
        chain_id=challenge["chain_id"],
        registry=challenge["registry"],
        digest=challenge["digest"],
        candidate=candidate.address,
        endpoint=endpoint,
        results=work.results_hash(results),
        report=work.report_hash(report),
    )
    body = {
        "results": results,
        "hardware": report,
        "endpoint": endpoint,
        "signature": work.sign_typed(candidate.key, data),
    }
    return body, solve_s


def verification(settings: Settings) -> None:
    """The candidate's cost and the authority's check of the same challenges (no chain)."""
    registry = "0x" + "11" * 20
    deployment = Deployment(
        chain_id=1337, deploy_block=0, addresses={"NodeRegistry": registry}, abis={}, tokens=[], token_abi=[]
    )
    chain = ChainContext(w3=None, deployment=deployment)
    solves, checks = [], []
    for _ in range(5):
        candidate = Account.create()
        now = work.now_ms()
        row = NodeChallenge(
            id=os.urandom(16).hex(),
            candidate=candidate.address,
            authority=registry,
            nonce="0x" + os.urandom(32).hex(),
            packets=["0x" + os.urandom(32).hex() for _ in range(settings.node_challenge_packets)],
            difficulty_bits=settings.node_challenge_difficulty_bits,
            digest="0x" + os.urandom(32).hex(),
            issued_ms=now,
            deadline_ms=now + 10**9,
        )
        challenge = {**row.model_dump(), "chain_id": 1337, "registry": registry}
        body, solve_s = _answer(challenge, candidate)
        solves.append(solve_s)
        answer = ChallengeAnswer.model_validate(body)
        for _ in range(20):
            started = time.perf_counter()
            failed = verify_answer(chain=chain, settings=settings, row=row, answer=answer, now=work.now_ms())
            checks.append(time.perf_counter() - started)
            assert failed is None, failed
    work_size = f"{settings.node_challenge_packets} packets x 2^{settings.node_challenge_difficulty_bits}"
    cost = statistics.median(solves) * 1000
    print(f"challenge cost to the candidate median: {cost:.0f} ms ({work_size}; target about 1000 ms)")
    print(f"verification per challenge median: {statistics.median(checks) * 1000:.2f} ms (target <= 50 ms)")


def admissions(settings: Settings) -> None:
    """Server time of one authority key per admission decision: challenge, checks, its transaction."""
    one = settings.model_copy(update={"authority_keys": settings.authority_keys[:1]})
    server_s = []
    with TestClient(create_app(one)) as client:
        for _ in range(ADMISSIONS):
            candidate = Account.create()
            started = time.perf_counter()
            challenge = client.post("/api/nodes/challenges", json={"candidate": candidate.address}).json()
            issued = time.perf_counter() - started
            body, _ = _answer(challenge, candidate)
            started = time.perf_counter()
            response = client.post(f"/api/nodes/challenges/{challenge['id']}/answer", json=body)
            server_s.append(issued + time.perf_counter() - started)
            assert response.status_code == 200, response.text
    mean = statistics.mean(server_s)
    print(f"admission decision by one authority (challenge + checks + on-chain proposal) mean: {mean * 1000:.0f} ms")
    print(f"admissions one authority can process: {60 / mean:.0f} per minute (target >= 60 per minute)")


def relays(settings: Settings, rpc_url: str, manifest: dict, manifest_path: str) -> None:
    """Signed mark-paid actions posted straight to one admitted node agent by 4 buyers at once."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    with tempfile.TemporaryDirectory() as tmp:
        keyfile = Path(tmp) / "node.key"
        node = load_or_create_key(keyfile).address
        w3.provider.make_request("anvil_setBalance", [node, hex(10**20)])
        node_port = free_port()
        log = open(Path(tmp) / "agent.log", "wb")  # noqa: SIM115  closed after the agent stops
        agent = subprocess.Popen(
            [sys.executable, "-m", "scripts.node_agent", "run", "--platform", f"http://127.0.0.1:{port}",
             "--rpc", rpc_url, "--manifest", manifest_path, "--keyfile", str(keyfile), "--port", str(node_port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            endpoint = f"http://127.0.0.1:{node_port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{endpoint}/health").json()["state"] == "admitted":
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or agent.poll() is not None:
                    raise SystemExit(f"the agent was not admitted:\n{(Path(tmp) / 'agent.log').read_text()[-3000:]}")
                time.sleep(0.2)
            actions = _signed_actions(w3, manifest)

            def post_all(batch):
                for body in batch:
                    response = httpx.post(f"{endpoint}/relay", json=body, timeout=60)
                    assert response.status_code == 200, response.text

            started = time.perf_counter()
            with ThreadPoolExecutor(len(actions)) as pool:
                list(pool.map(post_all, actions))
            elapsed = time.perf_counter() - started
        finally:
            agent.terminate()
            agent.wait(timeout=10)
            log.close()
            server.should_exit = True
    total = sum(len(batch) for batch in actions)
    rate = total / elapsed
    print(f"relayed actions through one node: {rate:.1f} per second ({total} mark-paid; target >= 10 per second)")


def _signed_actions(w3: Web3, manifest: dict) -> list[list[dict]]:
    """Per buyer, its signed mark-paid actions in nonce order (orders opened beforehand)."""
    traffic = Traffic(w3.provider.endpoint_uri, manifest)
    sellers = [accounts.test_accounts[1], accounts.test_accounts[2]]
    buyers = [accounts.test_accounts[i] for i in (3, 4, 5, 6)]
    traffic.fund([a.address for a in sellers + buyers])
    escrow = traffic.escrow
    token = traffic.token.address
    ads = []
    for seller in sellers:
        (tx,) = traffic.send_batch([(seller.address, escrow.functions.create_ad(*seller_ad_args(token)))])
        ads.append(
            escrow.events.AdCreated().process_receipt(w3.eth.get_transaction_receipt(tx), errors=DISCARD)[0]["args"][
                "ad_id"
            ]
        )
    chain = ChainContext(w3=w3, deployment=Deployment(
        chain_id=manifest["chain_id"], deploy_block=manifest["deploy_block"],
        addresses={k: v["address"] for k, v in manifest["contracts"].items()},
        abis={k: v["abi"] for k, v in manifest["contracts"].items()}, tokens=[], token_abi=[],
    ))  # fmt: skip
    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    per_buyer = []
    for b, buyer in enumerate(buyers):
        calls = [(buyer.address, escrow.functions.open_order(ads[b % 2], 1 * UNIT, 725))] * RELAYS_PER_BUYER
        hashes = traffic.send_batch(calls)
        batch = []
        for nonce, tx in enumerate(hashes):
            receipt = w3.eth.get_transaction_receipt(tx)
            order_id = escrow.events.OrderOpened().process_receipt(receipt, errors=DISCARD)[0]["args"]["order_id"]
            ref = "0x" + os.urandom(32).hex()
            data = typed_data(
                chain=chain, action="mark_paid", order_id=order_id, payment_ref=ref, nonce=nonce, deadline=deadline
            )
            signature = Account.sign_message(encode_typed_data(full_message=data), buyer.private_key)
            batch.append(
                {
                    "action": "mark_paid",
                    "order_id": order_id,
                    "payment_ref": ref,
                    "nonce": nonce,
                    "deadline": deadline,
                    "signature": signature.signature.to_0x_hex(),
                }
            )
        per_buyer.append(batch)
    return per_buyer


def main() -> None:
    verification(Settings())
    with deployed_chain() as (rpc_url, manifest, manifest_path), tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            rpc_url=rpc_url,
            manifest_path=manifest_path,
            database_url=f"sqlite:///{tmp}/bench.db",
            indexer_enabled=False,
        )
        admissions(settings)
        relays(
            settings.model_copy(update={"database_url": f"sqlite:///{tmp}/relay.db"}), rpc_url, manifest, manifest_path
        )


if __name__ == "__main__":
    main()
