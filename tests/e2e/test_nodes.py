"""Browser journeys of the permissioned network: a gasless action sent by a real node agent
(the order page names it), and the node status page where an admin revokes that node by
the authorities' quorum."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, _free_port
from playwright.sync_api import expect
from sqlmodel import Session, create_engine, select

from backend.auth.models import User
from scripts.node_agent import load_or_create_key

PAID = 2
EN = json.loads((ROOT / "frontend" / "i18n" / "en.json").read_text())


@dataclass
class Agent:
    address: str
    endpoint: str
    process: subprocess.Popen
    log_path: Path


@pytest.fixture
def agent(backend, chain, manifest, tmp_path):
    """A node agent process, admitted by the three local authorities through the backend."""
    keyfile = tmp_path / "node" / "node.key"
    address = load_or_create_key(keyfile).address
    chain.provider.set_balance(address, 10**20)
    port = _free_port()
    log_path = tmp_path / "node" / "agent.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "scripts.node_agent", "run", "--platform", backend.url,
             "--rpc", chain.provider.uri, "--manifest", manifest["path"], "--keyfile", str(keyfile),
             "--port", str(port), "--heartbeat-seconds", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    node = Agent(address, f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log_path.read_text()
            status = httpx.get(f"{backend.url}/api/nodes/status", timeout=10).json()
            if any(n["address"] == address and n["live"] for n in status["nodes"]):
                break
            assert time.monotonic() < deadline, f"agent not admitted:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.3)
        backend.wait_indexed()
        yield node
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def test_gasless__sent_by_a_node_agent_the_order_page_names(
    open_page, connect, confirm, screenshot, backend, chain, escrow, create_ad, open_order, buyer, agent
):
    order_id = open_order(create_ad())
    backend.wait_indexed()
    bp = open_page(buyer).page
    bp.goto(f"/order.html?id={order_id}")
    connect(bp)
    bp.get_by_test_id("gasless").check()
    bp.get_by_test_id("action-mark-paid").click()
    confirm(bp)
    tx = bp.locator("#order-tx [data-testid=tx-status]")
    expect(tx).to_have_attribute("data-state", "done")
    expect(tx).to_contain_text(EN["nodes.relayed_by"].replace("{node}", short(agent.address)))
    screenshot(bp, "order-gasless-node")
    tx_hash = tx.get_by_test_id("tx-hash").get_attribute("href").split("q=")[1]
    assert chain.provider.web3.eth.get_transaction(tx_hash)["from"] == agent.address
    assert escrow.orders(order_id).status == PAID


def test_nodes_page__admin_revokes_a_node_by_quorum(
    open_page, connect, screenshot, backend, tmp_path, node_registry, admin, agent
):
    # The admin role, as `python -m backend.cli grant-role` gives it.
    engine = create_engine(f"sqlite:///{tmp_path / 'sentinel.db'}")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.address == admin.address)).first() or User(address=admin.address)
        user.roles = "user,admin"
        session.add(user)
        session.commit()
    engine.dispose()

    page = open_page(admin).page
    page.goto("/nodes.html")
    row = page.locator(f"[data-testid=node][data-address='{agent.address}']")
    expect(row).to_have_attribute("data-state", "admitted")
    expect(page.locator("[data-testid=quorum]")).to_have_text(
        EN["nodes.quorum"].replace("{quorum}", "3").replace("{count}", "3")
    )
    expect(page.locator("[data-testid=admission][data-outcome=accepted]")).to_have_count(3)
    screenshot(page, "nodes")

    connect(page)
    row.get_by_test_id("revoke-reason").fill("operator left the network")
    row.get_by_test_id("revoke").click()
    proposal = page.locator("[data-testid=proposal][data-kind=revoke]")
    expect(proposal.get_by_test_id("approvals")).to_have_text("1 of 3")
    for approvals in (2, 3):  # the two other authority keys the backend holds
        proposal.get_by_test_id("approve").first.click()
        expect(proposal.get_by_test_id("approvals")).to_have_text(f"{approvals} of 3")
    expect(row).to_have_attribute("data-state", "revoked")
    expect(row).to_contain_text("operator left the network")
    assert not node_registry.is_authorized(agent.address)
    screenshot(page, "nodes-revoked")
