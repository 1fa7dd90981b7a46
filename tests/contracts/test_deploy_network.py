"""A deployer on another network, as the README tells it: a second Anvil standing in for
a testnet (chain id 11155111, a block a second), a keyfile account imported into ape
with `ape accounts import`, `ape run deploy --yes` with the passphrase from the
environment, re-runs with other options, `ape run admin`, and the backend started
against the manifest.

The tests of this module run in order and share the chain: each step starts from what
the one before left, as a deployer's session would."""

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from web3 import Web3
from web3.logs import DISCARD

ROOT = Path(__file__).resolve().parents[2]
CHAIN_ID = 11155111
# Anvil's well-known accounts: the faucet of this stand-in testnet and a trader.
FUNDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
SELLER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # Anvil account 2
UNIT = 10**6
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(w3, key, tx):
    account = Account.from_key(key)
    tx = {
        "from": account.address,
        "nonce": w3.eth.get_transaction_count(account.address),
        "chainId": CHAIN_ID,
        **tx,
    }
    if "maxFeePerGas" not in tx:
        tx["gasPrice"] = w3.eth.gas_price * 2
    tx.setdefault("gas", w3.eth.estimate_gas(tx))
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )
    assert receipt.status == 1, receipt
    return receipt


def deploy_contract(w3, key, container, *args):
    contract = w3.eth.contract(
        abi=[item.model_dump(mode="json", by_alias=True) for item in container.contract_type.abi],
        bytecode=container.contract_type.deployment_bytecode.bytecode,
    )
    receipt = send(w3, key, contract.constructor(*args).build_transaction({"from": Account.from_key(key).address}))
    return receipt.contractAddress


class SecondNetwork:
    """The second chain, the ape home with the imported accounts, and the commands."""

    def __init__(self, url, home, manifest_dir):
        self.url, self.home, self.manifest_dir = url, home, manifest_dir
        self.w3 = Web3(Web3.HTTPProvider(url))
        self.passphrases: dict[str, str] = {}
        self.addresses: dict[str, str] = {}

    def env(self, **extra):
        env = dict(
            os.environ, PATH=f"{BIN}{os.pathsep}{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"
        )
        env["APE_DATA_FOLDER"] = str(self.home)  # the imports stay out of the developer's ape
        for alias, passphrase in self.passphrases.items():
            env[f"APE_ACCOUNTS_{alias}_PASSPHRASE"] = passphrase
        env.update(extra)
        return env

    def import_account(self, alias, fund=True) -> str:
        """A fresh key, funded by the testnet's faucet, imported as the README says."""
        key = Account.create()
        passphrase = secrets.token_urlsafe(16)
        done = subprocess.run(
            [str(BIN / "ape"), "accounts", "import", alias],
            input=f"{key.key.hex()}\n{passphrase}\n{passphrase}\n",
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,  # no terminal: the prompts read the input above
        )
        assert done.returncode == 0, done.stdout + done.stderr
        if fund:
            send(self.w3, FUNDER_KEY, {"to": key.address, "value": 50 * 10**18, "gas": 21_000})
        self.passphrases[alias] = passphrase
        self.addresses[alias] = key.address
        return key.address

    def ape(self, *args, env=None):
        done = subprocess.run(
            [str(BIN / "ape"), "run", *args, "--network", self.url, "--manifest-dir", str(self.manifest_dir)],
            env=env or self.env(),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            start_new_session=True,
        )
        return done, done.stdout + done.stderr

    def nonce(self, alias="deployer"):
        return self.w3.eth.get_transaction_count(self.addresses[alias])

    @property
    def manifest(self):
        path = self.manifest_dir / f"{CHAIN_ID}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def contract(self, name):
        entry = self.manifest["contracts"][name]
        return self.w3.eth.contract(address=entry["address"], abi=entry["abi"])


@pytest.fixture(scope="module")
def net(tmp_path_factory, project):
    port = free_port()
    anvil = subprocess.Popen(
        [
            str(ROOT / "node_modules" / ".bin" / "anvil"),
            "--chain-id",
            str(CHAIN_ID),
            "--port",
            str(port),
            "--block-time",
            "1",  # a testnet mines on its own (ape waits for confirmations there)
            "--silent",
        ],
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        w3 = Web3(Web3.HTTPProvider(url))
        for _ in range(100):
            try:
                assert w3.eth.chain_id == CHAIN_ID
                break
            except Exception:
                time.sleep(0.2)
        testnet = SecondNetwork(url, tmp_path_factory.mktemp("ape-home"), tmp_path_factory.mktemp("deployments"))
        # The network's block producer: not in NodeRegistry, as on a public testnet.
        testnet.producer = Account.create().address
        w3.provider.make_request("anvil_setCoinbase", [testnet.producer])
        testnet.import_account("deployer")
        testnet.import_account("second")
        testnet.token = deploy_contract(w3, FUNDER_KEY, project.TestStablecoin, "Test USD", "TUSD")
        yield testnet
    finally:
        anvil.terminate()
        anvil.wait(timeout=10)


def refused(done, output):
    assert done.returncode != 0, output
    assert "Traceback" not in output and "Aborted!" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output
    return errors[0]


# ------------------------------------------------------------------- refusals


def test_deploy_network__no_terminal_and_no_yes__says_how(net):
    done, output = net.ape("deploy", "--account", "deployer", "--token", net.token)
    line = refused(done, output)
    assert "no terminal to confirm" in line and "--yes" in line and "APE_ACCOUNTS_deployer_PASSPHRASE" in line
    assert net.nonce() == 0 and net.manifest is None

    wrong = net.env(APE_ACCOUNTS_deployer_PASSPHRASE="not the passphrase")
    done, output = net.ape("deploy", "--account", "deployer", "--yes", "--token", net.token, env=wrong)
    assert "the passphrase in APE_ACCOUNTS_deployer_PASSPHRASE does not unlock 'deployer'" in refused(done, output)
    assert net.nonce() == 0 and net.manifest is None


def test_deploy_network__bad_tokens_refused_before_any_transaction(net, project):
    not_erc20 = deploy_contract(net.w3, FUNDER_KEY, project.KycRegistry, net.addresses["second"])
    cases = {
        "0xTokenAddress": "is not an address",
        net.addresses["second"]: "is not a contract",
        not_erc20: "does not answer decimals()",
    }
    for token, reason in cases.items():
        done, output = net.ape("deploy", "--account", "deployer", "--yes", "--token", token)
        assert reason in refused(done, output)
        assert net.nonce() == 0 and net.manifest is None  # not one transaction sent


def test_deploy_network__account_that_cannot_pay_refused_before_any_transaction(net):
    net.import_account("poor", fund=False)
    done, output = net.ape("deploy", "--account", "poor", "--yes", "--token", net.token)
    line = refused(done, output)
    assert "holds 0.000000 ETH but the deployment needs about" in line and "fund the account first" in line
    assert net.nonce("poor") == 0 and net.manifest is None


# ---------------------------------------------------------------- the deploy


def test_deploy_network__first_run_non_interactive(net, project):
    deployer, second = net.addresses["deployer"], net.addresses["second"]
    relayer = Account.create().address
    net.relayer = relayer
    done, output = net.ape(
        "deploy",
        "--account",
        "deployer",
        "--yes",
        "--token",
        net.token,
        "--fee-bps",
        "30",
        "--authority",
        deployer,
        "--authority",
        second,
        "--relayer",
        relayer,
    )
    assert done.returncode == 0, output
    manifest = net.manifest
    assert manifest["chain_id"] == CHAIN_ID and manifest["deployer"] == deployer
    assert manifest["producer_check"] is False  # off by default away from local chains
    # Two authorities: the deployer's approval is 1 of a quorum of 2, so only proposed.
    assert manifest["relayer"] is None
    assert manifest["relayer_status"] == {
        "address": relayer,
        "status": "proposed",
        "proposal_id": 1,
        "approvals": 1,
        "quorum": 2,
    }
    assert "PROPOSED, not admitted" in output
    nodes = net.contract("NodeRegistry")
    escrow = net.contract("OtcEscrow")
    assert not nodes.functions.is_authorized(relayer).call()
    assert escrow.functions.fee_bps().call() == 30 and escrow.functions.token_allowed(net.token).call()
    # The deploy block is the registry's creation block, read from its receipt.
    assert manifest["deploy_block"] == manifest["contracts"]["NodeRegistry"]["block"]
    assert net.w3.eth.get_code(nodes.address, block_identifier=manifest["deploy_block"])
    assert not net.w3.eth.get_code(nodes.address, block_identifier=manifest["deploy_block"] - 1)


def test_deploy_network__rerun_with_other_authorities_refused(net):
    nonce = net.nonce()
    done, output = net.ape("deploy", "--account", "deployer", "--yes", "--authority", net.addresses["deployer"])
    line = refused(done, output)
    assert "only by quorum" in line and "--fresh" in line and "ape run admin propose-authority" in line
    assert net.nonce() == nonce


def test_deploy_network__rerun_applies_fee_and_second_authority_admits_relayer(net, project):
    done, output = net.ape("deploy", "--account", "deployer", "--yes", "--fee-bps", "40")
    assert done.returncode == 0, output
    assert "applied: fee 30 -> 40 bps" in output and "kept" not in output
    assert net.contract("OtcEscrow").functions.fee_bps().call() == 40
    assert net.manifest["options"]["fee_bps"] == 40

    done, output = net.ape("deploy", "--account", "deployer", "--yes")
    assert done.returncode == 0 and "match the options given" in output, output

    done, output = net.ape("admin", "approve", "1", "--account", "second", "--yes")
    assert done.returncode == 0, output
    assert "will send: NodeRegistry.approve(1)" in output and "reached quorum" in output
    assert net.manifest["relayer"] == net.relayer and net.manifest["relayer_status"]["status"] == "admitted"


# ----------------------------------------------------------------- the backend


def create_ad(net, project, amount=100 * UNIT):
    seller = Account.from_key(SELLER_KEY).address
    token = net.w3.eth.contract(address=net.token, abi=net.manifest["token_abi"])
    escrow = net.contract("OtcEscrow")
    send(net.w3, SELLER_KEY, token.functions.faucet(amount).build_transaction({"from": seller}))
    send(net.w3, SELLER_KEY, token.functions.approve(escrow.address, amount).build_transaction({"from": seller}))
    receipt = send(
        net.w3,
        SELLER_KEY,
        escrow.functions.create_ad(
            net.token, amount, 725, b"USD", 10 * UNIT, 50 * UNIT, 3600, 1, b"\x01" * 32
        ).build_transaction({"from": seller}),
    )
    return escrow.events.AdCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["ad_id"]


def backend(net, tmp_path):
    from backend.config import Settings
    from backend.main import create_app

    settings = Settings(
        rpc_url=net.url,
        manifest_path=net.manifest_dir / f"{CHAIN_ID}.json",
        database_url=f"sqlite:///{tmp_path / 'backend.db'}",
        # Anvil's well-known keys and the published local KYC key are refused off a local chain.
        relayer_private_key=Account.create().key.hex(),
        authority_keys=[],
        kyc_officer_private_key=Account.create().key.hex(),
        kyc_keys={"k1": base64.b64encode(os.urandom(32)).decode()},
        kyc_current_key_id="k1",
        indexer_poll_seconds=0.2,
        siwe_domains=["testserver"],
        public_origin="http://testserver",
    )
    return TestClient(create_app(settings))


def wait_for(client, predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get("/api/chain/status").json()
        ads = {ad["id"] for ad in client.get("/api/ads").json()["items"]}
        if predicate(status, ads):
            return status, ads
        time.sleep(0.3)
    raise AssertionError(f"not reached in {seconds} s: {status}, ads {ads}")


def test_deploy_network__backend_lists_an_ad_producer_check_off(net, project, tmp_path):
    ad_id = create_ad(net, project)
    with backend(net, tmp_path) as client:
        status, ads = wait_for(client, lambda s, ads: ad_id in ads and s["lag_blocks"] <= 1)
        assert status["healthy"] and status["producer_check"] is False and status["refused_blocks"] == 0


def test_deploy_network__producer_check_on__admitting_the_producer_lets_later_blocks_in(net, project, tmp_path):
    nonce = net.nonce()
    done, output = net.ape("deploy", "--account", "deployer", "--yes", "--producer-check")
    assert done.returncode == 0 and "applied: producer check on" in output, output
    assert net.manifest["producer_check"] is True and net.nonce() == nonce  # the manifest's mode, no transaction

    refused_ad = create_ad(net, project)
    with backend(net, tmp_path) as client:
        status, ads = wait_for(client, lambda s, ads: s["refused_with_desk_logs"] >= 1 and s["lag_blocks"] <= 1)
        assert refused_ad not in ads and not status["healthy"] and status["producer_check"] is True
        assert "are being refused" in status["problems"][0] and status["last_refused"][0]["producer"] == net.producer

        # The authorities admit the network's producer (2 of 2).
        done, output = net.ape(
            "admin",
            "propose-node",
            net.producer,
            "--endpoint",
            "https://validator.example",
            "--account",
            "deployer",
            "--yes",
        )
        assert done.returncode == 0 and "1 of 2 approvals" in output, output
        proposal_id = net.contract("NodeRegistry").functions.proposal_count().call()
        done, output = net.ape("admin", "approve", str(proposal_id), "--account", "second", "--yes")
        assert done.returncode == 0 and "reached quorum" in output, output

        later_ad = create_ad(net, project)
        status, ads = wait_for(client, lambda s, ads: later_ad in ads)
        assert refused_ad not in ads  # what was refused stays refused
        status, _ = wait_for(client, lambda s, ads: s["healthy"])
        assert status["refused_blocks"] >= 1 and status["error"] is None
